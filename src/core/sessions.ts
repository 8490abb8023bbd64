/**
 * Sessions (token families) and their rotation: one mechanism for every scheme.
 *
 * A session has a generation. Each pair is issued for the current generation; a refresh claims
 * its refresh token (the single atomic arbiter: exactly one of N concurrent refreshes wins) and
 * moves the session to the next generation, which kills the previous access token at once with
 * no write per token. A rotated refresh token presented again after the grace period is a replay
 * (RFC 9700 4.14.2): the whole session is revoked and an audit event written.
 *
 * What differs per scheme is only the shape of the access token (opaque `tda_…` for ChatApp, a
 * signed JWT for service accounts) and its lifetimes: an AccessTokenMinter and a policy per kind.
 */
import type { ClientPatterns } from './client-patterns.ts';
import type { CoreMetrics } from './metrics.ts';
import { sha256Hex } from '../secrets/hash.ts';
import { isNativeToken, MAX_TOKEN_LENGTH, newRecordId, newToken } from '../secrets/tokens.ts';
import { audit, auditEvent, type AuditContext } from './audit.ts';
import type { Clock } from './clock.ts';
import { takeDailyQuota } from './limits.ts';
import type { AuditType, Session, SessionKind } from './model.ts';
import { judgeRefresh } from './liveness.ts';
import type { AccessLookup, NewSession, RefreshLookup, Repos, SessionCursor, SessionListItem, Store } from './ports.ts';
import type { TokenLookups } from './verification.ts';

export interface MintedAccessToken {
  token: string;
}

/** Produces the access token of a session generation: opaque or JWT. */
export interface AccessTokenMinter {
  mint(session: Session, times: { issuedAt: number; expiresAt: number }): Promise<MintedAccessToken>;
  /**
   * Mints without the session, where the token does not carry it (opaque tokens): a refresh then
   * needs no read of its session before its write (Store.rotatesUnread).
   */
  mintUnbound?(): Promise<MintedAccessToken>;
}

export interface SessionPolicy {
  accessTtlMs: number;
  refreshTtlMs: number;
  minter: AccessTokenMinter;
  /**
   * Extra conditions for a refresh to go ahead (service sessions: the key and the service account
   * must still be usable). Returns a failure code, or null to allow.
   */
  canRefresh?(session: Session, tx: Repos): Promise<RefreshFailure | null>;
}

export interface TokenPair {
  session: Session;
  accessToken: string;
  accessExpiresAt: number;
  refreshToken: string;
  refreshExpiresAt: number;
}

/** A session not yet stored and its first pair, minted (SessionService.draft). */
export interface SessionDraft {
  session: Session;
  pair: MintedPair;
}

/** The tokens of one generation, minted before the transaction that stores them. */
export interface MintedPair {
  issuedAt: number;
  accessToken: string;
  accessExpiresAt: number;
  refresh: { token: string; hash: string };
  refreshExpiresAt: number;
}

export type RefreshFailure =
  | 'invalid_refresh_token'
  | 'refresh_token_expired'
  | 'refresh_token_reused'
  | 'account_disabled'
  | 'client_revoked'
  | 'client_expired';

export type RefreshOutcome = { ok: true; pair: TokenPair } | { ok: false; code: RefreshFailure; session?: Session };

/** What SessionService.startWithinQuota ends in: the first pair, or the quota's refusal. */
export type QuotaStart = { ok: true; pair: TokenPair } | { ok: false; code: 'quota_exceeded'; retryAfterSeconds: number };

export interface SessionEvents {
  /**
   * Called after a commit that revoked sessions or moved them to a new generation (which kills
   * their previous access token), so verification caches drop them: on this node at once, on
   * other nodes through the store's notifications.
   */
  onSessionsChanged(sessionIds: string[]): void;
}

export interface SessionServiceDeps {
  store: Store;
  clock: Clock;
  maxLifetimeMs: number;
  reuseGraceMs: number;
  policies: Partial<Record<SessionKind, SessionPolicy>>;
  events?: SessionEvents;
  /** Token lookups through the verification cache (the same the verification path reads). */
  lookups: TokenLookups;
  metrics?: CoreMetrics;
  /** Told of every successful ChatApp refresh (src/core/client-patterns.ts). */
  clientPatterns?: ClientPatterns;
}

