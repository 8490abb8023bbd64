/**
 * The names of the operator dashboard's figures (src/core/traffic.ts): what its series count and
 * its ranges are called. Apart, with no imports, so that the admin API's schema and the console
 * can name them without the rest of core.
 */
export const TRAFFIC_RANGE_NAMES = ['1h', '24h', '7d', '30d'] as const;
export type TrafficRange = (typeof TRAFFIC_RANGE_NAMES)[number];

/** The kinds of token a check is for (`unknown`: no token tokend issues). */
export const CHECK_KINDS = ['access', 'refresh', 'api_token', 'service_access', 'unknown'] as const;
/** What a check ended in: passed, or refused for a reason. */
export const CHECK_OUTCOMES = ['ok', 'invalid', 'expired', 'revoked', 'account_disabled', 'rate_limited', 'credits_exhausted', 'ip_denied', 'scope_missing'] as const;
export const ISSUED_KINDS = ['chatapp', 'service', 'api_token'] as const;
/** `api_token`: rotations. */
export const REFRESH_SCHEMES = ['chatapp', 'service', 'api_token'] as const;
export const REFRESH_OUTCOMES = ['ok', 'refused', 'reused'] as const;
export const REFUSAL_REASONS = ['quota', 'login_throttled', 'other'] as const;
/** The credentials a check is counted under in the top lists: an API token, a ChatApp app, an Access Key. */
export const TOKEN_KINDS = ['api_token', 'app', 'access_key'] as const;

export type CheckOutcomeName = (typeof CHECK_OUTCOMES)[number];
export type TokenKind = (typeof TOKEN_KINDS)[number];
