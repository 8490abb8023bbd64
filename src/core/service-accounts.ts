/**
 * Service accounts, their keys, and the tokens those keys create (the hoster.by
 * scheme). A service account belongs to an account and holds a list of allowed actions; each of
 * its keys is an Access Key (public) and a Secret Key (`tds_…`, shown once, stored as SHA-256).
 * Creating tokens starts a session of kind `service` whose access token is a signed JWT: rotation,
 * exactly-one-wins and reuse detection are SessionService's, shared with every scheme.
 *
 * Rules kept here:
 * - a session never outlives its key: it is started with `notAfter` = the key's expiry, which
 *   bounds the refresh token and every access token of the session;
 * - revoking a key or disabling a service account revokes its sessions in the same transaction,
 *   and a creation racing with either is ordered by a write on the same row (ports.ts `claimUse`);
 * - a refresh also checks that the key and service account are usable, just before its write
 *   (revoking either revokes the session too, which the write re-checks under its row lock);
 * - token creation counts against a daily limit per key.
 */
import { randomBytes } from 'node:crypto';
import { constantTimeEqual, sha256Hex } from '../secrets/hash.ts';
import { isNativeToken, newToken, tokenHint } from '../secrets/tokens.ts';
import { audit, auditEvent, type AuditContext } from './audit.ts';
import type { ChangeBus } from './changes.ts';
import type { Clock } from './clock.ts';
import { InvalidInputError } from './errors.ts';
import { dailyWindow } from './limits.ts';
import type { ServiceAccount, ServiceKey, Session } from './model.ts';
import { judgeRefresh } from './liveness.ts';
import { applyExpiryRules, type ExpiryPolicy } from './policies/rules.ts';
import { rollback, type AccessTokenSigner, type IdPage, type Repos, type Rollback, type ServiceKeyLookup, type Store } from './ports.ts';
import type { AccessTokenMinter, RefreshOutcome, SessionPolicy, SessionService, TokenPair } from './sessions.ts';
import { type TokenIdentity, type Verification } from './verification.ts';
import { cacheTag, VerifyCache } from './verify-cache.ts';

/** An action name: what a resource server checks in `scope` (`dns_orders_list`, `cloud:read`, …). */
export const ACTION_RE = /^[A-Za-z0-9_.:/-]{1,100}$/;
export const MAX_ACTIONS = 200;
export const NAME_MAX = 200;
/** Access Keys tokend generates: `AK` + 20 base32 characters (100 bits; public, not a secret). */
export const ACCESS_KEY_RE = /^[A-Za-z0-9_-]{1,128}$/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
// Compared against when the Access Key is unknown, so an unknown key costs what a wrong secret costs.
const DUMMY_SECRET_HASH = sha256Hex('tokend: no such access key');

export type CreateTokensFailure =
  | 'invalid_keys'
  | 'key_expired'
  | 'key_revoked'
  | 'service_account_disabled'
  | 'account_disabled'
  | 'quota_exceeded';

export type CreateTokensOutcome =
  | { ok: true; pair: TokenPair; serviceAccount: ServiceAccount; key: ServiceKey }
  | { ok: false; code: CreateTokensFailure; retryAfterSeconds?: number };

export type RefreshInfoOutcome =
  | { ok: true; session: Session; expiresAt: number }
  | { ok: false; code: 'invalid_refresh_token' | 'refresh_token_expired' };

/** A service access token's check (verifyAccessJwt): the identity, its session and what it grants. */
export type ServiceAccessOutcome =
  | { ok: true; identity: TokenIdentity; session: { id: string; accountId: number }; scope: string; expiresAt: number }
  | { ok: false; code: 'invalid_token' | 'token_expired' };

const SERVICE_ACCESS = ['service_access'] as const;

export interface NewServiceKeyResult {
  key: ServiceKey;
  /** The Secret Key: shown once, never stored (only its SHA-256). */
  secretKey: string;
}

