/**
 * The one verification path: every check of every token tokend issues goes through
 * `Verification.check`, whoever asks (the ChatApp, hoster.by and Invoicebox checks, forward-auth,
 * introspection). It reads top to bottom:
 *
 *   1. classify   the kind from the token's shape alone; a malformed token or a bad checksum
 *                 never reaches storage, and a kind the caller does not accept is `invalid`;
 *   2. look up    by SHA-256, through the verification cache (`TokenLookups`, one `getOrLoad`);
 *                 a JWT's signature and claims are checked first (the AccessTokenVerifier port);
 *   3. judge      liveness, one judge per kind (liveness.ts, shared with the refresh flows);
 *   4. identify   one builder (`identityOf`) for every kind;
 *   5. policy     the one place policies apply (`CheckPolicy`): called with the identity and the
 *                 check's context (client address, and room for a required scope and a cost);
 *                 rate limits, credits, IP allow-lists and scope checks plug in there;
 *   6. count      usage figures and API-token `last used`, in memory only: a check never writes.
 *
 * Outcomes are values, `{ok:true, identity}` or `{ok:false, kind, reason}`, with `reason` a closed
 * union: each dialect maps it to its own wire code in one table, and it is a fine metrics label.
 * Every outcome leaves through `check`, the one place to observe (kind, reason).
 *
 * Kinds, from the shape:
 *   `tda_…`            access          ChatApp session access token (opaque)
 *   `tdr_…`            refresh         session refresh token (introspection only: it buys pairs)
 *   `tdo_…`, v3, l3    api_token       organisation API token
 *   `eyJ….….…`         service_access  service-account access token (JWT, hoster.by)
 * Anything else (other tokend secrets included: keys, admin and resource-server credentials) is
 * no token a check accepts.
 */
import type { TokenUsage } from './token-usage.ts';
import type { TrafficStats } from './traffic.ts';
import type { ClientPatterns } from './client-patterns.ts';
import type { CoreMetrics } from './metrics.ts';
import { sha256Hex } from '../secrets/hash.ts';
import { MAX_TOKEN_LENGTH, parseNativeToken } from '../secrets/tokens.ts';
import { apiTokenShape, type LastUsedNotes } from './api-tokens.ts';
import type { AuditContext } from './audit.ts';
import type { ChangeBus } from './changes.ts';
import type { Clock } from './clock.ts';
import { judgeAccess, judgeApiToken, judgeRefresh, type DeadReason } from './liveness.ts';
import type { PolicyDecision, PolicyRefusal, PolicyRefusalCode } from './policies/engine.ts';
import type { AccessLookup, AccessTokenVerifier, ApiTokenLookup, RefreshLookup, Repos } from './ports.ts';
import type { UsageMeter } from './usage.ts';
import { cacheTag, VerifyCache } from './verify-cache.ts';
import type { ApiTokenFilter } from './token-filter.ts';

export type VerifiedKind = 'access' | 'refresh' | 'api_token' | 'service_access';

/** Every kind a bearer credential for an API can be (refresh tokens only buy new pairs). */
export const ACCESS_KINDS: readonly VerifiedKind[] = ['access', 'api_token', 'service_access'];
/** Every kind (introspection). */
export const ALL_KINDS: readonly VerifiedKind[] = ['access', 'refresh', 'api_token', 'service_access'];

/**
 * Why a check failed. Closed: dialects map it exhaustively to their wire codes, metrics use it as
 * a label. The policy reasons (`rate_limited`, `credits_exhausted`, `ip_denied`, `scope_missing`)
 * are a policy's refusal of a live token (docs/policies.md).
 */
export type CheckReason = DeadReason | PolicyRefusalCode;

/** What the policy reported on an allowed check: rate windows and credits left, for response headers. */
export type PolicyAllowance = Extract<PolicyDecision, { ok: true }>;

