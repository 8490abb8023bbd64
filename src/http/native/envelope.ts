/** The envelope of tokend's own API (admin, cabinet, ops): `{"error":{"code","message"}}`. */
import type { ErrorCodeSpec, WireReply } from '../dialect.ts';
import type { FieldError, GenericFailure } from '../failures.ts';

export const NATIVE_CODES = {
  bad_request: { status: 400, en: 'Malformed request body', ru: 'Некорректное тело запроса', when: 'The body is not valid JSON.' },
  validation_failed: { status: 400, en: 'Validation failed', ru: 'Ошибка валидации',
    when: 'A field is missing, has the wrong type, or is unknown; `error.fields` lists each one.' },
  token_in_query: { status: 400, en: 'Credentials must not be sent in the URL', ru: 'Учётные данные нельзя передавать в URL',
    when: 'The query string carries a token, key or password.' },
  not_found: { status: 404, en: 'Not found', ru: 'Не найдено', when: 'No such route.' },
  payload_too_large: { status: 413, en: 'Request body too large', ru: 'Слишком большое тело запроса', when: 'The body is larger than TOKEND_BODY_LIMIT.' },
  unsupported_media_type: { status: 415, en: 'Unsupported content type', ru: 'Неподдерживаемый тип содержимого', when: 'The body is not JSON.' },
  headers_too_large: { status: 431, en: 'Request headers too large', ru: 'Слишком большие заголовки запроса', when: 'The headers are larger than TOKEND_MAX_HEADER_SIZE.' },
  service_unavailable: { status: 503, en: 'Service temporarily unavailable', ru: 'Сервис временно недоступен',
    when: 'The database cannot be reached; `Retry-After` is set.' },
  internal_error: { status: 500, en: 'Internal error', ru: 'Внутренняя ошибка', when: 'A bug in tokend; never expected.' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type NativeCode = keyof typeof NATIVE_CODES;

export function nativeError(code: NativeCode, extra: { fields?: FieldError[]; retryAfterSeconds?: number; message?: string } = {}): WireReply {
  const spec = NATIVE_CODES[code];
  const error: Record<string, unknown> = { code, message: extra.message ?? spec.en };
  if (extra.fields) error.fields = extra.fields;
  const headers: Record<string, string> = {};
  if (extra.retryAfterSeconds !== undefined) headers['retry-after'] = String(extra.retryAfterSeconds);
  return { status: spec.status, body: { error }, headers };
}

const FAILURE_CODES: Record<GenericFailure['kind'], NativeCode> = {
  malformed_body: 'bad_request',
  validation: 'validation_failed',
  payload_too_large: 'payload_too_large',
  headers_too_large: 'headers_too_large',
  unsupported_media_type: 'unsupported_media_type',
  token_in_query: 'token_in_query',
  not_found: 'not_found',
  unavailable: 'service_unavailable',
  internal: 'internal_error',
};

export function nativeFailure(failure: GenericFailure, _lang: unknown, retryAfterSeconds?: number): WireReply {
  return nativeError(FAILURE_CODES[failure.kind], {
    ...(failure.kind === 'validation' ? { fields: failure.fields } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}
