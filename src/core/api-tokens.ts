/**
 * Organisation API tokens (the Invoicebox scheme): long-lived tokens of an account in three
 * formats, shown once, stored as SHA-256 only, listed with a hint, rotated (optionally with a
 * grace period during which the old token still works) and revoked.
 *
 * Checking a token is core.verification's (src/core/verification.ts), like every check; it never
 * writes. `last used` is noted in memory at most once a minute per token (LastUsedNotes) and
 * written in batches off the request path (`flushLastUsed`, on a timer and at close).
 */
import type { CoreMetrics } from './metrics.ts';
import { sha256Hex } from '../secrets/hash.ts';
import { MAX_TOKEN_LENGTH, newHex128, newRecordId, newToken, parseNativeToken, tokenHint } from '../secrets/tokens.ts';
import { audit, type AuditContext } from './audit.ts';
import type { ChangeBus } from './changes.ts';
import { DAY_MS, type Clock } from './clock.ts';
import { FlushSchedule } from './write-behind.ts';
import { InvalidInputError } from './errors.ts';
import type { ApiToken, ApiTokenFormat, ApiTokenStatus } from './model.ts';
import { applyExpiryRules, clampExpiry, type ExpiryPolicy, type Subject } from './policies/rules.ts';
import { rollback, type ApiTokenCursor, type Repos, type Rollback, type Store } from './ports.ts';
import type { CheckOutcome, Verification } from './verification.ts';

const API_TOKENS = ['api_token'] as const;

export const API_TOKEN_FORMATS: readonly ApiTokenFormat[] = ['v3', 'l3', 'native'];

/** `last used` is written at most this often per token (per node). */
export const LAST_USED_RESOLUTION_MS = 60_000;
/** How often noted `last used` times are written. */
const LAST_USED_FLUSH_MS = 10_000;
/** `last used` updates per transaction of a flush (see flushLastUsed). */
const LAST_USED_SLICE = 250;
/** Bound on tokens with a pending `last used` between flushes, whatever the database does. */
const MAX_PENDING_LAST_USED = 50_000;
export const MAX_LABEL_LENGTH = 200;
/** Longest rotation grace period: long enough to redeploy an integration, short of being a second token. */
export const MAX_ROTATION_GRACE_MS = 30 * DAY_MS;

const V3_RE = /^[0-9a-f]{32}$/;
const L3_RE = /^([1-9][0-9]{0,14})-API:([0-9a-f]{32})$/;

/** The format a candidate token has, from its shape alone (no storage), with the l3 account prefix. */
export function apiTokenShape(candidate: string): { format: ApiTokenFormat; accountId?: number } | null {
  if (candidate.length === 0 || candidate.length > MAX_TOKEN_LENGTH) return null;
  if (V3_RE.test(candidate)) return { format: 'v3' };
  const l3 = L3_RE.exec(candidate);
  if (l3) return { format: 'l3', accountId: Number(l3[1]) };
  // Checksum first: a typo or a look-alike never reaches storage.
  if (parseNativeToken(candidate) === 'apiToken') return { format: 'native' };
  return null;
}

/** Start and last 4, safe to list: `b37c…d42e`, `29078-API:b37c…d42e`, `tdo_AbC…wxyz`. */
export function apiTokenHint(token: string, format: ApiTokenFormat): string {
  if (format === 'native') return tokenHint(token);
  const cut = format === 'l3' ? token.indexOf(':') + 1 : 0;
  return `${token.slice(0, cut + 4)}…${token.slice(-4)}`;
}

function generate(format: ApiTokenFormat, accountId: number): string {
  switch (format) {
    case 'v3':
      return newHex128();
    case 'l3':
      return `${accountId}-API:${newHex128()}`;
    case 'native':
      return newToken('apiToken').token;
  }
}

/**
 * Where a token stands at `now`. Revoked wins over replaced: a token revoked during its grace
 * period stopped working then, and a list must say so. It is "replaced" only when it had already
 * ended by then (a rotation without grace revokes the old token at the very moment its grace ends).
 * The store's status filter (ApiTokenRepo.pageByAccount) is this rule in SQL.
 */
export function apiTokenStatus(t: ApiToken, now: number): ApiTokenStatus {
  if (t.revokedAt !== null) return t.replacedBy !== null && t.expiresAt !== null && t.expiresAt <= t.revokedAt ? 'replaced' : 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= now) return t.replacedBy !== null ? 'replaced' : 'expired';
  return t.replacedBy !== null ? 'grace' : 'active';
}

export interface CreatedApiToken {
  /** The secret: shown once, never stored. */
  token: string;
  apiToken: ApiToken;
}

export type RotateOutcome =
  | { ok: true; created: CreatedApiToken; previous: ApiToken }
  | { ok: false; code: 'not_found' | 'not_active' };