export interface TokenIdentity {
  kind: VerifiedKind;
  accountId: number;
  /** `sub`: the numeric account id as a string. */
  subject: string;
  /** The account's UUID when known (API tokens: the Invoicebox `userId`). */
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

export type CheckOutcome =
  | { ok: true; identity: TokenIdentity; limits?: PolicyAllowance }
  | { ok: false; kind: VerifiedKind | null; reason: CheckReason; policy?: PolicyRefusal };

/** What a check is for, besides the token: what policies decide on. */
export interface CheckContext {
  /** The client's address (IP allow-lists, per-address rate limits); null when not over HTTP. */
  readonly address: string | null;
  /** A scope the caller needs the token to grant (scope policies). */
  readonly requiredScope?: string;
  /** What the call costs in credits (credit policies); 1 when absent. */
  readonly cost?: number;
}

export interface CheckOptions extends CheckContext {
  /** The kinds this caller takes; any other is `invalid`. A constant: made once, not per check. */
  readonly accept: readonly VerifiedKind[];
}

/**
 * The one place policies apply to a check: after liveness, with the identity and the context.
 * Returns null (no rules), an allowance with its figures, or the refusal. Synchronous when it can
 * be (rules in memory); a promise only when it must (rules not loaded yet). A policy never sees a
 * dead token.
 */
export interface CheckPolicy {
  apply(identity: TokenIdentity, context: CheckContext): PolicyDecision | null | Promise<PolicyDecision | null>;
}

/** The policy in force until there are others: every live token is allowed. */
export const ALLOW_ALL: CheckPolicy = {
  apply() {
    return null;
  },
};

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

/** The one identity builder: what a live token stands for, whatever its kind. */
export function identityOf(kind: VerifiedKind, found: AccessLookup | RefreshLookup | ApiTokenLookup): TokenIdentity {
  if ('session' in found) {
    const { session, token } = found;
    return {
      kind,
      accountId: session.accountId,
      subject: String(session.accountId),
      accountUid: null,
      scope: session.scope,
      clientId: session.clientId,
      issuedAt: token.createdAt,
      expiresAt: token.expiresAt,
      sessionId: session.id,
      apiTokenId: null,
    };
  }
  const { token } = found;
  return {
    kind,
    accountId: token.accountId,
    subject: String(token.accountId),
    accountUid: found.accountUid,
    scope: '',
    clientId: token.id,
    issuedAt: token.createdAt,
    expiresAt: token.expiresAt,
    sessionId: null,
    apiTokenId: token.id,
  };
}

/**
 * Token lookups by hash, through the verification cache: the one read-through every check (and
 * `lookupAccess`) uses. Entries are tagged with what they depend on, so a refresh, a revocation
 * or a disabled account drops them at once (core.changes). Refresh tokens are read directly:
 * checking one is rare and its state changes on every use.
 */
export class TokenLookups {
  readonly #store: Repos;
  readonly #access: VerifyCache<AccessLookup>;
  readonly #apiTokens: VerifyCache<ApiTokenLookup>;
  readonly #unfollow: (() => void)[];
  // Made once: the cache-hit path then allocates nothing.
  readonly #loadAccess: (hash: string) => Promise<AccessLookup | null>;
  readonly #loadApiToken: (hash: string) => Promise<ApiTokenLookup | null>;

  constructor(deps: { store: Repos; clock: Clock; changes: ChangeBus; cache: { ttlMs: number; maxEntries: number }; metrics?: CoreMetrics; apiTokenFilter?: ApiTokenFilter }) {
    this.#store = deps.store;
    const metrics = deps.metrics;
    const options = { ...deps.cache, clock: deps.clock, ...(metrics ? { onLookup: (hit: boolean) => metrics.cacheLookup(hit) } : {}) };
    this.#access = new VerifyCache(options);
    this.#apiTokens = new VerifyCache(options);
    this.#unfollow = [this.#access.follow(deps.changes), this.#apiTokens.follow(deps.changes)];
    this.#loadAccess = (hash) => this.#store.sessions.findAccess(hash);
    this.#loadApiToken = (hash) => this.#store.apiTokens.findByHash(hash);
    // An API token no stored one can be (src/core/token-filter.ts) ends before storage.
    const filter = deps.apiTokenFilter;
    if (filter) {
      const find = this.#loadApiToken;
      this.#loadApiToken = (hash) => {
        const may = filter.mayExist(hash);
        if (may === true) return find(hash);
        if (may === false) return NOT_STORED;
        return may.then((yes) => (yes ? find(hash) : null));
      };
    }
  }

  access(hash: string): Promise<AccessLookup | null> {
    return this.#access.getOrLoad(hash, this.#loadAccess, accessTags);
  }

  apiToken(hash: string): Promise<ApiTokenLookup | null> {
    return this.#apiTokens.getOrLoad(hash, this.#loadApiToken, apiTokenTags);
  }

  /** `apiToken` for the check: a cache hit is returned as it is, not in a promise. */
  apiTokenNow(hash: string): ApiTokenLookup | Promise<ApiTokenLookup | null> {
    return this.#apiTokens.lookup(hash, this.#loadApiToken, apiTokenTags);
  }

  refresh(hash: string): Promise<RefreshLookup | null> {
    return this.#store.sessions.findRefresh(hash);
  }