export interface ServiceAccountServiceDeps {
  store: Store;
  clock: Clock;
  sessions: SessionService;
  verification: Verification;
  changes: ChangeBus;
  dailyCreateLimit: number;
  /** Maximum lifetime and mandatory expiry of new keys (docs/policies.md). */
  expiryPolicy?: ExpiryPolicy;
  /** The key cache of token creation (the verification cache's settings); off when absent. */
  cache?: { ttlMs: number; maxEntries: number };
}

/** What a cached key lookup depends on: a change to any of these drops it. */
const keyTags = (found: ServiceKeyLookup): readonly string[] => [
  cacheTag('service_key', found.key.id),
  cacheTag('service_account', found.serviceAccount.id),
  cacheTag('account', found.serviceAccount.accountId),
];

/** createTokens' answer when what the key cache held no longer holds: read the key again. */
const STALE = Symbol('stale');

/** A fresh public Access Key. */
export function newAccessKey(): string {
  let out = 'AK';
  for (const b of randomBytes(20)) out += BASE32[b & 31];
  return out;
}

/** Trims, checks and de-duplicates a list of actions (order kept). */
export function normalizeActions(actions: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of actions) {
    const action = raw.trim();
    if (!ACTION_RE.test(action)) {
      throw new InvalidInputError('actions', 'each action is 1 to 100 characters of letters, digits and _ . : / -');
    }
    if (!out.includes(action)) out.push(action);
  }
  if (out.length === 0 || out.length > MAX_ACTIONS) throw new InvalidInputError('actions', `must list 1 to ${MAX_ACTIONS} actions`);
  return out;
}

/** A service account's name, trimmed; InvalidInputError('name') when empty or too long. */
function serviceAccountName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > NAME_MAX) throw new InvalidInputError('name', `must be 1 to ${NAME_MAX} characters long`);
  return name;
}

/** The session policy of service-account sessions: JWT access tokens, and a usable key to refresh. */
export function serviceSessionPolicy(options: { clock: Clock; accessTtlMs: number; refreshTtlMs: number; signer: AccessTokenSigner }): SessionPolicy {
  const minter: AccessTokenMinter = {
    async mint(session, times) {
      const { token } = await options.signer.mint({
        subject: String(session.accountId),
        scope: session.scope,
        clientId: session.clientId,
        sessionId: session.id,
        issuedAt: times.issuedAt,
        expiresAt: times.expiresAt,
      });
      return { token };
    },
  };
  return {
    accessTtlMs: options.accessTtlMs,
    refreshTtlMs: options.refreshTtlMs,
    minter,
    async canRefresh(session: Session, tx: Repos) {
      // Revocation already revoked the session; this also holds if a key expired or was revoked by
      // other means, and keeps the rule in one obvious place.
      const found = await tx.serviceKeys.findByAccessKey(session.clientId);
      if (!found || found.key.revokedAt !== null || found.serviceAccount.status !== 'active') return 'client_revoked';
      if (found.key.expiresAt !== null && found.key.expiresAt <= options.clock.now()) return 'client_expired';
      return null;
    },
  };
}

export class ServiceAccountService {
  readonly #d: ServiceAccountServiceDeps;
  /**
   * Key lookups of token creation, by Access Key. A cached lookup only ever leads to a creation
   * that the write itself confirms (the key live, the service account active with the same
   * actions, its account active: ServiceKeyRepo.startSession); anything else it would answer,
   * a refusal included, is decided again from a fresh read. So the cache saves a creation one
   * round trip to the database and never changes an answer.
   */
  readonly #keys: VerifyCache<ServiceKeyLookup>;
  readonly #loadKey: (accessKey: string) => Promise<ServiceKeyLookup | null>;

