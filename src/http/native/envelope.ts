/** The envelope of tokend's own API (admin, cabinet, ops): `{"error":{"code","message"}}`. */
import type { ErrorCodeSpec, WireReply } from '../dialect.ts';
import { failureCodes, failureExtra, failureNames, retryHeaders, type FailureExtra, type GenericFailure } from '../failures.ts';

export const NATIVE_CODES = {
  unauthenticated: { status: 401, en: 'Sign in first', ru: 'Сначала войдите',
    when: 'Console and admin APIs: no sign-in cookie, or it expired (idle or absolute), was signed out, or its account was disabled; or a wrong, revoked or expired admin token or operator key.' },
  invalid_credentials: { status: 401, en: 'Invalid email or password', ru: 'Неверный email или пароль',
    when: 'Console sign-in: the email is unknown or the password (or admin token) is wrong; the same answer for both.' },
  account_disabled: { status: 403, en: 'Account is disabled', ru: 'Учётная запись отключена',
    when: 'Console sign-in: correct credentials, but the operator disabled the account.' },
  csrf_failed: { status: 403, en: 'Missing or invalid CSRF token', ru: 'Отсутствует или неверен CSRF-токен',
    when: 'A state-changing console request without the `X-CSRF-Token` header from `/me`, with a wrong one, or from another Origin.' },
  not_active: { status: 409, en: 'Already revoked, replaced or expired', ru: 'Уже отозван, заменён или истёк',
    when: 'Rotating (or changing) a credential that is no longer active.' },
  too_many_attempts: { status: 429, en: 'Too many failed attempts, try later', ru: 'Слишком много неудачных попыток, попробуйте позже',
    when: 'Console sign-in or password change: too many wrong passwords for this email or from this address (the same limits as tokens.make). Admin API, introspection, revocation, `/metrics`, the operator sign-in and password-reset links: too many wrong credentials from this address (TOKEND_CREDENTIAL_MAX_FAILURES), answered even to a right one until the window ends. `Retry-After` says when to try again.' },
  permission_denied: { status: 403, en: 'This credential lacks the permission for this call', ru: 'У этих учётных данных нет права на этот вызов',
    when: 'Admin API: an operator key without the permission the route needs (docs/admin-api.md), or any operator key on a route only the admin token may call (operator keys). Nothing was changed.' },
  idempotency_conflict: { status: 409, en: 'This Idempotency-Key was used with another request', ru: 'Этот Idempotency-Key уже использован с другим запросом',
    when: 'Admin API: the `Idempotency-Key` was used by the same credential within 24 h for another route or another body. Use a new key for a new request.' },
  idempotency_in_progress: { status: 409, en: 'A request with this Idempotency-Key is still running', ru: 'Запрос с этим Idempotency-Key ещё выполняется',
    when: 'Admin API: the first request with this `Idempotency-Key` has not answered yet. Retry after it has: the retry gets its answer.' },
  email_taken: { status: 409, en: 'Another account has this email', ru: 'Этот email уже занят другой учётной записью',
    when: 'Admin API: changing an account\'s email to one another account has. Nothing was changed.' },
  invalid_reset_token: { status: 400, en: 'The password-reset link is invalid, used or expired', ru: 'Ссылка для сброса пароля недействительна, использована или истекла',
    when: 'Cabinet: `POST /api/cabinet/password-reset` with a token that is malformed, unknown, already used, replaced by a newer password, or past its expiry. Ask the operator for a new link.' },
  invalid_request: { status: 400, en: 'Invalid request', ru: 'Некорректный запрос',
    when: 'OAuth endpoints (RFC 6749 form): the `token` parameter is missing, repeated or too long, a parameter is unknown, the body cannot be parsed, or a credential is in the URL.' },
  invalid_client: { status: 401, en: 'Client authentication failed', ru: 'Ошибка аутентификации клиента',
    when: 'OAuth endpoints (RFC 6749 form): no `Authorization: Bearer` (or Basic) with the admin token or a live resource-server credential.' },
  invalid_token: { status: 401, en: 'Missing or invalid token', ru: 'Токен отсутствует или недействителен',
    when: '`/auth/verify`: no token header, or the token is malformed, unknown, expired, revoked, a refresh token, or does not match `X-User-Id`.' },
  rate_limited: { status: 429, en: 'Rate limit exceeded', ru: 'Превышен лимит запросов',
    when: '`/auth/verify`: the token is valid, but its rate limit is used up (docs/policies.md). `Retry-After`, `RateLimit-Policy` and `RateLimit` say when and which window.' },
  credits_exhausted: { status: 429, en: 'No credits left', ru: 'Кредиты исчерпаны',
    when: '`/auth/verify`: the token is valid, but it has no credits left (docs/policies.md). `Retry-After` says when they refill (a day when they never do).' },
  ip_denied: { status: 403, en: 'Not allowed from this address', ru: 'Доступ с этого адреса запрещён',
    when: '`/auth/verify`: the token is valid, but the client address is outside its IP allow-list (docs/policies.md).' },
  scope_missing: { status: 403, en: 'The token lacks the required scope', ru: 'У токена нет требуемого права',
    when: '`/auth/verify`: the token is valid, but does not carry the scope named in `X-Tokend-Required-Scope` (docs/policies.md).' },
  invalid_signature: { status: 401, en: 'Missing or invalid signature', ru: 'Подпись отсутствует или неверна',
    when: '`POST /secret-scanning/report`: the report is not signed by one of the keys of TOKEND_SECRET_SCANNING_KEYS_FILE (`Github-Public-Key-Identifier`, `Github-Public-Key-Signature`).' },
  ...failureCodes({
    validation: { code: 'validation_failed', en: 'Validation failed' },
    not_found: { when: 'No such route, or no such record of the signed-in account.' },
  }),
} as const satisfies Record<string, ErrorCodeSpec>;

export type NativeCode = keyof typeof NATIVE_CODES;

/** The code of each framework failure (src/http/failures.ts). */
export const NATIVE_FAILURES = failureNames(NATIVE_CODES);

export function nativeError(code: NativeCode, extra: FailureExtra & { message?: string } = {}): WireReply {
  const spec = NATIVE_CODES[code];
  const error: Record<string, unknown> = { code, message: extra.message ?? spec.en };
  if (extra.fields) error.fields = extra.fields;
  return { status: spec.status, body: { error }, headers: retryHeaders(extra) };
}

export function nativeFailure(generic: GenericFailure, _lang: unknown, retryAfterSeconds?: number): WireReply {
  return nativeError(NATIVE_FAILURES[generic.kind], failureExtra(generic, retryAfterSeconds));
}

/**
 * The answer to a credential the guard refused (CredentialGuard.check): too many attempts, with
 * Retry-After, once the address is past the limit; else `wrong`, in the surface's envelope.
 */
export function guardRefusal(
  retryAfterSeconds: number | null,
  wrong: WireReply,
  envelope: (code: 'too_many_attempts', extra: { retryAfterSeconds: number }) => WireReply = nativeError,
): WireReply {
  return retryAfterSeconds !== null ? envelope('too_many_attempts', { retryAfterSeconds }) : wrong;
}