export interface ApiTokenServiceDeps {
  store: Store;
  clock: Clock;
  changes: ChangeBus;
  lastUsed: LastUsedNotes;
  verification: Verification;
  metrics?: CoreMetrics;
  /** Maximum lifetime and mandatory expiry of new tokens (docs/policies.md). */
  expiryPolicy?: ExpiryPolicy;
  /** Told the hash of every token this node stores, in its transaction (src/core/token-filter.ts). */
  filter?: { add(hash: string): void };
}

export class ApiTokenService {
  readonly #d: ApiTokenServiceDeps;

  constructor(deps: ApiTokenServiceDeps) {
    this.#d = deps;
  }

  /** Creates a token; the returned secret is never shown again. Throws InvalidInputError on bad input. */
  async create(
    input: { accountId: number; format?: ApiTokenFormat; label?: string | null; expiresAt?: number | null },
    ctx: AuditContext,
  ): Promise<CreatedApiToken> {
    const format = input.format ?? 'v3';
    if (!API_TOKEN_FORMATS.includes(format)) throw new InvalidInputError('format', `must be one of ${API_TOKEN_FORMATS.join(', ')}`);
    const label = this.#label(input.label);
    const now = this.#d.clock.now();
    let expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now)) {
      throw new InvalidInputError('expiresAt', 'must be in the future');
    }
    const account = await this.#d.store.accounts.findById(input.accountId);
    if (!account) throw new InvalidInputError('account', 'no such account');
    if (this.#d.expiryPolicy) {
      await this.#d.expiryPolicy.ready();
      expiresAt = applyExpiryRules(this.#d.expiryPolicy.expiryRules(account.id), expiresAt, now, 'expiresAt');
    }
    const created = await this.#d.store.transaction(async (tx) => {
      const token = generate(format, account.id);
      const apiToken = this.#record(account.id, format, token, label, now, expiresAt);
      // 128 random bits: a collision is not going to happen; a false here would be a bug, not bad luck.
      const hash = sha256Hex(token);
      if (!(await tx.apiTokens.insert({ ...apiToken, hash }))) throw new Error('API token hash collision');
      this.#d.filter?.add(hash);
      await audit(tx.audit, this.#d.clock, ctx, {
        type: 'api_token.created',
        accountId: account.id,
        detail: { id: apiToken.id, format, label },
      });
      return { token, apiToken };
    });
    this.#d.metrics?.issued('api_token');
    return created;
  }

  /**
   * Registers a token whose value is already published (the demo sandbox). Idempotent:
   * returns false when a token with this value exists already (whatever became of it since).
   */
  async seedKnown(input: { accountId: number; token: string; label: string }, ctx: AuditContext): Promise<boolean> {
    const shape = apiTokenShape(input.token);
    if (!shape || (shape.accountId !== undefined && shape.accountId !== input.accountId)) {
      throw new InvalidInputError('token', 'is not an API token of this account');
    }
    const now = this.#d.clock.now();
    const apiToken = this.#record(input.accountId, shape.format, input.token, this.#label(input.label), now, null);
    return this.#d.store.transaction(async (tx) => {
      const hash = sha256Hex(input.token);
      const inserted = await tx.apiTokens.insert({ ...apiToken, hash });
      if (inserted) {
        this.#d.filter?.add(hash);
        await audit(tx.audit, this.#d.clock, ctx, {
          type: 'api_token.created',
          accountId: input.accountId,
          detail: { id: apiToken.id, format: shape.format, label: apiToken.label, seeded: true },
        });
      }
      return inserted;
    });
  }

  /**
   * Makes a published token of this account live again if it was revoked, replaced or expired
   * (the demo sandbox repairs its own records at every start). Returns true when it changed one.
   */
  async reinstateKnown(input: { accountId: number; token: string }, ctx: AuditContext): Promise<boolean> {
    const hash = sha256Hex(input.token);
    const { clock } = this.#d;
    const id = await this.#d.store.transaction(async (tx) => {
      const found = await tx.apiTokens.findByHash(hash);
      if (!found || found.token.accountId !== input.accountId) return null;
      const t = found.token;
      if (t.revokedAt === null && t.replacedBy === null && t.expiresAt === null) return null;
      if (!(await tx.apiTokens.reinstate(t.id))) return null;
      await audit(tx.audit, clock, ctx, { type: 'api_token.reinstated', accountId: t.accountId, detail: { id: t.id } });
      return t.id;
    });
    if (id === null) return false;
    this.#d.changes.publish({ kind: 'api_token', ids: [id] });
    return true;
  }

  async get(id: string): Promise<ApiToken | null> {
    return this.#d.store.apiTokens.findById(id);
  }

  /** Every token of the account, newest first, with hints (never the secrets). */
  async listByAccount(accountId: number): Promise<ApiToken[]> {
    return this.#d.store.apiTokens.listByAccount(accountId);
  }

  /** One page of the account's tokens, newest first; `status` keeps those `apiTokenStatus` puts there now. */
  async pageByAccount(accountId: number, page: { limit: number; before?: ApiTokenCursor; status?: ApiTokenStatus }): Promise<ApiToken[]> {
    return this.#d.store.apiTokens.pageByAccount(accountId, { ...page, now: this.#d.clock.now() });
  }

  /**
   * Replaces a token with a new one of the same account, format and label. With `graceMs` > 0 the
   * old token keeps working until then (never past its own expiry); with 0 it stops at once. The
   * new token gets the old one's lifetime (if it had one) counted from now. `accountId`, when
   * given, restricts the call to that account's tokens (the personal cabinet).
   */
  async rotate(id: string, options: { graceMs?: number; accountId?: number }, ctx: AuditContext): Promise<RotateOutcome> {
    const graceMs = options.graceMs ?? 0;
    if (!Number.isSafeInteger(graceMs) || graceMs < 0 || graceMs > MAX_ROTATION_GRACE_MS) {
      throw new InvalidInputError('grace', 'must be from 0 to 30 days');
    }
    const { clock, expiryPolicy } = this.#d;
    await expiryPolicy?.ready();
    let carried: readonly Subject[] | null = null;
    const outcome = await this.#d.store.transaction(async (tx): Promise<RotateOutcome | Rollback<RotateOutcome>> => {
      carried = null;
      const now = clock.now();
      const old = await tx.apiTokens.findById(id);
      if (!old || (options.accountId !== undefined && old.accountId !== options.accountId)) return { ok: false, code: 'not_found' };
      if (old.revokedAt !== null || old.replacedBy !== null || (old.expiresAt !== null && old.expiresAt <= now)) {
        return { ok: false, code: 'not_active' };
      }
      const token = generate(old.format, old.accountId);
      const kept = old.expiresAt === null ? null : now + (old.expiresAt - old.createdAt);
      // A rotation replaces a possibly leaked token: cut to the policy rather than refuse.
      const expiresAt = expiryPolicy ? clampExpiry(expiryPolicy.expiryRules(old.accountId), kept, now) : kept;
      const apiToken = this.#record(old.accountId, old.format, token, old.label, now, expiresAt);
      const hash = sha256Hex(token);
      if (!(await tx.apiTokens.insert({ ...apiToken, hash }))) throw new Error('API token hash collision');
      this.#d.filter?.add(hash);
      // The arbiter of concurrent rotations of one token: exactly one marks it replaced; the others
      // roll their new token back.
      if (!(await tx.apiTokens.retire(old.id, apiToken.id, now + graceMs))) return rollback({ ok: false, code: 'not_active' });
      if (graceMs === 0) await tx.apiTokens.revoke(old.id, now, 'rotated');
      // The successor is bound by the same rules from its first check: moved in this transaction.
      carried = (await expiryPolicy?.carryOver?.(tx, old.id, apiToken.id, now)) ?? null;
      await audit(tx.audit, clock, ctx, {
        type: 'api_token.rotated',
        accountId: old.accountId,
        detail: { id: old.id, replacedBy: apiToken.id, graceMs, ...(carried ? { rulesCarried: true } : {}) },
      });
      const previous = (await tx.apiTokens.findById(old.id)) ?? old;
      return { ok: true, created: { token, apiToken }, previous };
    });
    if (outcome.ok && carried) await expiryPolicy?.installed?.(carried);
    // The old token's cached entry carries its old expiry: drop it now, here and (bridged) everywhere.
    if (outcome.ok) this.#d.changes.publish({ kind: 'api_token', ids: [id] });
    // A rotation is an API token's refresh: a new token in place of one still valid.
    if (outcome.ok) this.#d.metrics?.refreshed('api_token', 'ok');
    return outcome;
  }

  /** Revokes a token; false when there is no such live token (of that account, when `accountId` is given). */
  async revoke(id: string, ctx: AuditContext, options: { accountId?: number } = {}): Promise<boolean> {
    const { clock } = this.#d;
    const done = await this.#d.store.transaction(async (tx) => {
      const token = await tx.apiTokens.findById(id);
      if (!token || (options.accountId !== undefined && token.accountId !== options.accountId)) return false;
      const now = clock.now();
      if (!(await tx.apiTokens.revoke(id, now, 'revoked'))) return false;
      await audit(tx.audit, clock, ctx, { type: 'api_token.revoked', accountId: token.accountId, detail: { id } });
      return true;
    });
    if (done) this.#d.changes.publish({ kind: 'api_token', ids: [id] });
    return done;
  }

  /** Revokes every live token of an account (the account was disabled or deleted). */
  async revokeAllOf(accountId: number, ctx: AuditContext): Promise<string[]> {
    const { clock } = this.#d;
    const ids = await this.#d.store.transaction(async (tx) => {
      const revoked = await tx.apiTokens.revokeByAccount(accountId, clock.now(), 'account');
      for (const id of revoked) await audit(tx.audit, clock, ctx, { type: 'api_token.revoked', accountId, detail: { id, reason: 'account' } });
      return revoked;
    });
    this.#d.changes.publish({ kind: 'api_token', ids });
    return ids;
  }

  /** Checks an API token: core.verification.check with API tokens accepted (counted as a use). */
  async verify(candidate: string): Promise<CheckOutcome> {
    return this.#d.verification.check(candidate, { accept: API_TOKENS, address: null });
  }

  /** Writes the noted `last used` times now (they are written on a timer anyway). */
  async flushLastUsed(): Promise<void> {
    return this.#d.lastUsed.flush();
  }

  #label(raw: string | null | undefined): string | null {
    const label = raw?.trim() ?? '';
    if (label.length > MAX_LABEL_LENGTH) throw new InvalidInputError('label', `must be at most ${MAX_LABEL_LENGTH} characters long`);
    return label.length ? label : null;
  }

  #record(accountId: number, format: ApiTokenFormat, token: string, label: string | null, now: number, expiresAt: number | null): ApiToken {
    return {
      id: newRecordId(),
      accountId,
      format,
      hint: apiTokenHint(token, format),
      label,
      createdAt: now,
      expiresAt,
      lastUsedAt: null,
      revokedAt: null,
      replacedBy: null,
    };
  }
}