  close(): void {
    for (const unfollow of this.#unfollow) unfollow();
  }
}

const NOT_STORED: Promise<null> = Promise.resolve(null);

function accessTags(found: AccessLookup): readonly string[] {
  return [cacheTag('session', found.session.id), cacheTag('account', found.session.accountId)];
}

function apiTokenTags(found: ApiTokenLookup): readonly string[] {
  return [cacheTag('api_token', found.token.id), cacheTag('account', found.token.accountId)];
}

export interface VerificationDeps {
  lookups: TokenLookups;
  clock: Clock;
  /** A service-account JWT's signature and claims (src/signing implements it). */
  jwt: AccessTokenVerifier;
  usage: UsageMeter;
  lastUsed: LastUsedNotes;
  policy?: CheckPolicy;
  /** What RFC 7009 revocation ends: a session (access or refresh token) or an API token. */
  revokeSession(sessionId: string, ctx: AuditContext): Promise<boolean>;
  revokeApiToken(id: string, ctx: AuditContext): Promise<boolean>;
  /** Told the kind and outcome of every check; absent (metrics off), checks are not wrapped at all. */
  metrics?: CoreMetrics;
  /** Told of every ChatApp access token that passed (src/core/client-patterns.ts). */
  clientPatterns?: ClientPatterns;
  /** Told the outcome of every check of a known API token (src/core/token-usage.ts). */
  tokenUsage?: TokenUsage;
  /** Told the account and token of every check of a known token, passed or refused (src/core/traffic.ts). */
  traffic?: Pick<TrafficStats, 'seen'>;
}

type Failure = Extract<CheckOutcome, { ok: false }>;

const REASONS: readonly CheckReason[] = ['invalid', 'expired', 'revoked', 'account_disabled', 'rate_limited', 'credits_exhausted', 'ip_denied', 'scope_missing'];

function failuresOf(kind: VerifiedKind | null): Record<CheckReason, Failure> {
  const out = {} as Record<CheckReason, Failure>;
  for (const reason of REASONS) out[reason] = Object.freeze({ ok: false, kind, reason });
  return out;
}

// Failures are constants: a refused check allocates no outcome.
const FAILURES: Record<VerifiedKind | 'none', Record<CheckReason, Failure>> = {
  none: failuresOf(null),
  access: failuresOf('access'),
  refresh: failuresOf('refresh'),
  api_token: failuresOf('api_token'),
  service_access: failuresOf('service_access'),
};

function failure(kind: VerifiedKind | null, reason: CheckReason): Failure {
  return FAILURES[kind ?? 'none'][reason];
}

export class Verification {
  readonly #d: VerificationDeps;
  readonly #policy: CheckPolicy;

  constructor(deps: VerificationDeps) {
    this.#d = deps;
    this.#policy = deps.policy ?? ALLOW_ALL;
  }

  /**
   * Checks a token of the accepted kinds. The one function every check in tokend calls. The one
   * promise of a check that hits the cache: the steps below answer a value when they have it and a
   * promise only when they wait (storage, rules not loaded yet).
   */
  async check(token: string, options: CheckOptions): Promise<CheckOutcome> {
    return this.checkNow(token, options);
  }

  /**
   * `check` for the HTTP checks: the outcome itself when no step waited (a cache hit, rules in
   * memory), a promise only when one did. A check answered from the cache then makes no promise at
   * all, and its handler answers in the same turn.
   */
  checkNow(token: string, options: CheckOptions): CheckOutcome | Promise<CheckOutcome> {
    const pending = this.#check(token, options);
    return pending instanceof Promise ? pending.then(this.#counted) : this.#counted(pending);
  }

  // Every outcome leaves through here: one place counts them, by kind and reason. Made once.
  readonly #counted = (outcome: CheckOutcome): CheckOutcome => {
    const metrics = this.#d.metrics;
    if (metrics) {
      if (outcome.ok) metrics.tokenCheck(outcome.identity.kind, 'ok');
      else metrics.tokenCheck(outcome.kind ?? 'unknown', outcome.reason);
    }
    return outcome;
  };

  #check(token: string, options: CheckOptions): CheckOutcome | Promise<CheckOutcome> {
    const kind = tokenKindOf(token);
    if (kind === null || !options.accept.includes(kind)) return failure(kind, 'invalid');
    switch (kind) {
      case 'access':
        return this.#session(kind, token, options);
      case 'service_access':
        return this.#serviceAccess(token, options);
      case 'refresh':
        return this.#refresh(token, options);
      case 'api_token':
        return this.#apiToken(token, options);
    }
  }

  /**
   * Revokes what the token stands for (RFC 7009): its session (an access or refresh token: the
   * whole family) or the API token. An unknown token is no error: false.
   */
  async revoke(token: string, ctx: AuditContext): Promise<boolean> {
    const kind = tokenKindOf(token);
    if (kind === null) return false;
    const hash = sha256Hex(token);
    const { lookups } = this.#d;
    if (kind === 'api_token') {
      const found = await lookups.apiToken(hash);
      return found ? this.#d.revokeApiToken(found.token.id, ctx) : false;
    }
    const found = kind === 'refresh' ? await lookups.refresh(hash) : await lookups.access(hash);
    return found ? this.#d.revokeSession(found.session.id, ctx) : false;
  }

