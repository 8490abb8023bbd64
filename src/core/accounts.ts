/** Accounts, their apps, and password login (the ChatApp `tokens.make`). */
import type { ClientPatterns } from './client-patterns.ts';
import type { CoreMetrics } from './metrics.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import type { PasswordHasher } from '../secrets/password.ts';
import { sha256Hex } from '../secrets/hash.ts';
import { isNativeToken, MAX_TOKEN_LENGTH, newToken } from '../secrets/tokens.ts';
import { audit, type AuditContext } from './audit.ts';
import type { Clock } from './clock.ts';
import { InvalidInputError } from './errors.ts';
import { dailyQuotaUsed, unguarded, type CredentialGuard } from './limits.ts';
import type { PasswordCheck, PasswordCheckVia } from './password-check.ts';
import type { Account, AccountStatus, App, AuditEvent } from './model.ts';
import type { AccountListFilter, DeletedAccount, IdPage, Store } from './ports.ts';
import type { SessionService, TokenPair } from './sessions.ts';

/** Emails are compared trimmed, Unicode-normalised and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

export const APP_NAME_MAX = 200;

/** An app's name, trimmed; InvalidInputError('name') when empty or too long. */
function appName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > APP_NAME_MAX) throw new InvalidInputError('name', `must be 1 to ${APP_NAME_MAX} characters long`);
  return name;
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
const CHANGE_VIA: PasswordCheckVia = { failed: 'console.sign_in_failed', throttledDetail: { via: 'password_change' } };

function checkedEmail(raw: string): string {
  const email = normalizeEmail(raw);
  if (!EMAIL_RE.test(email) || email.length > 254) throw new InvalidInputError('email', 'must be an email address');
  return email;
}