  constructor(deps: ServiceAccountServiceDeps) {
    this.#d = deps;
    this.#keys = new VerifyCache({ ...(deps.cache ?? { ttlMs: 0, maxEntries: 0 }), clock: deps.clock });
    this.#keys.follow(deps.changes);
    this.#loadKey = (accessKey) => deps.store.serviceKeys.findByAccessKey(accessKey);
  }

  // --- service accounts -------------------------------------------------------------------

  /** Creates a service account of an account; throws InvalidInputError on a bad name, actions or account. */
  async create(input: { accountId: number; name: string; actions: readonly string[] }, ctx: AuditContext): Promise<ServiceAccount> {
    const { store, clock } = this.#d;
    const name = serviceAccountName(input.name);
    const actions = normalizeActions(input.actions);
    if (!(await store.accounts.findById(input.accountId))) throw new InvalidInputError('account', 'no such account');
    return store.transaction(async (tx) => {
      const sa = await tx.serviceAccounts.insert({ accountId: input.accountId, name, actions, createdAt: clock.now() });
      await audit(tx.audit, clock, ctx, {
        type: 'service_account.created',
        accountId: input.accountId,
        detail: { serviceAccountId: sa.id, name, actions },
      });
      return sa;
    });
  }

  async get(id: number): Promise<ServiceAccount | null> {
    return this.#d.store.serviceAccounts.findById(id);
  }

  async listByAccount(accountId: number): Promise<ServiceAccount[]> {
    return this.#d.store.serviceAccounts.listByAccount(accountId);
  }

  /** One page of an account's service accounts, oldest first. */
  async pageByAccount(accountId: number, page: IdPage): Promise<ServiceAccount[]> {
    return this.#d.store.serviceAccounts.pageByAccount(accountId, page);
  }

