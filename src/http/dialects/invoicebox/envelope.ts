/**
 * `{"data":{…},"extendedData":[]}` / `{"error":{"message","code"[,"fields"]}}` (SPEC 3.3, seed 002).
 * A success never has an `error` key and an error always has `error.code`: some clients look only
 * at the body, others only at the status. Keys keep the seed's order (message before code).
 */
import type { WireReply } from '../../dialect.ts';
import type { FieldError, GenericFailure } from '../../failures.ts';
import { INVOICEBOX_CODES, type InvoiceboxCode } from './codes.ts';

export function invoiceboxOk(data: Record<string, unknown>): WireReply {
  return { status: 200, body: { data, extendedData: [] } };
}

export function invoiceboxError(code: InvoiceboxCode, extra: { fields?: FieldError[]; retryAfterSeconds?: number } = {}): WireReply {
  const spec = INVOICEBOX_CODES[code];
  const error: Record<string, unknown> = { message: spec.en, code };
  if (extra.fields) error.fields = extra.fields.map((f) => ({ name: f.name, code: f.code, message: f.message }));
  const headers: Record<string, string> = {};
  if (extra.retryAfterSeconds !== undefined) headers['retry-after'] = String(extra.retryAfterSeconds);
  // RFC 9110 11.6.1: a 401 names the scheme it wants.
  if (spec.status === 401) headers['www-authenticate'] = 'Bearer';
  return { status: spec.status, body: { error }, headers };
}

const FAILURE_CODES: Record<GenericFailure['kind'], InvoiceboxCode> = {
  malformed_body: 'bad_request',
  validation: 'validation_error',
  payload_too_large: 'payload_too_large',
  headers_too_large: 'headers_too_large',
  request_timeout: 'request_timeout',
  unsupported_media_type: 'unsupported_media_type',
  token_in_query: 'token_in_query',
  not_found: 'not_found',
  unavailable: 'service_unavailable',
  internal: 'internal_error',
};

export function invoiceboxFailure(failure: GenericFailure, _lang: unknown, retryAfterSeconds?: number): WireReply {
  return invoiceboxError(FAILURE_CODES[failure.kind], {
    ...(failure.kind === 'validation' ? { fields: failure.fields } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}
