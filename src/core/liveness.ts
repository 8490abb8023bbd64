/**
 * Whether a stored token is alive: one judge per kind, each rule written once. The verification
 * path (verification.ts) judges every check with them; the refresh flow (sessions.ts) and the
 * hoster.by refresh-token info judge refresh tokens with `judgeRefresh`.
 *
 * Judges are pure: what the database said (a lookup, possibly from the verification cache) and
 * the time. The order of the rules is part of each kind's contract (which failure a token that
 * is both revoked and expired reports), so it is kept as the wire dialects have always seen it.
 */
import type { ApiTokenLookup, AccessLookup, RefreshLookup } from './ports.ts';

/** Why a token is not alive. */
export type DeadReason = 'invalid' | 'expired' | 'revoked' | 'account_disabled';

/**
 * A session access token (opaque or JWT): its session not revoked and still at the token's
 * generation (a refresh kills the previous access token at once), its account active, then not
 * expired (the token's own end and the session's).
 */
export function judgeAccess(found: AccessLookup, now: number): DeadReason | null {
  const { token, session } = found;
  if (session.revokedAt !== null || token.generation !== session.generation) return 'revoked';
  if (found.accountStatus !== 'active') return 'account_disabled';
  if (token.expiresAt <= now || session.expiresAt <= now) return 'expired';
  return null;
}

/**
 * A refresh token: its session not revoked, the token not yet used (`rotated`: the refresh flow
 * tells a replay from a retry by when it was rotated), not expired, its account active.
 */
export function judgeRefresh(found: RefreshLookup, now: number): DeadReason | 'rotated' | null {
  const { token, session } = found;
  if (session.revokedAt !== null) return 'revoked';
  if (token.rotatedAt !== null) return 'rotated';
  if (token.expiresAt <= now || session.expiresAt <= now) return 'expired';
  if (found.accountStatus !== 'active') return 'account_disabled';
  return null;
}

/**
 * An organisation API token: not revoked (a rotation without grace revokes it; with grace it
 * keeps working until its shortened expiry), not expired, its account active.
 */
export function judgeApiToken(found: ApiTokenLookup, now: number): DeadReason | null {
  const { token } = found;
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  if (found.accountStatus !== 'active') return 'account_disabled';
  return null;
}
