/**
 * What verifying a token gives a resource server: a value, not an exception. An invalid token is an
 * expected outcome (`{active:false, reason}`); only a bug throws.
 */

/** Why a token was not accepted. Stable: log it, count it, never show it to the caller. */
export type RejectReason =
  | 'missing'
  | 'malformed'
  /** `jku`, `x5u`, `jwk`, `x5c` or `crit` in the header: a token must never choose its own key. */
  | 'forbidden_header'
  | 'algorithm_not_allowed'
  | 'unknown_key'
  | 'invalid_signature'
  | 'expired'
  | 'not_yet_valid'
  /** `iss`, `aud`, `typ` or a required claim is wrong or missing. */
  | 'claim_invalid'
  /** A valid token of another kind (a refresh token, an ID token). */
  | 'wrong_token_type'
  /** Introspection says inactive: unknown, revoked or expired. */
  | 'inactive'
  /** Valid and unexpired, but tokend pushed the revocation of its session, key or account (the revocation stream). */
  | 'revoked'
  | 'insufficient_scope'
  /** The JWKS or the introspection endpoint could not be reached: answer 503, not 401. */
  | 'unavailable';

export interface ActiveToken {
  active: true;
  /** `jwt` when verified locally through the JWKS, `introspection` when tokend was asked. */
  source: 'jwt' | 'introspection';
  /** The user (hoster.by `userId`, ChatApp `cabinetUserId`, or an account UUID). */
  sub: string;
  scope: string[];
  /** Unix seconds, when known. */
  exp?: number;
  iat?: number;
  clientId?: string;
  tokenType?: string;
  /** Every claim or introspection field, as received. */
  claims: Record<string, unknown>;
}

export interface InactiveToken {
  active: false;
  reason: RejectReason;
  /** A short technical detail for logs (never contains the token). */
  detail?: string;
}

export type VerifyResult = ActiveToken | InactiveToken;

export function reject(reason: RejectReason, detail?: string): InactiveToken {
  return detail === undefined ? { active: false, reason } : { active: false, reason, detail };
}

export function scopeList(scope: unknown): string[] {
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === 'string');
  return [];
}
