/**
 * `{"success":true,"data":{…}}` / `{"success":false,"error":{"code","message"}}` (SPEC 3.1).
 * An error never carries `data`: some clients read only `data`.
 */
import type { WireReply } from '../../dialect.ts';
import type { FieldError, GenericFailure } from '../../failures.ts';
import type { Lang } from '../../lang.ts';
import { CHATAPP_CODES, type ChatappCode } from './codes.ts';

export function chatappOk(data: Record<string, unknown>): WireReply {
  return { status: 200, body: { success: true, data } };
}

export function chatappError(code: ChatappCode, lang: Lang, extra: { fields?: FieldError[]; retryAfterSeconds?: number } = {}): WireReply {
  const spec = CHATAPP_CODES[code];
  const error: Record<string, unknown> = { code, message: spec[lang] };
  if (extra.fields) error.fields = extra.fields;
  const headers: Record<string, string> = {};
  if (extra.retryAfterSeconds !== undefined) headers['retry-after'] = String(extra.retryAfterSeconds);
  return { status: spec.status, body: { success: false, error }, headers };
}

const FAILURE_CODES: Record<GenericFailure['kind'], ChatappCode> = {
  malformed_body: 'ApiBadRequestError',
  validation: 'ApiValidationError',
  payload_too_large: 'ApiPayloadTooLargeError',
  headers_too_large: 'ApiHeadersTooLargeError',
  request_timeout: 'ApiRequestTimeoutError',
  unsupported_media_type: 'ApiUnsupportedMediaTypeError',
  token_in_query: 'ApiTokenInQueryError',
  not_found: 'ApiNotFoundError',
  unavailable: 'ApiServiceUnavailableError',
  internal: 'ApiInternalError',
};

export function chatappFailure(failure: GenericFailure, lang: Lang, retryAfterSeconds?: number): WireReply {
  return chatappError(FAILURE_CODES[failure.kind], lang, {
    ...(failure.kind === 'validation' ? { fields: failure.fields } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}
