/**
 * One question for every token tokend issues: is it good, and whose is it? Used by the native
 * surface (introspection, revocation, forward-auth); the wire dialects keep their own narrower
 * checks.
 *
 * The kind of a token is read from its shape alone, before any storage access:
 *   `tda_…`            session access token (ChatApp)     -> sessions, by hash
 *   `tdr_…`            session refresh token              -> sessions, by hash
 *   `tdo_…`, v3, l3    organisation API token             -> core.apiTokens
 *   `eyJ….….…`         service-account access token (JWT) -> core.serviceAccounts when wired,
 *                                                             else the session it belongs to, by hash
 * Anything else (including other tokend secrets: keys, admin and resource-server credentials) is
 * not a token that can be introspected: inactive.
 *
 * Access-token lookups go through the sessions' verification cache (tagged by session and account,
 * so a refresh, a revocation or a disabled account drops them at once on this node), API tokens
 * through core.apiTokens' own; refresh tokens are read directly, since checking one is rare and
 * its state changes on every use.
 */
import { sha256Hex } from '../secrets/hash.ts';
import { MAX_TOKEN_LENGTH, parseNativeToken } from '../secrets/tokens.ts';
import { apiTokenShape, type ApiTokenService } from './api-tokens.ts';
import type { AuditContext } from './audit.ts';
import type { Clock } from './clock.ts';
import type { Store } from './ports.ts';
import type { SessionService } from './sessions.ts';

export type VerifiedKind = 'access' | 'refresh' | 'api_token' | 'service_access';

/** Every kind a bearer credential for an API can be (refresh tokens only buy new pairs). */
export const ACCESS_KINDS: readonly VerifiedKind[] = ['access', 'api_token', 'service_access'];

export interface TokenIdentity {
  kind: VerifiedKind;
  accountId: number;
  /** `sub`: the numeric account id as a string, unless a JWT names its own subject. */
  subject: string;
  /** The account's UUID when known (API tokens; seed 002's `userId`). */
  accountUid: string | null;
  /** Space-separated; empty when the token carries no narrower grant than its account. */
  scope: string;
  /** The appId (ChatApp), Access Key (service) or API-token id the token was issued through. */
  clientId: string | null;
  /** Unix ms. */
  issuedAt: number | null;
  /** Unix ms; null for an API token without expiry. */
  expiresAt: number | null;
  sessionId: string | null;
  apiTokenId: string | null;
}

export type TokenCheck = { active: true; identity: TokenIdentity } | { active: false };

/** Verifies a service-account access JWT (signature, claims, and that its session still stands). */
export interface AccessJwtVerifier {
  verify(token: string): Promise<TokenIdentity | null>;
}

const JWT_RE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The kind of a candidate token from its shape alone; null when it is no token tokend checks. */
export function tokenKindOf(candidate: string): VerifiedKind | null {
  if (candidate.length === 0 || candidate.length > MAX_TOKEN_LENGTH) return null;
  const native = parseNativeToken(candidate);
  if (native === 'access') return 'access';
  if (native === 'refresh') return 'refresh';
  if (native !== null) return native === 'apiToken' ? 'api_token' : null;
  if (apiTokenShape(candidate)) return 'api_token';
  if (JWT_RE.test(candidate)) return 'service_access';
  return null;
}

export interface TokenVerifierDeps {
  store: Store;
  clock: Clock;
  sessions: SessionService;
  apiTokens: ApiTokenService;
  /** core.serviceAccounts' JWT check, when service accounts are wired in. */
  jwt?: AccessJwtVerifier;
  /** Called for every successful check of a session token (usage figures); must not do I/O. */
  onCheck?: (accountId: number) => void;
}

const INACTIVE: TokenCheck = { active: false };

export class TokenVerifier {
  readonly #d: TokenVerifierDeps;

  constructor(deps: TokenVerifierDeps) {
    this.#d = deps;
  }