  async #serviceAccess(token: string, options: CheckOptions): Promise<CheckOutcome> {
    // Signature and claims first: a forged token never costs a lookup.
    const signed = await this.#d.jwt.verify(token);
    if (!signed.ok) return failure('service_access', signed.code === 'token_expired' ? 'expired' : 'invalid');
    return this.#session('service_access', token, options, signed.claims.sub);
  }

  /** An access token of a session: opaque (ChatApp session) or a JWT already verified (service session, subject `sub`). */
  async #session(kind: 'access' | 'service_access', token: string, options: CheckOptions, sub?: string): Promise<CheckOutcome> {
    const found = await this.#d.lookups.access(sha256Hex(token));
    if (!found) return failure(kind, 'invalid');
    // An opaque token belongs to a ChatApp session, a JWT to a service session of its subject.
    const { session } = found;
    if (kind === 'access' ? session.kind !== 'chatapp' : session.kind !== 'service' || String(session.accountId) !== sub) {
      return failure(kind, 'invalid');
    }
    const dead = judgeAccess(found, this.#d.clock.now());
    if (dead) {
      this.#d.traffic?.seen(session.accountId, kind, session.clientId, false);
      return failure(kind, dead);
    }
    const outcome = await this.#admit(identityOf(kind, found), options, null);
    if (outcome.ok && kind === 'access') this.#d.clientPatterns?.checked(session.accountId, session.clientId, session.id);
    return outcome;
  }

  async #refresh(token: string, options: CheckOptions): Promise<CheckOutcome> {
    const found = await this.#d.lookups.refresh(sha256Hex(token));
    if (!found) return failure('refresh', 'invalid');
    const dead = judgeRefresh(found, this.#d.clock.now());
    if (dead) return failure('refresh', dead === 'rotated' ? 'revoked' : dead);
    return this.#admit(identityOf('refresh', found), options, null);
  }

  #apiToken(token: string, options: CheckOptions): CheckOutcome | Promise<CheckOutcome> {
    const shape = apiTokenShape(token);
    if (!shape) return failure('api_token', 'invalid');
    const found = this.#d.lookups.apiTokenNow(sha256Hex(token));
    if (found instanceof Promise) return found.then((f) => this.#apiTokenFound(shape, f, options));
    return this.#apiTokenFound(shape, found, options);
  }

  #apiTokenFound(shape: NonNullable<ReturnType<typeof apiTokenShape>>, found: ApiTokenLookup | null, options: CheckOptions): CheckOutcome | Promise<CheckOutcome> {
    if (!found || found.token.format !== shape.format) return failure('api_token', 'invalid');
    // The l3 prefix names the owning account; a token under another account's number is not it.
    if (shape.accountId !== undefined && shape.accountId !== found.token.accountId) return failure('api_token', 'invalid');
    const now = this.#d.clock.now();
    const dead = judgeApiToken(found, now);
    if (dead) {
      this.#d.tokenUsage?.record(found.token.id, dead);
      this.#d.traffic?.seen(found.token.accountId, 'api_token', found.token.id, false);
      return failure('api_token', dead);
    }
    const admitted = this.#admit(identityOf('api_token', found), options, found);
    const id = found.token.id;
    if (admitted instanceof Promise) return admitted.then((outcome) => this.#recordUsage(id, outcome));
    return this.#recordUsage(id, admitted);
  }

  #recordUsage(apiTokenId: string, outcome: CheckOutcome): CheckOutcome {
    this.#d.tokenUsage?.record(apiTokenId, outcome.ok ? 'ok' : outcome.reason);
    return outcome;
  }

  /** A live token: policies decide, then the check is counted (in memory). A promise only while the rules load. */
  #admit(identity: TokenIdentity, context: CheckContext, apiToken: ApiTokenLookup | null): CheckOutcome | Promise<CheckOutcome> {
    const applied = this.#policy.apply(identity, context);
    if (applied instanceof Promise) return applied.then((verdict) => this.#decided(identity, verdict, apiToken));
    return this.#decided(identity, applied, apiToken);
  }

  #decided(identity: TokenIdentity, verdict: PolicyDecision | null, apiToken: ApiTokenLookup | null): CheckOutcome {
    this.#d.traffic?.seen(identity.accountId, identity.kind, identity.clientId, verdict === null || verdict.ok);
    if (verdict && !verdict.ok) return { ...failure(identity.kind, verdict.code), policy: verdict };
    // Refresh tokens only buy new pairs: a check of one is no use of an API.
    if (identity.kind !== 'refresh') this.#d.usage.recordCheck(identity.accountId);
    if (apiToken) this.#d.lastUsed.note(apiToken.token, this.#d.clock.now());
    return verdict ? { ok: true, identity, limits: verdict } : { ok: true, identity };
  }
}