export const opaqueAccessTokens: AccessTokenMinter = {
  async mint() {
    return { token: newToken('access').token };
  },
  async mintUnbound() {
    return { token: newToken('access').token };
  },
};

export class SessionService {
  readonly #d: SessionServiceDeps;

  constructor(deps: SessionServiceDeps) {
    this.#d = deps;
  }

  #policy(kind: SessionKind): SessionPolicy {
    const p = this.#d.policies[kind];
    if (!p) throw new Error(`no session policy for ${kind}`);
    return p;
  }

  /**
   * Mints the first pair of a new session, outside any transaction: signing a JWT is asynchronous
   * work (WebCrypto) that must not hold the write lock (SQLite's one writer and its group commit;
   * on PostgreSQL, the row locks the caller's transaction takes). Then `start` writes it.
   */
  async draft(input: { kind: SessionKind; accountId: number; clientId: string; scope: string; notAfter?: number }): Promise<SessionDraft> {
    const now = this.#d.clock.now();
    const session: Session = {
      id: newRecordId(),
      accountId: input.accountId,
      kind: input.kind,
      clientId: input.clientId,
      scope: input.scope,
      generation: 1,
      createdAt: now,
      expiresAt: Math.min(now + this.#d.maxLifetimeMs, input.notAfter ?? Number.MAX_SAFE_INTEGER),
      revokedAt: null,
    };
    return { session, pair: await this.#mint(session, now) };
  }

  /** Starts a drafted session inside the caller's transaction and stores its first pair. */
  async start(tx: Repos, draft: SessionDraft): Promise<TokenPair> {
    const stored = await tx.sessions.insert(sessionRow(draft.session));
    // Counted as stored; a transaction retried after a conflict (rare) counts twice: read it as a rate.
    this.#d.metrics?.issued(draft.session.kind);
    return this.#store(tx, stored, draft.pair);
  }

  /**
   * Takes one unit of the daily quota `quota.scope` and starts the drafted session, inside the
   * caller's transaction (a failure after it gives the unit back). Over the quota nothing starts
   * and the refusal is audited (`quota.exceeded`, with `entry.detail`); otherwise the start is
   * audited as `entry.type`, its detail carrying the quota's count as `quotaUsed`.
   */
  async startWithinQuota(
    tx: Repos,
    draft: SessionDraft,
    quota: { scope: string; limit: number },
    ctx: AuditContext,
    entry: { type: AuditType; accountId: number; detail: Record<string, unknown> },
  ): Promise<QuotaStart> {
    const { clock } = this.#d;
    const taken = await takeDailyQuota(tx.counters, clock, quota.scope, quota.limit);
    if (!taken.ok) {
      await audit(tx.audit, clock, ctx, { type: 'quota.exceeded', accountId: entry.accountId, detail: entry.detail });
      return { ok: false, code: 'quota_exceeded', retryAfterSeconds: taken.retryAfterSeconds };
    }
    const pair = await this.start(tx, draft);
    await audit(tx.audit, clock, ctx, {
      type: entry.type,
      accountId: entry.accountId,
      sessionId: pair.session.id,
      detail: { ...entry.detail, quotaUsed: taken.count },
    });
    return { ok: true, pair };
  }

  /**
   * A drafted session's rows, for a write that stores them itself in one step
   * (ServiceKeyRepo.startSession); `started` once it did.
   */
  rowsOf(draft: SessionDraft): { session: NewSession; access: { hash: string; createdAt: number; expiresAt: number }; refresh: { hash: string; createdAt: number; expiresAt: number } } {
    const { session, pair } = draft;
    return {
      session: sessionRow(session),
      access: { hash: sha256Hex(pair.accessToken), createdAt: pair.issuedAt, expiresAt: pair.accessExpiresAt },
      refresh: { hash: pair.refresh.hash, createdAt: pair.issuedAt, expiresAt: pair.refreshExpiresAt },
    };
  }

  /** The first pair of a drafted session that a one-step write stored (rowsOf), counted as `start` counts it. */
  started(draft: SessionDraft): TokenPair {
    this.#d.metrics?.issued(draft.session.kind);
    return this.#pairOf(draft.session, draft.pair);
  }

  /** The tokens of one generation of a session, minted (not yet stored). */
  async #mint(session: Session, now: number): Promise<MintedPair> {
    const policy = this.#policy(session.kind);
    const accessExpiresAt = Math.min(now + policy.accessTtlMs, session.expiresAt);
    const refreshExpiresAt = Math.min(now + policy.refreshTtlMs, session.expiresAt);
    const access = await policy.minter.mint(session, { issuedAt: now, expiresAt: accessExpiresAt });
    return { issuedAt: now, accessToken: access.token, accessExpiresAt, refresh: newToken('refresh'), refreshExpiresAt };
  }

  /** Stores a minted pair as the given generation of the session. */
  async #store(tx: Repos, session: Session, pair: MintedPair): Promise<TokenPair> {
    const base = { sessionId: session.id, generation: session.generation, createdAt: pair.issuedAt };
    await tx.sessions.insertAccessToken({ ...base, hash: sha256Hex(pair.accessToken), expiresAt: pair.accessExpiresAt });
    await tx.sessions.insertRefreshToken({ ...base, hash: pair.refresh.hash, expiresAt: pair.refreshExpiresAt });
    return this.#pairOf(session, pair);
  }

  /** A stored pair as answered. */
  #pairOf(session: Session, pair: MintedPair): TokenPair {
    return {
      session,
      accessToken: pair.accessToken,
      accessExpiresAt: pair.accessExpiresAt,
      refreshToken: pair.refresh.token,
      refreshExpiresAt: pair.refreshExpiresAt,
    };
  }

  /**
   * Rotates a pair: the presented refresh token and its access token stop working at once.
   * `known`: the caller already looked the token up (by this hash), outside any transaction.
   */
  async refresh(refreshToken: string, kind: SessionKind, ctx: AuditContext, known?: RefreshLookup | null): Promise<RefreshOutcome> {
    // Shape and checksum first: a malformed token never reaches storage.
    if (!isNativeToken(refreshToken, 'refresh')) return { ok: false, code: 'invalid_refresh_token' };
    const hash = sha256Hex(refreshToken);
    const { clock, store } = this.#d;
    const policy = this.#policy(kind);
    // Where the store claims and rotates an unread token in one statement (PostgreSQL) and the
    // access token does not carry its session (opaque), no read goes before the write: it decides
    // alone, and an unknown token costs that one statement. The transaction below tells why when
    // it could not rotate a known token.
    const mintUnbound = policy.minter.mintUnbound;
    if (known === undefined && store.rotatesUnread && mintUnbound && !policy.canRefresh) {
      const access = await mintUnbound();
      const refresh = newToken('refresh');
      const now = clock.now();
      const r = await store.write((tx) =>
        tx.sessions.rotateUnread(
          { hash, kind, now, access: { hash: sha256Hex(access.token), ttlMs: policy.accessTtlMs }, refresh: { hash: refresh.hash, ttlMs: policy.refreshTtlMs } },
          (generation) => auditEvent(clock, ctx, { type: 'session.refreshed', detail: { kind, generation } }),
        ),
      );
      if (r.ok) {
        const { session } = r;
        const pair: TokenPair = {
          session,
          accessToken: access.token,
          accessExpiresAt: Math.min(now + policy.accessTtlMs, session.expiresAt),
          refreshToken: refresh.token,
          refreshExpiresAt: Math.min(now + policy.refreshTtlMs, session.expiresAt),
        };
        return this.#answer(kind, { ok: true, pair }, [session.id], { issuedAt: r.issuedAt, session });
      }
      if (!r.known) return this.#answer(kind, { ok: false, code: 'invalid_refresh_token' });
      return this.#decide(hash, kind, ctx, null);
    }
    // Read first, outside the write lock: an unknown token is refused without queueing for it, and
    // the next pair is minted (a JWT signed) before the write, from what never changes in a
    // session (account, client, scope, end). The write re-checks and decides; a pair minted for
    // a refresh that loses is never stored, so it was never valid.
    const seen = known ?? (await store.readAhead.findRefresh(hash));
    if (!seen || seen.session.kind !== kind) return this.#answer(kind, { ok: false, code: 'invalid_refresh_token' });
    let next: MintedPair | null = null;
    if (judgeRefresh(seen, clock.now()) === null) {
      // The token looked alive: one write that claims it and stores the next pair if and only if
      // it still is (SessionRepo.rotate, the arbiter: of N concurrent refreshes one wins). Only
      // when that write finds something changed does the transaction below read to tell why.
      // The policy's extra conditions are read before it, through the store (answered once
      // durable): what they look at (a service key, its service account) is revoked together
      // with the session, which the write re-checks under its row lock.
      const { session, token } = seen;
      const extra = await policy.canRefresh?.(session, store);
      if (extra) return this.#answer(kind, { ok: false, code: extra, session });
      next = await this.#mint(session, clock.now());
      const pair = next;
      const generation = token.generation + 1;
      const stored = await store.write((tx) =>
        tx.sessions.rotate(
          {
            hash,
            sessionId: session.id,
            fromGeneration: token.generation,
            now: clock.now(),
            access: { hash: sha256Hex(pair.accessToken), createdAt: pair.issuedAt, expiresAt: pair.accessExpiresAt },
            refresh: { hash: pair.refresh.hash, createdAt: pair.issuedAt, expiresAt: pair.refreshExpiresAt },
          },
          auditEvent(clock, ctx, { type: 'session.refreshed', accountId: session.accountId, sessionId: session.id, detail: { kind, generation } }),
        ),
      );
      if (stored) {
        return this.#answer(kind, { ok: true, pair: this.#pairOf({ ...session, generation }, pair) }, [session.id], { issuedAt: token.createdAt, session });
      }
    }
    return this.#decide(hash, kind, ctx, next);
  }

  /**
   * The refresh decided inside a transaction that reads the token first: for a token the read
   * ahead saw dead (a replay to tell from a retry by its grace, an expired or revoked one), or that
   * the one-step write could not rotate (a concurrent refresh won; it was revoked meanwhile).
   */
  async #decide(hash: string, kind: SessionKind, ctx: AuditContext, minted: MintedPair | null): Promise<RefreshOutcome> {
    const { clock, reuseGraceMs } = this.#d;
    const changed: string[] = [];
    /** The pair this refresh replaces: when it was issued, and its session. */
    let replaced: { issuedAt: number; session: Session } | null = null;
    const outcome = await this.#d.store.transaction(async (tx): Promise<RefreshOutcome> => {
      changed.length = 0;
      replaced = null;
      const now = clock.now();
      const found = await tx.sessions.findRefresh(hash);
      if (!found || found.session.kind !== kind) return { ok: false, code: 'invalid_refresh_token' };
      const { token, session } = found;
      const dead = judgeRefresh(found, now);
      if (dead === 'revoked') return { ok: false, code: 'invalid_refresh_token', session };
      if (dead === 'rotated' && token.rotatedAt !== null) {
        if (now - token.rotatedAt <= reuseGraceMs) return { ok: false, code: 'invalid_refresh_token', session };
        if (await tx.sessions.revoke(session.id, now, 'refresh_token_reuse')) changed.push(session.id);
        await audit(tx.audit, clock, ctx, {
          type: 'session.reuse_detected',
          accountId: session.accountId,
          sessionId: session.id,
          detail: { kind, generation: token.generation, rotatedAt: token.rotatedAt },
        });
        return { ok: false, code: 'refresh_token_reused', session };
      }
      if (dead === 'expired') return { ok: false, code: 'refresh_token_expired', session };
      if (dead === 'account_disabled') return { ok: false, code: 'account_disabled', session };
      const extra = await this.#policy(kind).canRefresh?.(session, tx);
      if (extra) return { ok: false, code: extra, session };
      // The arbiter: of N concurrent refreshes with this token, one claims it; the rest see it rotated.
      if (!(await tx.sessions.claimRefresh(hash, now))) return { ok: false, code: 'invalid_refresh_token', session };
      if (!(await tx.sessions.advance(session.id, token.generation))) return { ok: false, code: 'invalid_refresh_token', session };
      // Alive now though not at the read ahead (or at the one-step write): rare, minted here.
      const pair = await this.#store(tx, { ...session, generation: token.generation + 1 }, minted ?? (await this.#mint(session, now)));
      changed.push(session.id);
      replaced = { issuedAt: token.createdAt, session };
      await audit(tx.audit, clock, ctx, {
        type: 'session.refreshed',
        accountId: session.accountId,
        sessionId: session.id,
        detail: { kind, generation: token.generation + 1 },
      });
      return { ok: true, pair };
    });
    return this.#answer(kind, outcome, changed, replaced);
  }

  /** After a refresh's write: caches told, the client's pattern noted, counted. */
  #answer(kind: SessionKind, outcome: RefreshOutcome, changed: string[] = [], replaced: { issuedAt: number; session: Session } | null = null): RefreshOutcome {
    if (changed.length) this.#d.events?.onSessionsChanged(changed);
    if (outcome.ok && replaced && kind === 'chatapp') {
      const accessTtl = this.#policy('chatapp').accessTtlMs;
      this.#d.clientPatterns?.refreshed(replaced.session.clientId, replaced.session.id, replaced.issuedAt, Math.min(replaced.issuedAt + accessTtl, replaced.session.expiresAt));
    }
    this.#d.metrics?.refreshed(kind, outcome.ok ? 'ok' : outcome.code);
    if (!outcome.ok && outcome.code === 'refresh_token_reused') this.#d.metrics?.reuseDetected(kind);
    return outcome;
  }

  /** Looks an access token up by hash (through the verification cache); no judgement, no write. */
  async lookupAccess(token: string): Promise<AccessLookup | null> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    return this.#d.lookups.access(sha256Hex(token));
  }

  /** One page of an account's live sessions, newest first, and how many there are in all. */
  async listActivePage(accountId: number, page: { limit: number; before?: SessionCursor }): Promise<{ items: SessionListItem[]; total: number }> {
    const now = this.#d.clock.now();
    const [items, total] = await Promise.all([
      this.#d.store.sessions.listActivePage(accountId, now, page),
      this.#d.store.sessions.countActive(accountId, now),
    ]);
    return { items, total };
  }

  /** Revokes every live session of an account (its "sign out everywhere"); returns how many. */
  async revokeAllOf(accountId: number, ctx: AuditContext, reason: string): Promise<number> {
    const { clock } = this.#d;
    const ids = await this.#d.store.transaction(async (tx) => {
      const revoked = await tx.sessions.revokeByAccount(accountId, clock.now(), reason);
      for (const sessionId of revoked) await audit(tx.audit, clock, ctx, { type: 'session.revoked', accountId, sessionId, detail: { reason } });
      return revoked;
    });
    if (ids.length > 0) this.#d.events?.onSessionsChanged(ids);
    return ids.length;
  }

  /**
   * Revokes a session; with `options.accountId`, only if it belongs to that account (the cabinet
   * revokes its own sessions and must not learn whether another account's id exists).
   */
  async revoke(sessionId: string, ctx: AuditContext, reason: string, options: { accountId?: number } = {}): Promise<boolean> {
    const { clock } = this.#d;
    const done = await this.#d.store.transaction(async (tx) => {
      const now = clock.now();
      const session = await tx.sessions.findById(sessionId);
      if (!session || (options.accountId !== undefined && session.accountId !== options.accountId)) return false;
      const ok = await tx.sessions.revoke(sessionId, now, reason);
      if (ok) await audit(tx.audit, clock, ctx, { type: 'session.revoked', accountId: session.accountId, sessionId, detail: { reason } });
      return ok;
    });
    if (done) this.#d.events?.onSessionsChanged([sessionId]);
    return done;
  }
}

/** The row a new session is stored as. */
function sessionRow(session: Session): NewSession {
  return {
    id: session.id,
    accountId: session.accountId,
    kind: session.kind,
    clientId: session.clientId,
    scope: session.scope,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
  };
}