  /** Checks a token of any kind (or only of the `accept`ed kinds). An inactive token gets no detail. */
  async verify(candidate: string, options: { accept?: readonly VerifiedKind[] } = {}): Promise<TokenCheck> {
    const kind = tokenKindOf(candidate);
    if (kind === null || (options.accept && !options.accept.includes(kind))) return INACTIVE;
    switch (kind) {
      case 'api_token':
        return this.#apiToken(candidate);
      case 'access':
        return this.#sessionAccess(candidate, 'access');
      case 'refresh':
        return this.#refresh(candidate);
      case 'service_access':
        if (this.#d.jwt) {
          const identity = await this.#d.jwt.verify(candidate);
          if (identity) this.#d.onCheck?.(identity.accountId);
          return identity ? { active: true, identity } : INACTIVE;
        }
        return this.#sessionAccess(candidate, 'service_access');
    }
  }

  /**
   * Revokes what the token stands for (RFC 7009): its session (access or refresh token: the
   * whole family, RFC 7009 2.1) or the API token. Unknown tokens are no error: returns false.
   */
  async revoke(candidate: string, ctx: AuditContext): Promise<boolean> {
    const kind = tokenKindOf(candidate);
    if (kind === null) return false;
    const hash = sha256Hex(candidate);
    if (kind === 'api_token') {
      const found = await this.#d.store.apiTokens.findByHash(hash);
      return found ? this.#d.apiTokens.revoke(found.token.id, ctx) : false;
    }
    let sessionId: string | null = null;
    if (kind === 'refresh') sessionId = (await this.#d.store.sessions.findRefresh(hash))?.session.id ?? null;
    else sessionId = (await this.#d.store.sessions.findAccess(hash))?.session.id ?? null;
    if (sessionId === null && kind === 'service_access' && this.#d.jwt) {
      sessionId = (await this.#d.jwt.verify(candidate))?.sessionId ?? null;
    }
    return sessionId === null ? false : this.#d.sessions.revoke(sessionId, ctx, 'revoked_by_token');
  }

  async #apiToken(candidate: string): Promise<TokenCheck> {
    const check = await this.#d.apiTokens.verify(candidate);
    if (!check.ok) return INACTIVE;
    const { token } = check;
    return {
      active: true,
      identity: {
        kind: 'api_token',
        accountId: token.accountId,
        subject: String(token.accountId),
        accountUid: check.accountUid,
        scope: '',
        clientId: token.id,
        issuedAt: token.createdAt,
        expiresAt: token.expiresAt,
        sessionId: null,
        apiTokenId: token.id,
      },
    };
  }

  async #sessionAccess(candidate: string, kind: 'access' | 'service_access'): Promise<TokenCheck> {
    const outcome = this.#d.sessions.judgeAccess(await this.#d.sessions.lookupAccess(candidate));
    if (!outcome.ok) return INACTIVE;
    const { session } = outcome;
    // A JWT found by hash must belong to a service session and an opaque token to a ChatApp one.
    if ((kind === 'service_access') !== (session.kind === 'service')) return INACTIVE;
    this.#d.onCheck?.(session.accountId);
    return {
      active: true,
      identity: {
        kind,
        accountId: session.accountId,
        subject: String(session.accountId),
        accountUid: null,
        scope: session.scope,
        clientId: session.clientId,
        issuedAt: outcome.issuedAt,
        expiresAt: outcome.expiresAt,
        sessionId: session.id,
        apiTokenId: null,
      },
    };
  }

  async #refresh(candidate: string): Promise<TokenCheck> {
    const found = await this.#d.store.sessions.findRefresh(sha256Hex(candidate));
    if (!found) return INACTIVE;
    const { token, session, accountStatus } = found;
    const now = this.#d.clock.now();
    if (token.rotatedAt !== null || session.revokedAt !== null || accountStatus !== 'active') return INACTIVE;
    if (token.expiresAt <= now || session.expiresAt <= now) return INACTIVE;
    return {
      active: true,
      identity: {
        kind: 'refresh',
        accountId: session.accountId,
        subject: String(session.accountId),
        accountUid: null,
        scope: session.scope,
        clientId: session.clientId,
        issuedAt: token.createdAt,
        expiresAt: token.expiresAt,
        sessionId: session.id,
        apiTokenId: null,
      },
    };
  }
}
