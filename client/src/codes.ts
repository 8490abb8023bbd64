/**
 * Every error code tokend documents in docs/errors.md, with its HTTP status and the kind of typed
 * error it becomes. test/client.errors.test.ts fails when this table and docs/errors.md drift apart.
 */
export type ApiDialect = 'chatapp' | 'hoster' | 'invoicebox' | 'native';

export type ErrorKind =
  | 'invalid_token'
  | 'invalid_credentials'
  | 'refresh_rejected'
  | 'quota'
  | 'rate_limited'
  | 'too_many_attempts'
  | 'validation'
  | 'forbidden'
  | 'not_found'
  | 'unavailable'
  | 'other';

export interface ApiErrorCode {
  status: number;
  kind: ErrorKind;
}

function codes(table: Record<string, [status: number, kind: ErrorKind]>): Readonly<Record<string, ApiErrorCode>> {
  return Object.fromEntries(Object.entries(table).map(([code, [status, kind]]) => [code, { status, kind }]));
}

/** Per dialect (codes are unique within a dialect only). */
export const API_ERROR_CODES: Readonly<Record<ApiDialect, Readonly<Record<string, ApiErrorCode>>>> = {
  chatapp: codes({
    ApiInvalidTokenError: [401, 'invalid_token'],
    ApiInvalidCredentialsError: [401, 'invalid_credentials'],
    ApiInvalidRefreshTokenError: [401, 'refresh_rejected'],
    ApiRefreshTokenExpiredError: [401, 'refresh_rejected'],
    ApiAccountDisabledError: [403, 'forbidden'],
    ApiAppNotFoundError: [404, 'not_found'],
    ApiValidationError: [400, 'validation'],
    ApiBadRequestError: [400, 'validation'],
    ApiTokenInQueryError: [400, 'validation'],
    ApiTokensLimitError: [429, 'quota'],
    ApiTooManyAttemptsError: [429, 'too_many_attempts'],
    ApiRateLimitError: [429, 'rate_limited'],
    ApiCreditsExhaustedError: [429, 'rate_limited'],
    ApiIpDeniedError: [403, 'forbidden'],
    ApiScopeMissingError: [403, 'forbidden'],
    ApiNotFoundError: [404, 'not_found'],
    ApiPayloadTooLargeError: [413, 'validation'],
    ApiHeadersTooLargeError: [431, 'validation'],
    ApiRequestTimeoutError: [408, 'unavailable'],
    ApiUnsupportedMediaTypeError: [415, 'validation'],
    ApiServiceUnavailableError: [503, 'unavailable'],
    ApiInternalError: [500, 'other'],
  }),
  hoster: codes({
    access_key_missing: [400, 'validation'],
    secret_key_missing: [400, 'validation'],
    refresh_token_missing: [400, 'validation'],
    access_token_missing: [400, 'validation'],
    user_id_missing: [400, 'validation'],
    user_id_invalid: [400, 'validation'],
    invalid_keys: [401, 'invalid_credentials'],
    keys_expired: [401, 'invalid_credentials'],
    keys_revoked: [401, 'invalid_credentials'],
    service_account_disabled: [403, 'forbidden'],
    account_disabled: [403, 'forbidden'],
    token_limit_exceeded: [429, 'quota'],
    rate_limited: [429, 'rate_limited'],
    credits_exhausted: [429, 'rate_limited'],
    ip_denied: [403, 'forbidden'],
    scope_missing: [403, 'forbidden'],
    access_token_not_found: [401, 'invalid_token'],
    access_token_expired: [401, 'invalid_token'],
    refresh_token_not_found: [401, 'refresh_rejected'],
    refresh_token_expired: [401, 'refresh_rejected'],
    user_id_mismatch: [401, 'invalid_token'],
    bad_request: [400, 'validation'],
    validation_error: [400, 'validation'],
    token_in_query: [400, 'validation'],
    route_not_found: [404, 'not_found'],
    payload_too_large: [413, 'validation'],
    unsupported_media_type: [415, 'validation'],
    headers_too_large: [431, 'validation'],
    request_timeout: [408, 'unavailable'],
    service_unavailable: [503, 'unavailable'],
    internal_error: [500, 'other'],
  }),
  invoicebox: codes({
    unauthorized: [401, 'invalid_token'],
    forbidden: [403, 'forbidden'],
    too_many_requests: [429, 'rate_limited'],
    credits_exhausted: [429, 'rate_limited'],
    validation_error: [400, 'validation'],
    bad_request: [400, 'validation'],
    token_in_query: [400, 'validation'],
    not_found: [404, 'not_found'],
    payload_too_large: [413, 'validation'],
    unsupported_media_type: [415, 'validation'],
    headers_too_large: [431, 'validation'],
    request_timeout: [408, 'unavailable'],
    service_unavailable: [503, 'unavailable'],
    internal_error: [500, 'other'],
  }),
  native: codes({
    bad_request: [400, 'validation'],
    validation_failed: [400, 'validation'],
    token_in_query: [400, 'validation'],
    not_found: [404, 'not_found'],
    unauthenticated: [401, 'invalid_token'],
    invalid_credentials: [401, 'invalid_credentials'],
    account_disabled: [403, 'forbidden'],
    csrf_failed: [403, 'forbidden'],
    not_active: [409, 'other'],
    too_many_attempts: [429, 'too_many_attempts'],
    permission_denied: [403, 'forbidden'],
    idempotency_conflict: [409, 'other'],
    idempotency_in_progress: [409, 'other'],
    email_taken: [409, 'other'],
    invalid_reset_token: [400, 'validation'],
    rate_limited: [429, 'rate_limited'],
    credits_exhausted: [429, 'rate_limited'],
    ip_denied: [403, 'forbidden'],
    scope_missing: [403, 'forbidden'],
    invalid_signature: [401, 'invalid_credentials'],
    invalid_request: [400, 'validation'],
    invalid_client: [401, 'invalid_credentials'],
    invalid_token: [401, 'invalid_token'],
    payload_too_large: [413, 'validation'],
    unsupported_media_type: [415, 'validation'],
    headers_too_large: [431, 'validation'],
    request_timeout: [408, 'unavailable'],
    service_unavailable: [503, 'unavailable'],
    internal_error: [500, 'other'],
  }),
};
