import type { ErrorCodeSpec } from '../../dialect.ts';

/**
 * ChatApp dialect error codes. `ApiInvalidTokenError` / `Invalid Token` is fixed by seed 000; the
 * others are tokend's, stable, in the same naming style. `code` never changes with the language.
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
  ApiValidationError: { status: 400, en: 'Validation error', ru: 'Ошибка валидации',
    when: 'A field is missing, has the wrong type or is too long; `error.fields` lists each one (`name`, `code`, `message`).' },
  ApiBadRequestError: { status: 400, en: 'Malformed request body', ru: 'Некорректное тело запроса',
    when: 'The body is not valid JSON or form data.' },
  ApiTokenInQueryError: { status: 400, en: 'Credentials must not be sent in the URL', ru: 'Учётные данные нельзя передавать в URL',
    when: 'The query string carries a token, key or password; send it in a header or the body.' },
  ApiTokensLimitError: { status: 429, en: 'Daily limit of tokens.make exceeded', ru: 'Превышен дневной лимит tokens.make',
    when: 'The (email, appId) pair has used its successful tokens.make for this UTC day (100 by default). `Retry-After` says when the day ends.' },
  ApiTooManyAttemptsError: { status: 429, en: 'Too many failed attempts, try later', ru: 'Слишком много неудачных попыток, попробуйте позже',
    when: 'Too many failed logins for this email or from this address. `Retry-After` says when to try again.' },
  ApiNotFoundError: { status: 404, en: 'Method not found', ru: 'Метод не найден',
    when: 'No such route under /v1.' },
  ApiPayloadTooLargeError: { status: 413, en: 'Request body too large', ru: 'Слишком большое тело запроса',
    when: 'The body is larger than TOKEND_BODY_LIMIT.' },
  ApiRequestTimeoutError: { status: 408, en: 'Request timeout', ru: 'Время ожидания запроса истекло',
    when: 'The request (headers and body) did not arrive within TOKEND_REQUEST_TIMEOUT, or its headers within TOKEND_HEADERS_TIMEOUT; the connection is closed.' },
  ApiHeadersTooLargeError: { status: 431, en: 'Request headers too large', ru: 'Слишком большие заголовки запроса',
    when: 'The headers are larger than TOKEND_MAX_HEADER_SIZE.' },
  ApiUnsupportedMediaTypeError: { status: 415, en: 'Unsupported content type', ru: 'Неподдерживаемый тип содержимого',
    when: 'tokens.make takes application/json or application/x-www-form-urlencoded.' },
  ApiServiceUnavailableError: { status: 503, en: 'Service temporarily unavailable', ru: 'Сервис временно недоступен',
    when: 'The database cannot be reached, or a statement ran past TOKEND_DATABASE_STATEMENT_TIMEOUT (a row held by a node that stalled mid-transaction). `Retry-After` is set; nothing was changed.' },
  ApiInternalError: { status: 500, en: 'Internal error', ru: 'Внутренняя ошибка',
    when: 'A bug in tokend. Never expected; reported in the logs with a request id, no details in the body.' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ChatappCode = keyof typeof CHATAPP_CODES;