/**
 * API-token `last used` times, noted in memory by the verification path at most once a minute per
 * token (per node) and written in batches off the request path: a check never writes.
 */
export class LastUsedNotes {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #write: (tx: Repos, slice: readonly { id: string; at: number }[]) => Promise<void>;
  /** When this node last noted a use of each token (throttles `last used` to one write a minute). */
  readonly #noted = new Map<string, number>();
  #pending = new Map<string, number>();
  readonly #schedule = new FlushSchedule(LAST_USED_FLUSH_MS, () => this.flush());

  /** `write` stores one slice of noted times: API tokens' by default; operator keys pass their own. */
  constructor(store: Store, clock: Clock, write: (tx: Repos, slice: readonly { id: string; at: number }[]) => Promise<void> = (tx, slice) => tx.apiTokens.touchLastUsed(slice)) {
    this.#store = store;
    this.#clock = clock;
    this.#write = write;
  }

  /** Notes a use of the credential (a successful check). Synchronous, no I/O. */
  note(token: Pick<ApiToken, 'id' | 'lastUsedAt'>, now: number): void {
    const last = this.#noted.get(token.id) ?? token.lastUsedAt ?? Number.NEGATIVE_INFINITY;
    if (now - last < LAST_USED_RESOLUTION_MS) return;
    if (this.#pending.size >= MAX_PENDING_LAST_USED && !this.#pending.has(token.id)) return;
    this.#noted.set(token.id, now);
    this.#pending.set(token.id, now);
    this.#schedule.arm();
  }

  /** Writes the noted `last used` times in one transaction; on failure they wait for the next flush. */
  flush(): Promise<void> {
    return this.#schedule.run(() => {
      if (this.#pending.size === 0) return null;
      const batch = this.#pending;
      this.#pending = new Map();
      return () => this.#writeBatch(batch);
    });
  }

  async #writeBatch(batch: Map<string, number>): Promise<void> {
    const entries = [...batch].map(([id, at]) => ({ id, at }));
    try {
      // In slices, with a turn of the event loop between them: each update lands on its own page of
      // a large table, and SQLite writes synchronously, so one transaction of thousands held every
      // token check behind it for as long as the disk took (a p99 of 700 ms at 1M tokens, bench/).
      for (let i = 0; i < entries.length; i += LAST_USED_SLICE) {
        const slice = entries.slice(i, i + LAST_USED_SLICE);
        await this.#store.transaction((tx) => this.#write(tx, slice));
        if (i + LAST_USED_SLICE < entries.length) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      for (const [id, at] of batch) if (!this.#pending.has(id)) this.#pending.set(id, at);
      throw error;
    }
    // Forget notes older than the resolution: the map stays as small as the set of busy tokens.
    const now = this.#clock.now();
    for (const [id, at] of this.#noted) if (now - at >= LAST_USED_RESOLUTION_MS) this.#noted.delete(id);
  }

  /** Stops the timer and writes what is pending (tokend shutdown). */
  close(): Promise<void> {
    return this.#schedule.close();
  }
}
