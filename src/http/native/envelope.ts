/** The envelope of tokend's own API (admin, cabinet, ops): `{"error":{"code","message"}}`. */
import type { ErrorCodeSpec, WireReply } from '../dialect.ts';
import type { FieldError, GenericFailure } from '../failures.ts';

export const NATIVE_CODES = {
  bad_request: { status: 400, en: 'Malformed request body', ru: 'Некорректное тело запроса', when: 'The body is not valid JSON.' },
  validation_failed: { status: 400, en: 'Validation failed', ru: 'Ошибка валидации',
    when: 'A field is missing, has the wrong type, or is unknown; `error.fields` lists each one.' },
  token_in_query: { status: 400, en: 'Credentials must not be sent in the URL', ru: 'Учётные данные нельзя передавать в URL',
    when: 'The query string carries a token, key or password.' },
  not_found: { status: 404, en: 'Not found', ru: 'Не найдено', when: 'No such route, or no such record of the signed-in account.' },
  unauthenticated: { status: 401, en: 'Sign in first', ru: 'Сначала войдите',
    when: 'Console and admin APIs: no sign-in cookie, or it expired (idle or absolute), was signed out, or its account was disabled; or a wrong admin token.' },
  invalid_credentials: { status: 401, en: 'Invalid email or password', ru: 'Неверный email или пароль',
    when: 'Console sign-in: the email is unknown or the password (or admin token) is wrong; the same answer for both.' },
  account_disabled: { status: 403, en: 'Account is disabled', ru: 'Учётная запись отключена',
    when: 'Console sign-in: correct credentials, but the operator disabled the account.' },
  csrf_failed: { status: 403, en: 'Missing or invalid CSRF token', ru: 'Отсутствует или неверен CSRF-токен',
    when: 'A state-changing console request without the `X-CSRF-Token` header from `/me`, with a wrong one, or from another Origin.' },
  not_active: { status: 409, en: 'Already revoked, replaced or expired', ru: 'Уже отозван, заменён или истёк',
    when: 'Rotating (or changing) a credential that is no longer active.' },
  too_many_attempts: { status: 429, en: 'Too many failed attempts, try later', ru: 'Слишком много неудачных попыток, попробуйте позже',
    when: 'Console sign-in: too many failed attempts for this email or from this address (the same limits as tokens.make). `Retry-After` says when to try again.' },
  invalid_request: { status: 400, en: 'Invalid request', ru: 'Некорректный запрос',
    when: 'OAuth endpoints (RFC 6749 form): the `token` parameter is missing, repeated or too long, a parameter is unknown, the body cannot be parsed, or a credential is in the URL.' },
  invalid_client: { status: 401, en: 'Client authentication failed', ru: 'Ошибка аутентификации клиента',
    when: 'OAuth endpoints (RFC 6749 form): no `Authorization: Bearer` (or Basic) with the admin token or a live resource-server credential.' },
  invalid_token: { status: 401, en: 'Missing or invalid token', ru: 'Токен отсутствует или недействителен',
    when: '`/auth/verify`: no token header, or the token is malformed, unknown, expired, revoked, a refresh token, or does not match `X-User-Id`.' },
  payload_too_large: { status: 413, en: 'Request body too large', ru: 'Слишком большое тело запроса', when: 'The body is larger than TOKEND_BODY_LIMIT.' },
  unsupported_media_type: { status: 415, en: 'Unsupported content type', ru: 'Неподдерживаемый тип содержимого', when: 'The body is not JSON.' },
  request_timeout: { status: 408, en: 'Request timeout', ru: 'Время ожидания запроса истекло', when: 'The request (headers and body) did not arrive within TOKEND_REQUEST_TIMEOUT, or its headers within TOKEND_HEADERS_TIMEOUT; the connection is closed.' },
  headers_too_large: { status: 431, en: 'Request headers too large', ru: 'Слишком большие заголовки запроса', when: 'The headers are larger than TOKEND_MAX_HEADER_SIZE.' },
  service_unavailable: { status: 503, en: 'Service temporarily unavailable', ru: 'Сервис временно недоступен',
    when: 'The database cannot be reached, or a statement ran past TOKEND_DATABASE_STATEMENT_TIMEOUT (a row held by a node that stalled mid-transaction); `Retry-After` is set.' },
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
  request_timeout: 'request_timeout',
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
