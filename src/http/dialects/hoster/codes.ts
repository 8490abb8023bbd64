import type { ErrorCodeSpec } from '../../dialect.ts';
import { failureCodes, failureNames } from '../../failures.ts';

/**
 * hoster.by dialect error codes: snake_case like the API's own (`access_token_expired`,
 * `refresh_token_not_found`, …). `code` never changes with the language; the HTTP status always
 * equals the body's `httpCode`.
 */
export const HOSTER_CODES = {
  access_key_missing: { status: 400, en: 'The Access-Key header is required', ru: 'Требуется заголовок Access-Key',
    when: 'Token creation without an `Access-Key` header.' },
  secret_key_missing: { status: 400, en: 'The Secret-Key header is required', ru: 'Требуется заголовок Secret-Key',
    when: 'Token creation without a `Secret-Key` header.' },
  refresh_token_missing: { status: 400, en: 'The Refresh-Token header is required', ru: 'Требуется заголовок Refresh-Token',
    when: '`/token/refresh` or `/token/info/refresh` without a `Refresh-Token` header.' },
  access_token_missing: { status: 400, en: 'The Access-Token header is required', ru: 'Требуется заголовок Access-Token',
    when: '`/token/info/access` without an `Access-Token` header.' },
  user_id_missing: { status: 400, en: 'The X-User-Id header is required', ru: 'Требуется заголовок X-User-Id',
    when: '`/token/refresh` or `/token/info/refresh` without an `X-User-Id` header (`/token/info/access` accepts a request without one).' },
  user_id_invalid: { status: 400, en: 'X-User-Id must be a numeric user id', ru: 'X-User-Id должен быть числовым идентификатором пользователя',
    when: '`X-User-Id` is not a positive integer.' },
  invalid_keys: { status: 401, en: 'Invalid Access Key or Secret Key', ru: 'Неверный Access Key или Secret Key',
    when: 'The Access Key is unknown or the Secret Key is wrong or malformed (the same answer for each).' },
  keys_expired: { status: 401, en: 'The service account keys have expired', ru: 'Срок действия ключей сервисного аккаунта истёк',
    when: 'Correct keys whose expiry has passed. Create a new key pair.' },
  keys_revoked: { status: 401, en: 'The service account keys have been revoked', ru: 'Ключи сервисного аккаунта отозваны',
    when: 'Correct keys that their owner or the operator revoked.' },
  service_account_disabled: { status: 403, en: 'The service account is disabled', ru: 'Сервисный аккаунт отключён',
    when: 'Correct keys of a disabled service account.' },
  account_disabled: { status: 403, en: 'The account is disabled', ru: 'Учётная запись отключена',
    when: 'Correct keys, but the operator disabled the account the service account belongs to.' },
  token_limit_exceeded: { status: 429, en: 'Daily limit of token creation exceeded', ru: 'Превышен дневной лимит создания токенов',
    when: 'The key has created its tokens for this UTC day (TOKEND_SERVICE_DAILY_CREATE_LIMIT, 1000 by default). `Retry-After` says when the day ends. Refresh does not count.' },
  access_token_not_found: { status: 401, en: 'Access token not found', ru: 'Access token не найден',
    when: 'The access token is malformed, forged, unknown, revoked, replaced by a refresh, signed by an unpublished key, or not a service-account access token.' },
  rate_limited: { status: 429, en: 'Rate limit exceeded', ru: 'Превышен лимит запросов',
    when: 'The access token is valid, but its key\'s rate limit is used up (docs/policies.md). `Retry-After`, `RateLimit-Policy` and `RateLimit` say when and which window.' },
  credits_exhausted: { status: 429, en: 'No credits left', ru: 'Кредиты исчерпаны',
    when: 'The access token is valid, but its key has no credits left (docs/policies.md). `Retry-After` says when they refill (a day when they never do).' },
  ip_denied: { status: 403, en: 'Not allowed from this address', ru: 'Доступ с этого адреса запрещён',
    when: 'The access token is valid, but the client address is outside its key\'s IP allow-list (docs/policies.md).' },
  scope_missing: { status: 403, en: 'The token lacks the required action', ru: 'У токена нет требуемого действия',
    when: 'The access token is valid, but does not carry the action the check requires (docs/policies.md).' },
  access_token_expired: { status: 401, en: 'Access token expired', ru: 'Срок действия access token истёк',
    when: 'The access token (a JWT tokend signed) has expired. Refresh the pair.' },
  refresh_token_not_found: { status: 401, en: 'Refresh token not found', ru: 'Refresh token не найден',
    when: 'The refresh token is malformed, unknown, already used, revoked (with its key or service account), of another user (`X-User-Id` differs: the same answer, so it does not tell whether the token exists), or not a service-account refresh token. Create new tokens.' },
  refresh_token_expired: { status: 401, en: 'Refresh token expired', ru: 'Срок действия refresh token истёк',
    when: 'The refresh token, its session or its key has expired. Create new tokens.' },
  user_id_mismatch: { status: 401, en: 'X-User-Id does not match the token', ru: 'X-User-Id не соответствует токену',
    when: '`/token/info/access`: a valid access token of another user than `X-User-Id` (its holder can read its `sub` anyway).' },
  ...failureCodes({
    malformed_body: { en: 'Malformed request', ru: 'Некорректный запрос' },
    not_found: { code: 'route_not_found', en: 'Route not found', ru: 'Маршрут не найден' },
  }),
} as const satisfies Record<string, ErrorCodeSpec>;

export type HosterCode = keyof typeof HOSTER_CODES;

/** The code of each framework failure (src/http/failures.ts). */
export const HOSTER_FAILURES = failureNames(HOSTER_CODES);

/** Success codes: `codeList.success` names the operation (the API's own `create_token_success`). */
export const HOSTER_SUCCESS = {
  create_token_success: { en: 'Tokens created', ru: 'Токены созданы' },
  refresh_token_success: { en: 'Tokens refreshed', ru: 'Токены обновлены' },
  access_token_info_success: { en: 'Access token is valid', ru: 'Access token действителен' },
  refresh_token_info_success: { en: 'Refresh token is valid', ru: 'Refresh token действителен' },
} as const satisfies Record<string, { en: string; ru: string }>;

export type HosterSuccessCode = keyof typeof HOSTER_SUCCESS;
