/**
 * The hoster.by envelope:
 * `{"httpCode":200,"statusCode":"ok","payload":{…},"messageList":{"success":{code: message}},"codeList":{"success":[code]}}`
 * and, for errors, `statusCode: "error"`, no `payload`, `messageList.error` / `codeList.error`.
 *
 * Bodies are pretty-printed with four spaces: public clients grep the text for `"httpCode": 200`
 * and pick `"dateExpires": …` out line by line, and others trust only the HTTP status, so the
 * status always equals `httpCode`.
 */
import type { WireReply } from '../../dialect.ts';
import { failureExtra, keptReplies, retryHeaders, type GenericFailure } from '../../failures.ts';
import type { Lang } from '../../lang.ts';
import { HOSTER_CODES, HOSTER_FAILURES, HOSTER_SUCCESS, type HosterCode, type HosterSuccessCode } from './codes.ts';

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

// Rendering pretty-printed JSON is not free: the answers without Retry-After are made once.
const plain = keptReplies((code: HosterCode, lang: Lang) => renderError(code, lang, {}));

export function hosterError(code: HosterCode, lang: Lang, extra: { retryAfterSeconds?: number } = {}): WireReply {
  return extra.retryAfterSeconds !== undefined ? renderError(code, lang, extra) : plain(code, lang);
}

function renderError(code: HosterCode, lang: Lang, extra: { retryAfterSeconds?: number }): WireReply {
  const spec = HOSTER_CODES[code];
  return {
    status: spec.status,
    body: render({
      httpCode: spec.status,
      statusCode: 'error',
      messageList: { error: { [code]: spec[lang] } },
      codeList: { error: [code] },
    }),
    headers: retryHeaders(extra),
  };
}

/** The envelope has no place for the fields of a validation error: the code says it all. */
export function hosterFailure(failure: GenericFailure, lang: Lang, retryAfterSeconds?: number): WireReply {
  return hosterError(HOSTER_FAILURES[failure.kind], lang, failureExtra(failure, retryAfterSeconds));
}