  /** The keys of several service accounts in one read (a page of a list), never a secret. */
  async keysOf(serviceAccountIds: readonly number[]): Promise<Map<number, ServiceKey[]>> {
    const byAccount = new Map<number, ServiceKey[]>(serviceAccountIds.map((id) => [id, []]));
    for (const key of await this.#d.store.serviceKeys.listByServiceAccounts(serviceAccountIds)) byAccount.get(key.serviceAccountId)?.push(key);
    return byAccount;
  }

  /**
   * Renames a service account and/or replaces its allowed actions, in one transaction. Tokens
   * already issued keep the actions they were minted with; new ones carry the new list. Null for
   * no such service account; InvalidInputError on a bad name or actions (nothing changed then).
   */
  async update(id: number, input: { name?: string; actions?: readonly string[] }, ctx: AuditContext): Promise<ServiceAccount | null> {
    const { store, clock, changes } = this.#d;
    const name = input.name === undefined ? undefined : serviceAccountName(input.name);
    const actions = input.actions === undefined ? undefined : normalizeActions(input.actions);
    const sa = await store.transaction(async (tx) => {
      const found = await tx.serviceAccounts.findById(id);
      if (!found) return null;
      if (name !== undefined && name !== found.name) {
        await tx.serviceAccounts.rename(id, name);
        await audit(tx.audit, clock, ctx, {
          type: 'service_account.renamed',
          accountId: found.accountId,
          detail: { serviceAccountId: id, name, previous: found.name },
        });
      }
      if (actions !== undefined) {
        await tx.serviceAccounts.setActions(id, actions);
        await audit(tx.audit, clock, ctx, {
          type: 'service_account.actions_changed',
          accountId: found.accountId,
          detail: { serviceAccountId: id, actions },
        });
      }
      return { ...found, name: name ?? found.name, actions: actions ?? found.actions };
    });
    if (sa && actions !== undefined) changes.publish({ kind: 'service_account', ids: [String(id)] });
    return sa;
  }

  /**
   * Disables a service account and revokes every session its keys started, in one transaction;
   * then tells verification caches. Returns false when it was already disabled.
   */
  async disable(id: number, ctx: AuditContext): Promise<boolean> {
    return this.#setStatus(id, 'disabled', ctx);
  }

  /** Enables a disabled service account again (its revoked sessions stay revoked). */
  async enable(id: number, ctx: AuditContext): Promise<boolean> {
    return this.#setStatus(id, 'active', ctx);
  }

  /** Replaces the allowed actions; tokens already issued keep the actions they were minted with. */
  async setActions(id: number, actions: readonly string[], ctx: AuditContext): Promise<ServiceAccount> {
    const sa = await this.update(id, { actions }, ctx);
    if (!sa) throw new InvalidInputError('serviceAccount', 'no such service account');
    return sa;
  }

  async #setStatus(id: number, status: 'active' | 'disabled', ctx: AuditContext): Promise<boolean> {
    const { clock } = this.#d;
    return this.#changeRevoking({ kind: 'service_account', id, field: 'serviceAccount', missing: 'no such service account' }, async (tx, revoked) => {
      const sa = await tx.serviceAccounts.findById(id);
      if (!sa) return null;
      // The status write comes first: it waits for any token creation in flight on this row.
      const changed = await tx.serviceAccounts.setStatus(id, status);
      if (status === 'disabled') {
        const now = clock.now();
        for (const key of await tx.serviceKeys.listByServiceAccount(id)) {
          revoked.push(...(await tx.sessions.revokeByClient(key.accessKey, now, 'service_account_disabled')));
        }
      }
      if (changed) {
        await audit(tx.audit, clock, ctx, {
          type: status === 'disabled' ? 'service_account.disabled' : 'service_account.enabled',
          accountId: sa.accountId,
          detail: { serviceAccountId: id, sessionsRevoked: revoked.length },
        });
      }
      return changed;
    });
  }

  /**
   * Runs `change` in one transaction, which pushes onto `revoked` the sessions it revokes (emptied
   * again when the store runs the transaction again), then tells verification caches: of the
   * record (`target`) when `change` changed it, of the revoked sessions in every case. Returns
   * whether it changed; null from `change` (no such record) is InvalidInputError(`target.field`).
   */
  async #changeRevoking(
    target: { kind: 'service_account' | 'service_key'; id: number; field: string; missing: string },
    change: (tx: Repos, revoked: string[]) => Promise<boolean | null>,
  ): Promise<boolean> {
    const { store, changes } = this.#d;
    const revoked: string[] = [];
    const result = await store.transaction(async (tx) => {
      revoked.length = 0;
      return change(tx, revoked);
    });
    if (result === null) throw new InvalidInputError(target.field, target.missing);
    if (result) changes.publish({ kind: target.kind, ids: [String(target.id)] });
    changes.publish({ kind: 'session', ids: [...revoked] });
    return result;
  }

  // --- keys -------------------------------------------------------------------------------

  /**
   * Creates a key pair. `expiresAt` (unix ms) must be in the future; null or absent: no expiry.
   * `preset` fixes the Access Key and Secret Key: only for the demo sandbox's published values.
   */
  async createKey(
    input: { serviceAccountId: number; expiresAt?: number | null; preset?: { accessKey: string; secretKey: string } },
    ctx: AuditContext,
  ): Promise<NewServiceKeyResult> {
    const { store, clock } = this.#d;
    const sa = await store.serviceAccounts.findById(input.serviceAccountId);
    if (!sa) throw new InvalidInputError('serviceAccount', 'no such service account');
    let expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= clock.now())) {
      throw new InvalidInputError('expiresAt', 'must be in the future');
    }
    // The demo sandbox's published key is not a new credential: the expiry policy leaves it be.
    if (this.#d.expiryPolicy && !input.preset) {
      await this.#d.expiryPolicy.ready();
      expiresAt = applyExpiryRules(this.#d.expiryPolicy.expiryRules(sa.accountId), expiresAt, clock.now(), 'expiresAt');
    }
    let secretKey: string;
    let accessKey: string;
    if (input.preset) {
      if (!isNativeToken(input.preset.secretKey, 'secretKey')) throw new InvalidInputError('secretKey', 'must be a tds_ secret key');
      if (!ACCESS_KEY_RE.test(input.preset.accessKey)) throw new InvalidInputError('accessKey', 'is malformed');
      ({ secretKey, accessKey } = input.preset);
    } else {
      secretKey = newToken('secretKey').token;
      accessKey = newAccessKey();
    }
    const key = await store.transaction(async (tx) => {
      const created = await tx.serviceKeys.insert({
        serviceAccountId: sa.id,
        accessKey,
        secretHash: sha256Hex(secretKey),
        secretHint: tokenHint(secretKey),
        createdAt: clock.now(),
        expiresAt,
      });
      if (created) {
        await audit(tx.audit, clock, ctx, {
          type: 'service_key.created',
          accountId: sa.accountId,
          detail: { serviceAccountId: sa.id, keyId: created.id, accessKey, expiresAt },
        });
      }
      return created;
    });
    if (!key) throw new InvalidInputError('accessKey', 'this key already exists');
    return { key, secretKey };
  }

  async getKey(id: number): Promise<ServiceKey | null> {
    return this.#d.store.serviceKeys.findById(id);
  }

  async findKeyByAccessKey(accessKey: string): Promise<ServiceKey | null> {
    if (!ACCESS_KEY_RE.test(accessKey)) return null;
    return (await this.#d.store.serviceKeys.findByAccessKey(accessKey))?.key ?? null;
  }

  /** Keys of a service account, oldest first, revoked ones included; never a secret. */
  async listKeys(serviceAccountId: number): Promise<ServiceKey[]> {
    return this.#d.store.serviceKeys.listByServiceAccount(serviceAccountId);
  }

  /**
   * Revokes a key and every session it started, in one transaction; then tells verification
   * caches. Returns false when it was already revoked (its sessions are revoked again regardless).
   */
  async revokeKey(keyId: number, ctx: AuditContext): Promise<boolean> {
    const { clock } = this.#d;
    return this.#changeRevoking({ kind: 'service_key', id: keyId, field: 'key', missing: 'no such key' }, async (tx, revoked) => {
      const key = await tx.serviceKeys.findById(keyId);
      if (!key) return null;
      const now = clock.now();
      // The key's write first: it waits for any token creation in flight with this key.
      const changed = await tx.serviceKeys.revoke(keyId, now);
      revoked.push(...(await tx.sessions.revokeByClient(key.accessKey, now, 'key_revoked')));
      if (changed) {
        const sa = await tx.serviceAccounts.findById(key.serviceAccountId);
        await audit(tx.audit, clock, ctx, {
          type: 'service_key.revoked',
          accountId: sa?.accountId ?? null,
          detail: { serviceAccountId: key.serviceAccountId, keyId, accessKey: key.accessKey, sessionsRevoked: revoked.length },
        });
      }
      return changed;
    });
  }

  /**
   * Makes a revoked or expired key live again, without expiry: only for the demo sandbox's
   * published key, which must keep working as documented. Sessions it started stay revoked.
   */
  async reinstateKey(keyId: number, ctx: AuditContext): Promise<boolean> {
    const { store, clock, changes } = this.#d;
    const changed = await store.transaction(async (tx) => {
      const key = await tx.serviceKeys.findById(keyId);
      if (!key || (key.revokedAt === null && key.expiresAt === null)) return false;
      if (!(await tx.serviceKeys.reinstate(keyId))) return false;
      const sa = await tx.serviceAccounts.findById(key.serviceAccountId);
      await audit(tx.audit, clock, ctx, {
        type: 'service_key.reinstated',
        accountId: sa?.accountId ?? null,
        detail: { serviceAccountId: key.serviceAccountId, keyId, accessKey: key.accessKey },
      });
      return true;
    });
    if (changed) changes.publish({ kind: 'service_key', ids: [String(keyId)] });
    return changed;
  }

  // --- tokens -----------------------------------------------------------------------------

  /**
   * `POST /service/account/create/token`: Access Key + Secret Key -> a new session and its first
   * pair. A wrong secret and an unknown Access Key get the same answer, at the same cost unless
   * the key is in the cache (docs/SECURITY.md).
   */
  async createTokens(input: { accessKey: string; secretKey: string }, ctx: AuditContext): Promise<CreateTokensOutcome> {
    // Shape and checksum first: a malformed secret never reaches storage.
    if (!ACCESS_KEY_RE.test(input.accessKey) || !isNativeToken(input.secretKey, 'secretKey')) return { ok: false, code: 'invalid_keys' };
    const cached = this.#keys.get(input.accessKey);
    if (cached !== undefined) {
      const outcome = await this.#create(cached, input.secretKey, ctx, true);
      if (outcome !== STALE) return outcome;
      this.#keys.invalidate(cacheTag('service_key', cached.key.id));
    }
    const found = await this.#keys.getOrLoad(input.accessKey, this.#loadKey, keyTags);
    const outcome = await this.#create(found, input.secretKey, ctx, false);
    // Only what a cached lookup led to is ever STALE.
    if (outcome === STALE) throw new Error('a creation from a fresh read of the key came back stale');
    return outcome;
  }

  /**
   * createTokens from a key lookup. From the cache (`cached`), it answers only what the lookup
   * cannot have gone stale on (a wrong secret: a key's secret never changes) or a creation the
   * write confirmed; everything else is STALE.
   */
  async #create(found: ServiceKeyLookup | null, secretKey: string, ctx: AuditContext, cached: boolean): Promise<CreateTokensOutcome | typeof STALE> {
    const { store, clock, sessions } = this.#d;
    const secretMatches = constantTimeEqual(sha256Hex(secretKey), found?.secretHash ?? DUMMY_SECRET_HASH);
    if (!found || !secretMatches) return { ok: false, code: 'invalid_keys' };
    const { key, serviceAccount } = found;
    const early =
      this.#keyUnusable(key, clock.now()) ??
      (serviceAccount.status !== 'active' ? 'service_account_disabled' : found.accountStatus !== 'active' ? 'account_disabled' : null);
    if (early) return cached ? STALE : { ok: false, code: early };

    // Minted (the JWT signed) before the transaction, which then holds its locks only for writes.
    const draft = await sessions.draft({
      kind: 'service',
      accountId: serviceAccount.accountId,
      clientId: key.accessKey,
      scope: serviceAccount.actions.join(' '),
      // The refresh token (and so the session) never outlives the key.
      ...(key.expiresAt !== null ? { notAfter: key.expiresAt } : {}),
    });
    // One write that does it all when everything holds (ServiceKeyRepo.startSession: the claims,
    // the quota's unit, the session, its pair and the audit entry); only when it finds something
    // in the way does the transaction below run to tell what (and record a quota refusal).
    const now = clock.now();
    const day = dailyWindow(now);
    const quotaScope = `service-create:${key.id}`;
    const used = await store.write((tx) =>
      tx.serviceKeys.startSession(
        {
          serviceAccountId: serviceAccount.id,
          keyId: key.id,
          now,
          quota: { scope: quotaScope, windowStart: day.start, limit: this.#d.dailyCreateLimit, expiresAt: day.end },
          ...sessions.rowsOf(draft),
        },
        (quotaUsed) =>
          auditEvent(clock, ctx, {
            type: 'service_token.created',
            accountId: serviceAccount.accountId,
            sessionId: draft.session.id,
            detail: { serviceAccountId: serviceAccount.id, accessKey: key.accessKey, quotaUsed },
          }),
      ),
    );
    if (used !== null) return { ok: true, pair: sessions.started(draft), serviceAccount, key };
    if (cached) return STALE;
    return store.transaction(async (tx): Promise<CreateTokensOutcome | Rollback<CreateTokensOutcome>> => {
      const now = clock.now();
      // Writes on the service account's and the key's rows: a disable or revoke racing with this
      // creation either waits for it (and then revokes the new session too) or has won (ports.ts).
      if (!(await tx.serviceAccounts.claimUse(serviceAccount.id, now))) return rollback({ ok: false, code: 'service_account_disabled' });
      if (!(await tx.serviceKeys.claimUse(key.id, now))) {
        return rollback({ ok: false, code: key.expiresAt !== null && key.expiresAt <= now ? 'key_expired' : 'key_revoked' });
      }
      const started = await sessions.startWithinQuota(tx, draft, { scope: quotaScope, limit: this.#d.dailyCreateLimit }, ctx, {
        type: 'service_token.created',
        accountId: serviceAccount.accountId,
        detail: { serviceAccountId: serviceAccount.id, accessKey: key.accessKey },
      });
      if (!started.ok) return started;
      return { ok: true, pair: started.pair, serviceAccount, key };
    });
  }

  /**
   * `PATCH /token/refresh`: rotates the pair (SessionService: exactly one of concurrent refreshes
   * wins; a replay after the grace period revokes the session). With `userId`, a token of another
   * user is answered exactly like an unknown one, before anything else happens to it.
   */
  async refresh(refreshToken: string, options: { userId?: number }, ctx: AuditContext): Promise<RefreshOutcome> {
    const { store, sessions } = this.#d;
    if (!isNativeToken(refreshToken, 'refresh')) return { ok: false, code: 'invalid_refresh_token' };
    // The session's account never changes, so this read outside the refresh transaction is sound.
    const found = await store.sessions.findRefresh(sha256Hex(refreshToken));
    if (options.userId !== undefined && (!found || found.session.kind !== 'service' || found.session.accountId !== options.userId)) {
      return { ok: false, code: 'invalid_refresh_token' };
    }
    return sessions.refresh(refreshToken, 'service', ctx, found);
  }

  /** `GET /token/info/refresh`: when a refresh token expires, if it can still be used. */
  async refreshInfo(refreshToken: string, options: { userId?: number } = {}): Promise<RefreshInfoOutcome> {
    const { store, clock } = this.#d;
    const invalid = { ok: false, code: 'invalid_refresh_token' } as const;
    if (!isNativeToken(refreshToken, 'refresh')) return invalid;
    const found = await store.sessions.findRefresh(sha256Hex(refreshToken));
    if (!found || found.session.kind !== 'service') return invalid;
    if (options.userId !== undefined && found.session.accountId !== options.userId) return invalid;
    const dead = judgeRefresh(found, clock.now());
    if (dead === 'expired') return { ok: false, code: 'refresh_token_expired' };
    if (dead) return invalid;
    return { ok: true, session: found.session, expiresAt: found.token.expiresAt };
  }

  /** Checks a service-account access token: core.verification.check with that kind accepted (counted as a use). */
  async verifyAccessJwt(token: string): Promise<ServiceAccessOutcome> {
    const outcome = await this.#d.verification.check(token, { accept: SERVICE_ACCESS, address: null });
    if (!outcome.ok) return { ok: false, code: outcome.reason === 'expired' ? 'token_expired' : 'invalid_token' };
    const { identity } = outcome;
    return {
      ok: true,
      identity,
      session: { id: identity.sessionId!, accountId: identity.accountId },
      scope: identity.scope,
      expiresAt: identity.expiresAt!,
    };
  }

  #keyUnusable(key: ServiceKey, now: number): 'key_revoked' | 'key_expired' | null {
    if (key.revokedAt !== null) return 'key_revoked';
    if (key.expiresAt !== null && key.expiresAt <= now) return 'key_expired';
    return null;
  }
}
