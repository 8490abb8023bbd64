/** Accounts, their apps, and password login (the ChatApp `tokens.make`). */
import type { ClientPatterns } from './client-patterns.ts';
import type { CoreMetrics } from './metrics.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import type { PasswordHasher } from '../secrets/password.ts';
import { audit, type AuditContext } from './audit.ts';
import type { Clock } from './clock.ts';
import { InvalidInputError } from './errors.ts';
import { dailyQuotaUsed, takeDailyQuota } from './limits.ts';
import type { PasswordCheck, PasswordCheckVia } from './password-check.ts';
import type { Account, AccountStatus, App, AuditEvent } from './model.ts';
import type { Store } from './ports.ts';
import type { SessionService, TokenPair } from './sessions.ts';

/** Emails are compared trimmed, Unicode-normalised and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

/** The counter of the daily `make` quota of (normalised email, appId). */
export function makeQuotaScope(email: string, appId: string): string {
  return `make:${email}:${appId}`;
}

export type LoginFailure = 'invalid_credentials' | 'too_many_attempts' | 'quota_exceeded' | 'account_disabled' | 'app_not_found';

export type LoginOutcome =
  | { ok: true; account: Account; pair: TokenPair }
  | { ok: false; code: LoginFailure; retryAfterSeconds?: number };

const LOGIN_VIA: PasswordCheckVia = { failed: 'login.failed' };

export interface AccountServiceDeps {
  store: Store;
  clock: Clock;
  hasher: PasswordHasher;
  sessions: SessionService;
  /** The password check shared with the console sign-in. */
  passwords: PasswordCheck;
  dailyMakeLimit: number;
  /** Called after an account's status changed, so verification caches drop what they hold for it. */
  onAccountChanged?: (accountId: number) => void;
  metrics?: CoreMetrics;
  /** Told of every successful make (src/core/client-patterns.ts). */
  clientPatterns?: ClientPatterns;
}

export class AccountService {
  readonly #d: AccountServiceDeps;

  constructor(deps: AccountServiceDeps) {
    this.#d = deps;
  }

  /** Creates an account; throws InvalidInputError on a bad email, a weak password or a taken email. */
  async create(
    input: { email: string; password: string; name?: string | null; isDemo?: boolean; id?: number; uid?: string },
    ctx: AuditContext,
  ): Promise<Account> {
    const email = normalizeEmail(input.email);
    if (!EMAIL_RE.test(email) || email.length > 254) throw new InvalidInputError('email', 'must be an email address');
    if (input.password.length < PASSWORD_MIN || input.password.length > PASSWORD_MAX) {
      throw new InvalidInputError('password', `must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long`);
    }
    const passwordHash = await this.#d.hasher.hash(input.password);
    const { store, clock } = this.#d;
    const account = await store.transaction(async (tx) => {
      const created = await tx.accounts.insert({
        ...(input.id !== undefined ? { id: input.id } : {}),
        uid: input.uid ?? randomUUID(),
        email,
        passwordHash,
        name: input.name ?? null,
        isDemo: input.isDemo ?? false,
        createdAt: clock.now(),
      });
      if (created) await audit(tx.audit, clock, ctx, { type: 'account.created', accountId: created.id, detail: { email } });
      return created;
    });
    if (!account) throw new InvalidInputError('email', 'an account with this email already exists');
    return account;
  }

  async get(id: number): Promise<Account | null> {
    return this.#d.store.accounts.findById(id);
  }

  async findByEmail(email: string): Promise<Account | null> {
    return this.#d.store.accounts.findByEmail(normalizeEmail(email));
  }

  /** Registers an app of an account; `appId` may be given (demo seed), else one is generated. */
  async createApp(input: { accountId: number; name: string; appId?: string }, ctx: AuditContext): Promise<App> {
    const { store, clock } = this.#d;
    const name = input.name.trim();
    if (name.length === 0 || name.length > 200) throw new InvalidInputError('name', 'must be 1 to 200 characters long');
    const account = await store.accounts.findById(input.accountId);
    if (!account) throw new InvalidInputError('account', 'no such account');
    const appId = input.appId ?? `app_${input.accountId}_${randomBytes(4).toString('hex')}`;
    const app = await store.transaction(async (tx) => {
      const created = await tx.apps.insert({ appId, accountId: input.accountId, name, createdAt: clock.now() });
      if (created) await audit(tx.audit, clock, ctx, { type: 'app.created', accountId: input.accountId, detail: { appId, name } });
      return created;
    });
    if (!app) throw new InvalidInputError('appId', 'this appId is taken');
    return app;
  }

