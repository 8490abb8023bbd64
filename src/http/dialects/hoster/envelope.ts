/**
 * The hoster.by envelope (SPEC 3.2):
 * `{"httpCode":200,"statusCode":"ok","payload":{…},"messageList":{"success":{code: message}},"codeList":{"success":[code]}}`
 * and, for errors, `statusCode: "error"`, no `payload`, `messageList.error` / `codeList.error`.
 *
 * Bodies are pretty-printed with four spaces: public clients grep the text for `"httpCode": 200`
 * and pick `"dateExpires": …` out line by line, and others trust only the HTTP status, so the
 * status always equals `httpCode`.
 */
import type { WireReply } from '../../dialect.ts';
import type { GenericFailure } from '../../failures.ts';
import type { Lang } from '../../lang.ts';
import { HOSTER_CODES, HOSTER_SUCCESS, type HosterCode, type HosterSuccessCode } from './codes.ts';

function render(body: Record<string, unknown>): string {
  // A final newline, as curl users expect; line-based clients read the fields above it.
  return JSON.stringify(body, null, 4) + '\n';
}

export function hosterOk(code: HosterSuccessCode, payload: Record<string, unknown>, lang: Lang): WireReply {
  return {
    status: 200,
    body: render({
      httpCode: 200,
      statusCode: 'ok',
      payload,
      messageList: { success: { [code]: HOSTER_SUCCESS[code][lang] } },
      codeList: { success: [code] },
    }),
  };
}

export function hosterError(code: HosterCode, lang: Lang, extra: { retryAfterSeconds?: number } = {}): WireReply {
  const spec = HOSTER_CODES[code];
  const headers: Record<string, string> = {};
  if (extra.retryAfterSeconds !== undefined) headers['retry-after'] = String(extra.retryAfterSeconds);
  return {
    status: spec.status,
    body: render({
      httpCode: spec.status,
      statusCode: 'error',
      messageList: { error: { [code]: spec[lang] } },
      codeList: { error: [code] },
    }),
    headers,
  };
}

const FAILURE_CODES: Record<GenericFailure['kind'], HosterCode> = {
  malformed_body: 'bad_request',
  validation: 'validation_error',
  payload_too_large: 'payload_too_large',
  headers_too_large: 'headers_too_large',
  request_timeout: 'request_timeout',
  unsupported_media_type: 'unsupported_media_type',
  token_in_query: 'token_in_query',
  not_found: 'route_not_found',
  unavailable: 'service_unavailable',
  internal: 'internal_error',
};

export function hosterFailure(failure: GenericFailure, lang: Lang, retryAfterSeconds?: number): WireReply {
  return hosterError(FAILURE_CODES[failure.kind], lang, retryAfterSeconds !== undefined ? { retryAfterSeconds } : {});
}
