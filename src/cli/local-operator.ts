/**
 * The operator's commands on the database itself, through core (no `--url`): what a shell on the
 * tokend host can do when no server is running, or before the first start. Answers are the admin
 * API's views, built the way the API builds them, so a command prints the same thing either way.
 * What core cannot do yet says so and names the way that can (the admin API).
 */
import type { AuditContext } from '../core/audit.ts';
import type { Core } from '../core/tokend.ts';
import type { ApiToken as ApiTokenModel, OperatorKey as OperatorKeyModel, ServiceAccount as ServiceAccountModel, ServiceKey as ServiceKeyModel } from '../core/model.ts';
import { accountView, apiTokenView, appView, serviceAccountView, sessionView } from '../http/native/views.ts';
import { signingKeyView } from '../http/native/admin/signing-keys.ts';
import { masterKeyWarning, resolveMasterKey } from '../signing/master-key.ts';
import { CLI_AUDIT, NotFoundError, RefusedError, UsageError } from './context.ts';
import { parseDuration } from './duration.ts';
import type { Account, AccountFilter, ApiToken, App, Change, DayCount, NewOperatorKey, Operator, OperatorKey, Page, Policy, PolicyKind, ServiceAccount, Session } from './operator.ts';
import type { SubjectRef } from '../core/policies/service.ts';
import type { SubjectKind } from '../core/policies/rules.ts';

const SUBJECT_KINDS: Record<PolicyKind, SubjectKind> = { 'api-token': 'api_token', 'service-key': 'service_key', app: 'app', account: 'account' };

/** A command core cannot run on the database (yet): it runs through a tokend's admin API. */
export function onlyOverHttp(command: string): UsageError {
  return new UsageError(
    `\`tokend ${command}\` works only through a running tokend's admin API: pass --url URL (or set TOKEND_URL) with the admin token or an operator key (--token or TOKEND_ADMIN_TOKEN)`,
  );
}

/** As the admin API lists them (src/http/native/admin/operator-keys.ts). */
function operatorKeyView(k: OperatorKeyModel, now: number): OperatorKey {
  const status = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : 'active';
  return { ...k, permissions: [...k.permissions], status };
}

/** Local list cursors: opaque to the user like the API's, and only ever read back by this code. */
function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function decodeCursor<T>(cursor: string | undefined, valid: (key: unknown) => key is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (valid(key)) return key;
  } catch {
    // falls through to the usage error
  }
  throw new UsageError('--cursor is not a cursor an earlier page of this list printed');
}

const isIdCursor = (k: unknown): k is { before: number } => typeof k === 'object' && k !== null && Number.isSafeInteger((k as { before: unknown }).before);
const isSessionCursor = (k: unknown): k is { createdAt: number; id: string } =>
  typeof k === 'object' && k !== null && Number.isSafeInteger((k as { createdAt: unknown }).createdAt) && typeof (k as { id: unknown }).id === 'string';

export class LocalOperator implements Operator {
  readonly mode = 'local';
  readonly #core: Core;
  readonly #ctx: AuditContext;
  readonly #note: (line: string) => void;

  constructor(core: Core, options: { note: (line: string) => void; ctx?: AuditContext }) {
    this.#core = core;
    this.#note = options.note;
    this.#ctx = options.ctx ?? CLI_AUDIT;
  }

