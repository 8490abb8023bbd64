/**
 * `{"data":{…},"extendedData":[]}` / `{"error":{"message","code"[,"fields"]}}`.
 * A success never has an `error` key and an error always has `error.code`: some clients look only
 * at the body, others only at the status. Keys keep the public API's order (message before code).
 */
import type { WireReply } from '../../dialect.ts';
import { failureExtra, keptReplies, retryHeaders, type FailureExtra, type GenericFailure } from '../../failures.ts';
import { INVOICEBOX_CODES, INVOICEBOX_FAILURES, type InvoiceboxCode } from './codes.ts';

export function invoiceboxOk(data: Record<string, unknown>): WireReply {
  return { status: 200, body: { data, extendedData: [] } };
}

// The envelope has one language: its constant answers are kept under 'en'.
const plain = keptReplies((code: InvoiceboxCode) => render(code, {}));

export function invoiceboxError(code: InvoiceboxCode, extra: FailureExtra = {}): WireReply {
  return extra.fields !== undefined || extra.retryAfterSeconds !== undefined ? render(code, extra) : plain(code, 'en');
}

function render(code: InvoiceboxCode, extra: FailureExtra): WireReply {
  const spec = INVOICEBOX_CODES[code];
  const error: Record<string, unknown> = { message: spec.en, code };
  if (extra.fields) error.fields = extra.fields.map((f) => ({ name: f.name, code: f.code, message: f.message }));
  const headers = retryHeaders(extra);
  // RFC 9110 11.6.1: a 401 names the scheme it wants.
  if (spec.status === 401) headers['www-authenticate'] = 'Bearer';
  return { status: spec.status, body: { error }, headers };
}

export function invoiceboxFailure(failure: GenericFailure, _lang: unknown, retryAfterSeconds?: number): WireReply {
  return invoiceboxError(INVOICEBOX_FAILURES[failure.kind], failureExtra(failure, retryAfterSeconds));
}