function checkPassword(password: string, field: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new InvalidInputError(field, `must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long`);
  }
}

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
  /** Called after an account was deleted, with what went with it, so every node drops it at once. */
  onAccountDeleted?: (accountId: number, removed: DeletedAccount) => void;
  /** Wrong password-reset links count here, with every other guessed credential. */
  credentialGuard?: CredentialGuard;
  /** Called after an app was deleted: caches drop its revoked sessions, policy memory its rules. */
  onAppDeleted?: (appId: string, revokedSessionIds: string[]) => void;
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
    const email = checkedEmail(input.email);
    checkPassword(input.password, 'password');
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
    const name = appName(input.name);
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

  /** One page of an account's apps, oldest first. */
  async pageApps(accountId: number, page: IdPage): Promise<App[]> {
    return this.#d.store.apps.pageByAccount(accountId, page);
  }

  async getApp(appId: string): Promise<App | null> {
    return this.#d.store.apps.findByAppId(appId);
  }

  /** Renames an app (its appId stays); null for no such app. Throws InvalidInputError on a bad name. */
  async renameApp(appId: string, name: string, ctx: AuditContext): Promise<App | null> {
    const { store, clock } = this.#d;
    const trimmed = appName(name);
    return store.transaction(async (tx) => {
      const app = await tx.apps.findByAppId(appId);
      if (!app || !(await tx.apps.rename(appId, trimmed))) return null;
      await audit(tx.audit, clock, ctx, { type: 'app.renamed', accountId: app.accountId, detail: { appId, name: trimmed, previous: app.name } });
      return { ...app, name: trimmed };
    });
  }

  /**
   * Deletes an app, in one transaction: every session started with its appId is revoked (its
   * access and refresh tokens stop working), the rules set on it (its policy) are removed with it,
   * and `tokens.make` with that appId fails from then on. Null for no such app.
   */
  async deleteApp(appId: string, ctx: AuditContext): Promise<{ app: App; sessionsRevoked: number; policyRemoved: boolean } | null> {
    const { store, clock } = this.#d;
    const revoked: string[] = [];
    const result = await store.transaction(async (tx) => {
      revoked.length = 0;
      const app = await tx.apps.findByAppId(appId);
      if (!app) return null;
      // The row first: of concurrent deletions one removes it and the others have nothing to do;
      // and it waits for logins holding the app (holdForUse), whose sessions the next statement sees.
      if (!(await tx.apps.delete(appId))) return null;
      const now = clock.now();
      revoked.push(...(await tx.sessions.revokeByClient(appId, now, 'app_deleted')));
      const policyRemoved = await tx.policies.delete({ kind: 'app', id: appId });
      await audit(tx.audit, clock, ctx, {
        type: 'app.deleted',
        accountId: app.accountId,
        detail: { appId, name: app.name, sessionsRevoked: revoked.length, policyRemoved },
      });
      return { app, sessionsRevoked: revoked.length, policyRemoved };
    });
    if (result) this.#d.onAppDeleted?.(appId, [...revoked]);
    return result;
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

  /** Newest first; `email` is matched exactly after normalisation, `emailContains` as a substring. */
  async list(filter: AccountListFilter): Promise<Account[]> {
    const { email, ...rest } = filter;
    return this.#d.store.accounts.list({ ...rest, ...(email !== undefined ? { email: normalizeEmail(email) } : {}) });
  }

  /**
   * Renames an account or changes its email. Null for no such account; 'email_taken' when another
   * account has the email (nothing changes); InvalidInputError for a malformed email or name.
   */
  async update(id: number, changes: { name?: string | null; email?: string }, ctx: AuditContext): Promise<Account | null | 'email_taken'> {
    const clean: { name?: string | null; email?: string } = {};
    if (changes.name !== undefined) {
      const name = changes.name === null ? null : changes.name.trim();
      if (name !== null && name.length > 200) throw new InvalidInputError('name', 'must be at most 200 characters long');
      clean.name = name === '' ? null : name;
    }
    if (changes.email !== undefined) clean.email = checkedEmail(changes.email);
    const { store, clock } = this.#d;
    return store.transaction(async (tx) => {
      const before = await tx.accounts.findById(id);
      if (!before) return null;
      const after = await tx.accounts.update(id, clean);
      if (after === null || after === 'email_taken') return after;
      const changed: Record<string, unknown> = {};
      if (clean.name !== undefined && clean.name !== before.name) changed.name = clean.name;
      if (clean.email !== undefined && clean.email !== before.email) changed.email = { from: before.email, to: clean.email };
      if (Object.keys(changed).length > 0) await audit(tx.audit, clock, ctx, { type: 'account.updated', accountId: id, detail: changed });
      return after;
    });
  }

  /**
   * Sets a new password (the operator): the account's console sign-ins and unused reset links
   * end. False for no such account; InvalidInputError (`password`) for a weak one.
   */
  async setPassword(id: number, password: string, ctx: AuditContext): Promise<boolean> {
    checkPassword(password, 'password');
    const passwordHash = await this.#d.hasher.hash(password);
    const { store, clock } = this.#d;
    return store.transaction(async (tx) => {
      if (!(await tx.accounts.setPasswordHash(id, passwordHash))) return false;
      const now = clock.now();
      await tx.consoleSessions.revokeByAccount(id, now);
      await tx.passwordResets.revokeByAccount(id, now);
      await audit(tx.audit, clock, ctx, { type: 'account.password_set', accountId: id });
      return true;
    });
  }

  /**
   * The signed-in account changes its own password: the current one is checked under the login
   * limits (a stolen console sign-in cannot guess it cheaply); every other console sign-in of the
   * account and its unused reset links end, the one making the change (`keepSignIn`) stays.
   */
  async changePassword(
    account: Account,
    input: { currentPassword: string; newPassword: string; keepSignIn: string },
    ctx: AuditContext,
  ): Promise<{ ok: true } | { ok: false; code: 'invalid_credentials' | 'too_many_attempts' | 'account_disabled'; retryAfterSeconds?: number }> {
    checkPassword(input.newPassword, 'newPassword');
    const checked = await this.#d.passwords.check({ email: account.email, password: input.currentPassword }, ctx, CHANGE_VIA);
    if (!checked.ok) return checked;
    const passwordHash = await this.#d.hasher.hash(input.newPassword);
    const { store, clock } = this.#d;
    await store.transaction(async (tx) => {
      await tx.accounts.setPasswordHash(account.id, passwordHash);
      const now = clock.now();
      await tx.consoleSessions.revokeByAccount(account.id, now, input.keepSignIn);
      await tx.passwordResets.revokeByAccount(account.id, now);
      await audit(tx.audit, clock, ctx, { type: 'account.password_changed', accountId: account.id });
    });
    return { ok: true };
  }

  /**
   * A one-time reset link's token (`tdw_…`, shown once; only its SHA-256 is stored), valid for
   * `ttlMs`. Null for no such account. tokend sends no mail: the operator hands the link over.
   */
  async issuePasswordReset(id: number, ttlMs: number, ctx: AuditContext): Promise<{ token: string; expiresAt: number } | null> {
    const { store, clock } = this.#d;
    const secret = newToken('passwordReset');
    const now = clock.now();
    const expiresAt = now + ttlMs;
    const issued = await store.transaction(async (tx) => {
      const account = await tx.accounts.findById(id);
      if (!account) return false;
      await tx.passwordResets.insert({ id: secret.hash, accountId: id, createdAt: now, expiresAt });
      await audit(tx.audit, clock, ctx, { type: 'account.password_reset_issued', accountId: id, detail: { expiresAt } });
      return true;
    });
    return issued ? { token: secret.token, expiresAt } : null;
  }

  /**
   * Sets the password through a reset link: the token is used once (of concurrent uses exactly
   * one wins), before its expiry, under the per-address limit on guessed credentials. The
   * account's console sign-ins end. A disabled account's link works (it sets the password only).
   */
  async resetPassword(
    token: string,
    password: string,
    ctx: AuditContext,
  ): Promise<{ ok: true; accountId: number } | { ok: false; code: 'invalid_reset_token' | 'too_many_attempts'; retryAfterSeconds?: number }> {
    checkPassword(password, 'password');
    const { store, clock } = this.#d;
    const consume = async (): Promise<number | null> =>
      token.length <= MAX_TOKEN_LENGTH && isNativeToken(token, 'passwordReset') ? store.passwordResets.consume(sha256Hex(token), clock.now()) : null;
    const guard = this.#d.credentialGuard;
    const checked = guard ? await guard.check(ctx.address, consume) : await unguarded(consume);
    if (!checked.ok) {
      if (checked.retryAfterSeconds !== null) return { ok: false, code: 'too_many_attempts', retryAfterSeconds: checked.retryAfterSeconds };
      return { ok: false, code: 'invalid_reset_token' };
    }
    const accountId = checked.value;
    const passwordHash = await this.#d.hasher.hash(password);
    await store.transaction(async (tx) => {
      await tx.accounts.setPasswordHash(accountId, passwordHash);
      const now = clock.now();
      await tx.consoleSessions.revokeByAccount(accountId, now);
      await tx.passwordResets.revokeByAccount(accountId, now);
      await audit(tx.audit, clock, ctx, { type: 'account.password_reset', accountId });
    });
    return { ok: true, accountId };
  }

  /**
   * Deletes the account and everything it owns (src/core/ports.ts, AccountRepo.deleteCascade);
   * the audit log keeps its entries and records the deletion. Every node drops the account's
   * tokens at once (onAccountDeleted). False for no such account.
   */
  async delete(id: number, ctx: AuditContext): Promise<boolean> {
    const { store, clock } = this.#d;
    const removed = await store.transaction(async (tx) => {
      const account = await tx.accounts.findById(id);
      if (!account) return null;
      const gone = await tx.accounts.deleteCascade(id);
      if (gone) {
        await audit(tx.audit, clock, ctx, {
          type: 'account.deleted',
          accountId: id,
          detail: { email: account.email, sessions: gone.sessionIds.length, apiTokens: gone.apiTokenIds.length, serviceAccounts: gone.serviceAccountIds.length },
        });
      }
      return gone;
    });
    if (!removed) return false;
    this.#d.onAccountDeleted?.(id, removed);
    return true;
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
    const { store, passwords, sessions } = this.#d;
    const email = normalizeEmail(input.email);
    const checked = await passwords.check(input, ctx, LOGIN_VIA);
    if (!checked.ok) return checked;
    const { account } = checked;
    const app = await store.apps.findByAppId(input.appId);
    if (!app || app.accountId !== account.id) return { ok: false, code: 'app_not_found' };

    const draft = await sessions.draft({ kind: 'chatapp', accountId: account.id, clientId: app.appId, scope: '' });
    const outcome = await store.transaction(async (tx): Promise<LoginOutcome> => {
      // Held until this transaction ends: an app deleted meanwhile is either gone here, or its
      // deletion waits for this session and revokes it (deleteApp).
      if (!(await tx.apps.holdForUse(app.appId))) return { ok: false, code: 'app_not_found' };
      const started = await sessions.startWithinQuota(tx, draft, { scope: makeQuotaScope(email, app.appId), limit: this.#d.dailyMakeLimit }, ctx, {
        type: 'login.succeeded',
        accountId: account.id,
        detail: { appId: app.appId },
      });
      if (!started.ok) {
        this.#d.metrics?.refused('quota');
        return started;
      }
      return { ok: true, account, pair: started.pair };
    });
    if (outcome.ok) this.#d.clientPatterns?.made(account.id, app.appId, outcome.pair.session.id, outcome.pair.accessExpiresAt);
    return outcome;
  }
}