  async #account(id: number): Promise<NonNullable<Awaited<ReturnType<Core['accounts']['get']>>>> {
    const account = await this.#core.accounts.get(id);
    if (!account) throw new NotFoundError(`account ${id} does not exist`);
    return account;
  }

  async #serviceAccount(id: number): Promise<ServiceAccount> {
    const sa = await this.#core.serviceAccounts.get(id);
    if (!sa) throw new NotFoundError(`service account ${id} does not exist`);
    return this.#serviceAccountView(sa, await this.#core.serviceAccounts.listKeys(id));
  }

  /** The admin API's view: the cabinet's, with the owning account's id. */
  #serviceAccountView(sa: ServiceAccountModel, keys: ServiceKeyModel[]): ServiceAccount {
    return { ...serviceAccountView(sa, keys, this.#core.clock.now()), accountId: sa.accountId };
  }

  #apiTokenView(t: ApiTokenModel, now: number): ApiToken {
    return { ...apiTokenView(t, now), accountId: t.accountId };
  }

  async createAccount(input: { email: string; password: string; name?: string }): Promise<Account> {
    const { accounts } = this.#core;
    if (await accounts.findByEmail(input.email)) throw new RefusedError('an account with this email already exists');
    return accountView(await accounts.create({ email: input.email, password: input.password, name: input.name ?? null }, this.#ctx));
  }

  async listAccounts(filter: AccountFilter): Promise<Page<Account>> {
    // Newest first by id, as the admin API lists them: one more row than asked says a next page exists.
    const before = decodeCursor(filter.cursor, isIdCursor)?.before;
    const rows = await this.#core.accounts.list({
      limit: filter.limit + 1,
      ...(before !== undefined ? { beforeId: before } : {}),
      ...(filter.search ? { emailContains: filter.search } : {}),
      ...(filter.email !== undefined ? { email: filter.email } : {}),
      ...(filter.status !== undefined ? { status: filter.status } : {}),
    });
    const items = rows.slice(0, filter.limit);
    const last = items[items.length - 1];
    return { items: items.map(accountView), nextCursor: rows.length > filter.limit && last ? encodeCursor({ before: last.id }) : null };
  }

  async getAccount(id: number): Promise<Account> {
    return accountView(await this.#account(id));
  }

  async updateAccount(id: number, input: { name?: string | null; email?: string }): Promise<Account> {
    const updated = await this.#core.accounts.update(id, input, this.#ctx);
    if (updated === null) throw new NotFoundError(`account ${id} does not exist`);
    if (updated === 'email_taken') throw new RefusedError('another account has this email');
    return accountView(updated);
  }

  async setAccountStatus(id: number, status: 'active' | 'disabled'): Promise<Account & Change> {
    const before = await this.#account(id);
    const after = await this.#core.accounts.setStatus(id, status, this.#ctx);
    if (!after) throw new NotFoundError(`account ${id} does not exist`);
    return { ...accountView(after), changed: before.status !== status };
  }

  async deleteAccount(id: number): Promise<void> {
    if (!(await this.#core.accounts.delete(id, this.#ctx))) throw new NotFoundError(`account ${id} does not exist`);
  }

  async setPassword(id: number, password: string): Promise<void> {
    if (!(await this.#core.accounts.setPassword(id, password, this.#ctx))) throw new NotFoundError(`account ${id} does not exist`);
  }

  async resetLink(): Promise<{ url: string; expiresAt: number }> {
    // The link names the server's own address, which only a request to it knows.
    throw onlyOverHttp('account reset-link');
  }

  async createApp(accountId: number, name: string): Promise<App> {
    await this.#account(accountId);
    return appView(await this.#core.accounts.createApp({ accountId, name }, this.#ctx));
  }

  async listApps(accountId: number): Promise<App[]> {
    await this.#account(accountId);
    return (await this.#core.accounts.listApps(accountId)).map(appView);
  }

  async renameApp(appId: string, name: string): Promise<App> {
    const renamed = await this.#core.accounts.renameApp(appId, name, this.#ctx);
    if (!renamed) throw new NotFoundError(`app ${appId} does not exist`);
    return appView(renamed);
  }

  async deleteApp(appId: string): Promise<void> {
    if (!(await this.#core.accounts.deleteApp(appId, this.#ctx))) throw new NotFoundError(`app ${appId} does not exist`);
  }

  async createServiceAccount(accountId: number, input: { name: string; actions: string[] }): Promise<ServiceAccount> {
    await this.#account(accountId);
    const sa = await this.#core.serviceAccounts.create({ accountId, name: input.name, actions: input.actions }, this.#ctx);
    return this.#serviceAccountView(sa, []);
  }

  async listServiceAccounts(accountId: number): Promise<ServiceAccount[]> {
    await this.#account(accountId);
    const { serviceAccounts } = this.#core;
    const list = await serviceAccounts.listByAccount(accountId);
    const keys = await serviceAccounts.keysOf(list.map((sa) => sa.id));
    return list.map((sa) => this.#serviceAccountView(sa, keys.get(sa.id) ?? []));
  }

  async getServiceAccount(id: number): Promise<ServiceAccount> {
    return this.#serviceAccount(id);
  }

  async updateServiceAccount(id: number, input: { name?: string; actions?: string[] }): Promise<ServiceAccount> {
    if (!(await this.#core.serviceAccounts.update(id, input, this.#ctx))) throw new NotFoundError(`service account ${id} does not exist`);
    return this.#serviceAccount(id);
  }

  async setServiceAccountStatus(id: number, status: 'active' | 'disabled'): Promise<Change> {
    await this.#serviceAccount(id);
    const { serviceAccounts } = this.#core;
    const changed = status === 'disabled' ? await serviceAccounts.disable(id, this.#ctx) : await serviceAccounts.enable(id, this.#ctx);
    return { changed };
  }

  async createKey(serviceAccountId: number, expiresIn?: string): Promise<{ keyId: number; accessKey: string; secretKey: string; expiresAt: number | null }> {
    await this.#serviceAccount(serviceAccountId);
    const lifetime = expiresIn === undefined ? null : parseDuration(expiresIn, '--expires-in');
    const expiresAt = lifetime === null ? null : this.#core.clock.now() + lifetime;
    const { key, secretKey } = await this.#core.serviceAccounts.createKey({ serviceAccountId, expiresAt }, this.#ctx);
    return { keyId: key.id, accessKey: key.accessKey, secretKey, expiresAt: key.expiresAt };
  }

  async revokeKey(keyId: number, serviceAccountId?: number): Promise<Change> {
    const key: ServiceKeyModel | null = await this.#core.serviceAccounts.getKey(keyId);
    if (!key || (serviceAccountId !== undefined && key.serviceAccountId !== serviceAccountId)) {
      throw new NotFoundError(serviceAccountId === undefined ? `key ${keyId} does not exist` : `service account ${serviceAccountId} has no key ${keyId}`);
    }
    // As the admin API answers (409 not_active): revoking what is already revoked is refused, not repeated.
    if (!(await this.#core.serviceAccounts.revokeKey(keyId, this.#ctx))) throw new RefusedError(`key ${keyId} is already revoked`);
    return { changed: true };
  }

  async createApiToken(accountId: number, input: { format: 'v3' | 'l3' | 'native'; label?: string; expiresIn?: string }) {
    await this.#account(accountId);
    const lifetime = input.expiresIn === undefined ? null : parseDuration(input.expiresIn, '--expires-in');
    const expiresAt = lifetime === null ? null : this.#core.clock.now() + lifetime;
    const { token, apiToken } = await this.#core.apiTokens.create({ accountId, format: input.format, label: input.label ?? null, expiresAt }, this.#ctx);
    return { id: apiToken.id, token, format: apiToken.format, expiresAt: apiToken.expiresAt };
  }

  async listApiTokens(accountId: number, status?: string) {
    await this.#account(accountId);
    const now = this.#core.clock.now();
    const views = (await this.#core.apiTokens.listByAccount(accountId)).map((t) => this.#apiTokenView(t, now));
    return status === undefined ? views : views.filter((t) => t.status === status);
  }

  async getApiToken(id: string) {
    const token = await this.#core.apiTokens.get(id);
    if (!token) throw new NotFoundError(`API token ${id} does not exist`);
    return this.#apiTokenView(token, this.#core.clock.now());
  }

  async rotateApiToken(id: string, grace?: string) {
    const graceMs = grace === undefined ? 0 : parseDuration(grace, '--grace');
    const outcome = await this.#core.apiTokens.rotate(id, { graceMs }, this.#ctx);
    if (!outcome.ok) {
      if (outcome.code === 'not_found') throw new NotFoundError(`API token ${id} does not exist`);
      throw new RefusedError(`API token ${id} cannot be rotated: it is already revoked, replaced or expired`);
    }
    const { created, previous } = outcome;
    return {
      id: created.apiToken.id,
      token: created.token,
      format: created.apiToken.format,
      expiresAt: created.apiToken.expiresAt,
      previousId: previous.id,
      previousExpiresAt: graceMs > 0 ? previous.expiresAt : null,
    };
  }

  async revokeApiToken(id: string): Promise<Change> {
    const token = await this.#core.apiTokens.get(id);
    if (!token) throw new NotFoundError(`API token ${id} does not exist`);
    if (!(await this.#core.apiTokens.revoke(id, this.#ctx))) throw new RefusedError(`API token ${id} is already revoked`);
    return { changed: true };
  }

  async listSessions(accountId: number, page: { limit: number; cursor?: string }): Promise<Page<Session> & { total: number | null }> {
    await this.#account(accountId);
    const before = decodeCursor(page.cursor, isSessionCursor);
    const { items, total } = await this.#core.sessions.listActivePage(accountId, { limit: page.limit + 1, ...(before ? { before } : {}) });
    const shown = items.slice(0, page.limit);
    const last = shown[shown.length - 1];
    return {
      items: shown.map(sessionView),
      total,
      nextCursor: items.length > page.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  async revokeSession(id: string): Promise<Change> {
    const done = await this.#core.sessions.revoke(id, this.#ctx, 'revoked_by_operator');
    // core says false both for no such session and for one already ended: tell them apart here.
    if (!done) throw new NotFoundError(`session ${id} does not exist or has already ended`);
    return { changed: true };
  }

  async revokeAllSessions(accountId: number): Promise<number> {
    await this.#account(accountId);
    return this.#core.sessions.revokeAllOf(accountId, this.#ctx, 'revoked_by_operator');
  }

  async usage(input: { accountId?: number; days: number }): Promise<DayCount[]> {
    if (input.accountId === undefined) return this.#core.usage.instanceChecksPerDay(input.days);
    await this.#account(input.accountId);
    return this.#core.usage.checksPerDay(input.accountId, input.days);
  }

  // A shell on the tokend host with the database open is the operator: as the admin token, it manages operator keys.
  async createOperatorKey(input: { name: string; permissions: string[]; expiresIn?: string }): Promise<NewOperatorKey> {
    const lifetime = input.expiresIn === undefined ? null : parseDuration(input.expiresIn, '--expires-in');
    const expiresAt = lifetime === null ? null : this.#core.clock.now() + lifetime;
    const { operatorKey, key } = await this.#core.operatorKeys.create({ name: input.name, permissions: input.permissions, expiresAt }, this.#ctx);
    return { id: operatorKey.id, key, name: operatorKey.name, permissions: [...operatorKey.permissions], expiresAt: operatorKey.expiresAt };
  }

  async listOperatorKeys(): Promise<OperatorKey[]> {
    const now = this.#core.clock.now();
    return (await this.#core.operatorKeys.list()).map((k) => operatorKeyView(k, now));
  }

  async revokeOperatorKey(id: string): Promise<Change> {
    const before = await this.#core.operatorKeys.get(id);
    if (!before || !(await this.#core.operatorKeys.revoke(id, this.#ctx))) throw new NotFoundError(`operator key ${id} does not exist`);
    return { changed: before.revokedAt === null };
  }

  async #policySubject(kind: PolicyKind, id: string): Promise<SubjectRef> {
    const ref = await this.#core.policies.resolve(SUBJECT_KINDS[kind], id);
    if (!ref) throw new NotFoundError(`${kind} ${id} does not exist`);
    return ref;
  }

  #policyView(ref: SubjectRef, found: Awaited<ReturnType<Core['policies']['get']>>): Policy {
    if (!found) return { subject: ref.subject, accountId: ref.accountId, rules: { rateLimits: [], credits: null, ipAllowList: null, scopes: null, expiry: null }, creditsLeft: null, updatedAt: null };
    return { subject: found.subject, accountId: found.accountId, rules: found.rules, creditsLeft: found.creditsLeft, updatedAt: found.updatedAt };
  }

  async getPolicy(kind: PolicyKind, id: string): Promise<Policy> {
    const ref = await this.#policySubject(kind, id);
    return this.#policyView(ref, await this.#core.policies.get(ref));
  }

  async setPolicy(kind: PolicyKind, id: string, rules: Record<string, unknown>): Promise<Policy> {
    const ref = await this.#policySubject(kind, id);
    return this.#policyView(ref, await this.#core.policies.put(ref, rules, this.#ctx));
  }

  async removePolicy(kind: PolicyKind, id: string): Promise<Change> {
    const ref = await this.#policySubject(kind, id);
    return { changed: await this.#core.policies.remove(ref, this.#ctx) };
  }

  async rotateSigningKey() {
    // Said before anything is sealed: a key sealed under a master key the server does not have is useless to it.
    const warning = masterKeyWarning(resolveMasterKey(this.#core.config));
    if (warning) this.#note(`warning: ${warning}`);
    const { key, previous, deleted } = await this.#core.signing.rotate(this.#ctx);
    return { key: signingKeyView(key), previous: previous ? signingKeyView(previous) : null, deleted };
  }

  async listSigningKeys() {
    await this.#core.signing.ready();
    return (await this.#core.signing.list()).map(signingKeyView).reverse();
  }
}
