import type { ErrorCodeSpec } from '../../dialect.ts';
import { failureCodes, failureNames } from '../../failures.ts';

/**
 * ChatApp dialect error codes. `ApiInvalidTokenError` / `Invalid Token` is the public API's own
 * code and message; the others are tokend's, stable, in the same naming style. `code` never
 * changes with the language.
 */
export const CHATAPP_CODES = {
  ApiInvalidTokenError: { status: 401, en: 'Invalid Token', ru: 'Недействительный токен',
    when: 'The access token is missing, malformed, expired, revoked, replaced by a refresh, or unknown.' },
  ApiInvalidCredentialsError: { status: 401, en: 'Invalid email or password', ru: 'Неверный email или пароль',
    when: 'The email is unknown or the password is wrong (the same answer for both).' },
  ApiInvalidRefreshTokenError: { status: 401, en: 'Invalid refresh token', ru: 'Недействительный refresh-токен',
    when: 'The Refresh header is missing, malformed, unknown, already used, or its session was revoked. Call tokens.make.' },
  ApiRefreshTokenExpiredError: { status: 401, en: 'Refresh token expired', ru: 'Срок действия refresh-токена истёк',
    when: 'The refresh token (14 days) or its session (absolute lifetime) has expired. Call tokens.make.' },
  ApiAccountDisabledError: { status: 403, en: 'Account is disabled', ru: 'Учётная запись отключена',
    when: 'Correct credentials, but the operator disabled the account.' },
  ApiAppNotFoundError: { status: 404, en: 'Application not found', ru: 'Приложение не найдено',
    when: 'Correct credentials, but no app with this appId belongs to the account.' },
  ApiTokensLimitError: { status: 429, en: 'Daily limit of tokens.make exceeded', ru: 'Превышен дневной лимит tokens.make',
    when: 'The (email, appId) pair has used its successful tokens.make for this UTC day (100 by default). `Retry-After` says when the day ends.' },
  ApiTooManyAttemptsError: { status: 429, en: 'Too many failed attempts, try later', ru: 'Слишком много неудачных попыток, попробуйте позже',
    when: 'Too many failed logins for this email or from this address. `Retry-After` says when to try again.' },
  ApiRateLimitError: { status: 429, en: 'Rate limit exceeded', ru: 'Превышен лимит запросов',
    when: 'The token is valid, but its app\'s rate limit is used up (docs/policies.md). `Retry-After`, `RateLimit-Policy` and `RateLimit` say when and which window.' },
  ApiCreditsExhaustedError: { status: 429, en: 'No credits left', ru: 'Кредиты исчерпаны',
    when: 'The token is valid, but its app has no credits left (docs/policies.md). `Retry-After` says when they refill (a day when they never do).' },
  ApiIpDeniedError: { status: 403, en: 'Not allowed from this address', ru: 'Доступ с этого адреса запрещён',
    when: 'The token is valid, but the client address is outside its app\'s IP allow-list (docs/policies.md).' },
  ApiScopeMissingError: { status: 403, en: 'The token lacks the required scope', ru: 'У токена нет требуемого права',
    when: 'The token is valid, but does not carry the scope the check requires (docs/policies.md).' },
  ...failureCodes({
    malformed_body: { code: 'ApiBadRequestError' },
    validation: { code: 'ApiValidationError' },
    payload_too_large: { code: 'ApiPayloadTooLargeError' },
    headers_too_large: { code: 'ApiHeadersTooLargeError' },
    request_timeout: { code: 'ApiRequestTimeoutError' },
    unsupported_media_type: { code: 'ApiUnsupportedMediaTypeError' },
    token_in_query: { code: 'ApiTokenInQueryError' },
    not_found: { code: 'ApiNotFoundError', en: 'Method not found', ru: 'Метод не найден' },
    unavailable: { code: 'ApiServiceUnavailableError' },
    internal: { code: 'ApiInternalError' },
  }),
} as const satisfies Record<string, ErrorCodeSpec>;

export type ChatappCode = keyof typeof CHATAPP_CODES;

/** The code of each framework failure (src/http/failures.ts). */
export const CHATAPP_FAILURES = failureNames(CHATAPP_CODES);