  async listApps(accountId: number): Promise<App[]> {
    return this.#d.store.apps.listByAccount(accountId);
  }

  /** Successful `tokens.make` today (UTC) for the account's email and this app, and the limit. */
  async makesToday(account: Account, appId: string): Promise<{ used: number; limit: number }> {
    const used = await dailyQuotaUsed(this.#d.store.counters, this.#d.clock, makeQuotaScope(account.email, appId));
    return { used, limit: this.#d.dailyMakeLimit };
  }

  /** The account's audit log, newest first (`before`: an event id, for the next page). */
  async activity(accountId: number, filter: { limit: number; type?: string; before?: number }): Promise<AuditEvent[]> {
    return this.#d.store.audit.list({ ...filter, accountId });
  }

  async list(filter: { limit: number; beforeId?: number; emailContains?: string }): Promise<Account[]> {
    return this.#d.store.accounts.list(filter);
  }

  /**
   * Disables or re-enables an account. A disabled account cannot log in, refresh or pass a check
   * (every lookup joins its status), and its console sign-ins end. Returns null for no such account.
   */
  async setStatus(id: number, status: AccountStatus, ctx: AuditContext): Promise<Account | null> {
    const { store, clock } = this.#d;
    const changed = await store.transaction(async (tx) => {
      const before = await tx.accounts.findById(id);
      if (!before) return null;
      if (before.status === status) return { account: before, changed: false };
      await tx.accounts.setStatus(id, status);
      if (status === 'disabled') await tx.consoleSessions.revokeByAccount(id, clock.now());
      await audit(tx.audit, clock, ctx, { type: status === 'disabled' ? 'account.disabled' : 'account.enabled', accountId: id });
      return { account: { ...before, status }, changed: true };
    });
    if (changed?.changed) this.#d.onAccountChanged?.(id);
    return changed?.account ?? null;
  }

  /**
   * Checks email + password (argon2id; an unknown email verifies a dummy hash, so it costs the
   * same and answers the same), then takes one unit of the daily quota of (email, appId) and
   * starts a session, in one transaction: a failure after the quota gives the unit back.
   */
  async passwordLogin(input: { email: string; password: string; appId: string }, ctx: AuditContext): Promise<LoginOutcome> {
    const { store, clock, passwords, sessions } = this.#d;
    const email = normalizeEmail(input.email);
    const checked = await passwords.check(input, ctx, LOGIN_VIA);
    if (!checked.ok) return checked;
    const { account } = checked;
    const app = await store.apps.findByAppId(input.appId);
    if (!app || app.accountId !== account.id) return { ok: false, code: 'app_not_found' };

    const draft = await sessions.draft({ kind: 'chatapp', accountId: account.id, clientId: app.appId, scope: '' });
    const outcome = await store.transaction(async (tx): Promise<LoginOutcome> => {
      const quota = await takeDailyQuota(tx.counters, clock, makeQuotaScope(email, app.appId), this.#d.dailyMakeLimit);
      if (!quota.ok) {
        await audit(tx.audit, clock, ctx, { type: 'quota.exceeded', accountId: account.id, detail: { appId: app.appId } });
        this.#d.metrics?.refused('quota');
        return { ok: false, code: 'quota_exceeded', retryAfterSeconds: quota.retryAfterSeconds };
      }
      const pair = await sessions.start(tx, draft);
      await audit(tx.audit, clock, ctx, {
        type: 'login.succeeded',
        accountId: account.id,
        sessionId: pair.session.id,
        detail: { appId: app.appId, quotaUsed: quota.count },
      });
      return { ok: true, account, pair };
    });
    if (outcome.ok) this.#d.clientPatterns?.made(account.id, app.appId, outcome.pair.session.id, outcome.pair.accessExpiresAt);
    return outcome;
  }
}
