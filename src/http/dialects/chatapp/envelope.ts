/**
 * `{"success":true,"data":{…}}` / `{"success":false,"error":{"code","message"}}`.
 * An error never carries `data`: some clients read only `data`.
 */
import type { WireReply } from '../../dialect.ts';
import { failureExtra, keptReplies, retryHeaders, type FailureExtra, type GenericFailure } from '../../failures.ts';
import type { Lang } from '../../lang.ts';
import { CHATAPP_CODES, CHATAPP_FAILURES, type ChatappCode } from './codes.ts';

export function chatappOk(data: Record<string, unknown>): WireReply {
  return { status: 200, body: { success: true, data } };
}

const plain = keptReplies((code: ChatappCode, lang: Lang) => render(code, lang, {}));

export function chatappError(code: ChatappCode, lang: Lang, extra: FailureExtra = {}): WireReply {
  return extra.fields !== undefined || extra.retryAfterSeconds !== undefined ? render(code, lang, extra) : plain(code, lang);
}

function render(code: ChatappCode, lang: Lang, extra: FailureExtra): WireReply {
  const spec = CHATAPP_CODES[code];
  const error: Record<string, unknown> = { code, message: spec[lang] };
  if (extra.fields) error.fields = extra.fields;
  return { status: spec.status, body: { success: false, error }, headers: retryHeaders(extra) };
}

export function chatappFailure(failure: GenericFailure, lang: Lang, retryAfterSeconds?: number): WireReply {
  return chatappError(CHATAPP_FAILURES[failure.kind], lang, failureExtra(failure, retryAfterSeconds));
}
