/**
 * The operator's commands over HTTP: the admin API of a running tokend (docs/admin-api.md), with
 * the admin token or an operator key as `Authorization: Bearer …`. Node's own fetch, nothing else:
 * the API is plain JSON, and a client library would add nothing but a dependency.
 *
 * The credential goes only into the Authorization header: never into a URL, a message or an error.
 */
import { FailedError, NotFoundError, RefusedError, UsageError } from './context.ts';
import { blame } from './blame.ts';
import type { Account, AccountFilter, ApiToken, App, Change, DayCount, NewApiToken, NewKey, NewOperatorKey, Operator, OperatorKey, Page, Policy, PolicyKind, RotatedApiToken, ServiceAccount, Session, SigningKey, SigningKeyRotation } from './operator.ts';
import type { ApiTokenFormat } from '../core/model.ts';

export interface HttpOperatorOptions {
  /** Base URL of the tokend, e.g. `https://tokend.internal:8080`. */
  url: string;
  /** The admin token (`tdm_…` or TOKEND_ADMIN_TOKEN's value) or an operator key (`tdp_…`). */
  token: string;
  /** Sent as `Idempotency-Key` on creating requests when given. */
  idempotencyKey?: string;
  /** How long one request may take before the command gives up (ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The native error envelope (docs/errors.md, "Native API"). */
interface ErrorEnvelope {
  error?: { code?: string; message?: string; fields?: { name?: string; code?: string; message?: string }[] };
}

const REFUSED_STATUS = new Set([401, 403, 409, 429]);

/**
 * The permission a route needs (docs/admin-api.md, "Routes"), to name it when an operator key
 * lacks it: the area is the most specific record in the path, the level read for GET.
 */
export function permissionOf(method: string, path: string): string {
  if (path.startsWith('/api/admin/operator-keys')) return 'admin';
  const area =
    ['apps', 'service-accounts', 'api-tokens', 'sessions', 'usage', 'signing-keys', 'accounts'].find((a) => path.includes(`/${a}`)) ?? 'accounts';
  return `${area === 'api-tokens' ? 'tokens' : area}:${method === 'GET' ? 'read' : 'write'}`;
}

/** Checks and normalises `--url`: an http(s) URL with neither credentials nor query. */
export function parseBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UsageError(`--url must be the address of a running tokend, such as http://127.0.0.1:8080; got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must start with http:// or https://; got ${JSON.stringify(url.protocol)}`);
  // A credential in the URL would end up in shell history and proxy logs: it belongs in TOKEND_ADMIN_TOKEN.
  if (url.username || url.password) throw new UsageError('--url must not carry a user or password: give the token with TOKEND_ADMIN_TOKEN or --token');
  if (url.search || url.hash) throw new UsageError('--url must not have a query or fragment');
  return url;
}

export class HttpOperator implements Operator {
  readonly mode = 'http';
  readonly #base: URL;
  readonly #token: string;
  readonly #idempotencyKey: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: HttpOperatorOptions) {
    this.#base = parseBaseUrl(options.url);
    this.#token = options.token;
    this.#idempotencyKey = options.idempotencyKey;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Where requests go, for the note on stderr. */
  get origin(): string {
    return this.#base.origin + this.#base.pathname.replace(/\/+$/, '');
  }

  /**
   * One admin API call. `what` names the record for a 404 ("account 7"); a body is sent as JSON;
   * `creates` marks a creating POST (Idempotency-Key).
   */
  async #call<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Record<string, string | number | undefined>; what?: string; creates?: boolean } = {},
  ): Promise<T> {
    const url = new URL(this.origin + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.creates && this.#idempotencyKey !== undefined) headers['idempotency-key'] = this.#idempotencyKey;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const cause = error as Error & { cause?: { code?: string; message?: string } };
      const reason = cause.name === 'TimeoutError' ? `no answer within ${this.#timeoutMs / 1000} s` : (cause.cause?.code ?? cause.cause?.message ?? cause.message);
      throw new FailedError(`cannot reach tokend at ${this.origin} (${reason})`, { cause: error });
    }
    const text = await res.text();
    let body: unknown = null;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    if (res.ok) {
      if (body === null && text !== '') throw new FailedError(`${this.origin} answered ${method} ${path} with something other than JSON: is --url the address of a tokend?`);
      return body as T;
    }
    throw this.#failure(res, body, options.what, permissionOf(method, path));
  }

  #failure(res: Response, body: unknown, what: string | undefined, permission: string | undefined): Error {
    const envelope = (body ?? {}) as ErrorEnvelope;
    const code = envelope.error?.code;
    const message = envelope.error?.message;
    const tail = code ? ` (${code}, HTTP ${res.status})` : ` (HTTP ${res.status})`;
    if (res.status === 400 || res.status === 422) {
      const fields = envelope.error?.fields ?? [];
      // A taken email or appId is a conflict, as on the database (src/cli/local-operator.ts, translateCoreError).
      const taken = fields.find((f) => /already exists|is taken/.test(f.message ?? ''));
      if (taken) return new RefusedError(`${taken.message}${tail}`);
      const detail = fields.length ? fields.map((f) => blame(f.name ?? 'input', f.message ?? f.code ?? 'is invalid')).join('; ') : (message ?? 'the request was refused as malformed');
      return new UsageError(`${detail}${tail}`);
    }
    if (res.status === 404) {
      // A route that is not there (an older tokend) is not a missing record.
      if (code === 'not_found' && what) return new NotFoundError(`${what} does not exist`);
      return new NotFoundError(`${message ?? 'not found'}${tail}`);
    }
    if (REFUSED_STATUS.has(res.status)) {
      if (res.status === 401) return new RefusedError(`tokend at ${this.origin} did not accept the token: give the admin token or an operator key (TOKEND_ADMIN_TOKEN or --token)${tail}`);
      if (res.status === 403 && code === 'permission_denied' && permission) {
        return new RefusedError(`${permission === 'admin' ? 'only the admin token may do this, not an operator key' : `this operator key lacks the permission ${permission}`}${tail}`);
      }
      if (res.status === 403) return new RefusedError(`${message ?? 'the operator key lacks the permission this needs'}${tail}`);
      if (res.status === 429) {
        const after = res.headers.get('retry-after');
        return new RefusedError(`${message ?? 'too many attempts'}${after ? `; try again in ${after} s` : ''}${tail}`);
      }
      if (code === 'not_active' && what) return new RefusedError(`${what} is no longer active: already revoked, replaced or expired${tail}`);
      return new RefusedError(`${message ?? 'refused'}${tail}`);
    }
    return new FailedError(`${message ?? `tokend at ${this.origin} failed`}${tail}`);
  }

  /** Every item of a paged admin list (`{items, nextCursor}`), page after page. */
  async #all<T>(path: string, what: string, query: Record<string, string | undefined> = {}): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.#call<{ items: T[]; nextCursor?: string | null }>('GET', path, { query: { ...query, limit: 500, cursor }, what });
      items.push(...page.items);
      if (!page.nextCursor) return items;
      cursor = page.nextCursor;
    }
  }

  // --- accounts ------------------------------------------------------------------------------

  createAccount(input: { email: string; password: string; name?: string }): Promise<Account> {
    return this.#call('POST', '/api/admin/accounts', { body: input, creates: true });
  }

  async listAccounts(filter: AccountFilter): Promise<Page<Account>> {
    const page = await this.#call<Page<Account>>('GET', '/api/admin/accounts', {
      query: { email: filter.email, status: filter.status, q: filter.search, limit: filter.limit, cursor: filter.cursor },
    });
    return { items: page.items, nextCursor: page.nextCursor ?? null };
  }

  getAccount(id: number): Promise<Account> {
    return this.#call('GET', `/api/admin/accounts/${id}`, { what: `account ${id}` });
  }

  updateAccount(id: number, input: { name?: string | null; email?: string }): Promise<Account> {
    return this.#call('PATCH', `/api/admin/accounts/${id}`, { body: input, what: `account ${id}` });
  }

  async setAccountStatus(id: number, status: 'active' | 'disabled'): Promise<Account & Change> {
    const account = await this.#call<Account>('POST', `/api/admin/accounts/${id}/${status === 'disabled' ? 'disable' : 'enable'}`, { body: {}, what: `account ${id}` });
    return { ...account, changed: null };
  }

  async deleteAccount(id: number): Promise<void> {
    await this.#call('DELETE', `/api/admin/accounts/${id}`, { what: `account ${id}` });
  }

  async setPassword(id: number, password: string): Promise<void> {
    await this.#call('PUT', `/api/admin/accounts/${id}/password`, { body: { password }, what: `account ${id}` });
  }

  resetLink(id: number, expiresIn?: string): Promise<{ url: string; expiresAt: number }> {
    return this.#call('POST', `/api/admin/accounts/${id}/password-reset`, { body: expiresIn === undefined ? {} : { expiresIn }, what: `account ${id}` });
  }

  // --- apps ----------------------------------------------------------------------------------

  createApp(accountId: number, name: string): Promise<App> {
    return this.#call('POST', `/api/admin/accounts/${accountId}/apps`, { body: { name }, what: `account ${accountId}`, creates: true });
  }

  async listApps(accountId: number): Promise<App[]> {
    return this.#all<App>(`/api/admin/accounts/${accountId}/apps`, `account ${accountId}`);
  }

  renameApp(appId: string, name: string): Promise<App> {
    return this.#call('PATCH', `/api/admin/apps/${encodeURIComponent(appId)}`, { body: { name }, what: `app ${appId}` });
  }

  async deleteApp(appId: string): Promise<void> {
    await this.#call('DELETE', `/api/admin/apps/${encodeURIComponent(appId)}`, { what: `app ${appId}` });
  }

  // --- service accounts and keys ------------------------------------------------------------------

  createServiceAccount(accountId: number, input: { name: string; actions: string[] }): Promise<ServiceAccount> {
    return this.#call('POST', `/api/admin/accounts/${accountId}/service-accounts`, { body: input, what: `account ${accountId}`, creates: true });
  }

  async listServiceAccounts(accountId: number): Promise<ServiceAccount[]> {
    return this.#all<ServiceAccount>(`/api/admin/accounts/${accountId}/service-accounts`, `account ${accountId}`);
  }

  getServiceAccount(id: number): Promise<ServiceAccount> {
    return this.#call('GET', `/api/admin/service-accounts/${id}`, { what: `service account ${id}` });
  }

  updateServiceAccount(id: number, input: { name?: string; actions?: string[] }): Promise<ServiceAccount> {
    return this.#call('PATCH', `/api/admin/service-accounts/${id}`, { body: input, what: `service account ${id}` });
  }

  async setServiceAccountStatus(id: number, status: 'active' | 'disabled'): Promise<Change> {
    await this.#call('POST', `/api/admin/service-accounts/${id}/${status === 'disabled' ? 'disable' : 'enable'}`, { body: {}, what: `service account ${id}` });
    return { changed: null };
  }

  async createKey(serviceAccountId: number, expiresIn?: string): Promise<NewKey> {
    const created = await this.#call<NewKey>('POST', `/api/admin/service-accounts/${serviceAccountId}/keys`, {
      body: expiresIn === undefined ? {} : { expiresIn },
      what: `service account ${serviceAccountId}`,
      creates: true,
    });
    return { keyId: created.keyId, accessKey: created.accessKey, secretKey: created.secretKey, expiresAt: created.expiresAt ?? null };
  }

  async revokeKey(keyId: number, serviceAccountId?: number): Promise<Change> {
    // The admin API addresses a key under its service account; without it there is no route to call.
    if (serviceAccountId === undefined) throw new UsageError('key revoke over HTTP needs --service-account ID (the service account the key belongs to; `tokend key list` shows both)');
    await this.#call('POST', `/api/admin/service-accounts/${serviceAccountId}/keys/${keyId}/revoke`, { body: {}, what: `key ${keyId} of service account ${serviceAccountId}` });
    return { changed: null };
  }

  // --- API tokens ----------------------------------------------------------------------------

  async createApiToken(accountId: number, input: { format: ApiTokenFormat; label?: string; expiresIn?: string }): Promise<NewApiToken> {
    const created = await this.#call<NewApiToken>('POST', `/api/admin/accounts/${accountId}/api-tokens`, { body: input, what: `account ${accountId}`, creates: true });
    return { id: created.id, token: created.token, format: created.format, expiresAt: created.expiresAt ?? null };
  }

  async listApiTokens(accountId: number, status?: string): Promise<ApiToken[]> {
    return this.#all<ApiToken>(`/api/admin/accounts/${accountId}/api-tokens`, `account ${accountId}`, { status });
  }

  getApiToken(id: string): Promise<ApiToken> {
    return this.#call('GET', `/api/admin/api-tokens/${encodeURIComponent(id)}`, { what: `API token ${id}` });
  }

  async rotateApiToken(id: string, grace?: string): Promise<RotatedApiToken> {
    const rotated = await this.#call<NewApiToken & { previous?: { id?: string; expiresAt?: number | null } }>('POST', `/api/admin/api-tokens/${encodeURIComponent(id)}/rotate`, {
      body: grace === undefined ? {} : { grace },
      what: `API token ${id}`,
    });
    return {
      id: rotated.id,
      token: rotated.token,
      format: rotated.format,
      expiresAt: rotated.expiresAt ?? null,
      previousId: rotated.previous?.id ?? id,
      previousExpiresAt: grace !== undefined ? (rotated.previous?.expiresAt ?? null) : null,
    };
  }

  async revokeApiToken(id: string): Promise<Change> {
    await this.#call('POST', `/api/admin/api-tokens/${encodeURIComponent(id)}/revoke`, { body: {}, what: `API token ${id}` });
    return { changed: null };
  }

  // --- policies ----------------------------------------------------------------------------------

  async getPolicy(kind: PolicyKind, id: string): Promise<Policy> {
    return this.#call('GET', `/api/admin/${kind}s/${encodeURIComponent(id)}/policy`, { what: `${kind} ${id}` });
  }

  async setPolicy(kind: PolicyKind, id: string, rules: Record<string, unknown>): Promise<Policy> {
    return this.#call('PUT', `/api/admin/${kind}s/${encodeURIComponent(id)}/policy`, { body: rules, what: `${kind} ${id}` });
  }

  async removePolicy(kind: PolicyKind, id: string): Promise<Change> {
    const { removed } = await this.#call<{ removed: boolean }>('DELETE', `/api/admin/${kind}s/${encodeURIComponent(id)}/policy`, { what: `${kind} ${id}` });
    return { changed: removed };
  }

  // --- sessions, usage ---------------------------------------------------------------------------

  async listSessions(accountId: number, page: { limit: number; cursor?: string }): Promise<Page<Session> & { total: number | null }> {
    const answer = await this.#call<Page<Session> & { total?: number }>('GET', `/api/admin/accounts/${accountId}/sessions`, {
      query: { limit: page.limit, cursor: page.cursor },
      what: `account ${accountId}`,
    });
    return { items: answer.items, nextCursor: answer.nextCursor ?? null, total: answer.total ?? null };
  }

  async revokeSession(id: string): Promise<Change> {
    await this.#call('POST', `/api/admin/sessions/${encodeURIComponent(id)}/revoke`, { body: {}, what: `session ${id}` });
    return { changed: null };
  }

  async revokeAllSessions(accountId: number): Promise<number> {
    return (await this.#call<{ revoked: number }>('POST', `/api/admin/accounts/${accountId}/sessions/revoke-all`, { body: {}, what: `account ${accountId}` })).revoked;
  }

  async usage(input: { accountId?: number; days: number }): Promise<DayCount[]> {
    const path = input.accountId === undefined ? '/api/admin/usage' : `/api/admin/accounts/${input.accountId}/usage`;
    const answer = await this.#call<{ items?: DayCount[]; days?: DayCount[]; checks?: DayCount[] }>('GET', path, {
      query: { days: input.days },
      ...(input.accountId !== undefined ? { what: `account ${input.accountId}` } : {}),
    });
    return (answer.items ?? answer.days ?? answer.checks ?? []).map((d) => ({ day: d.day, count: d.count }));
  }

  // --- operator keys, signing keys ---------------------------------------------------------------

  createOperatorKey(input: { name: string; permissions: string[]; expiresIn?: string }): Promise<NewOperatorKey> {
    return this.#call('POST', '/api/admin/operator-keys', { body: input, creates: true });
  }

  async listOperatorKeys(): Promise<OperatorKey[]> {
    const { items } = await this.#call<{ items: Partial<OperatorKey>[] }>('GET', '/api/admin/operator-keys');
    return items.map((k) => ({
      id: String(k.id),
      name: k.name ?? '',
      permissions: k.permissions ?? [],
      hint: k.hint ?? null,
      createdAt: k.createdAt ?? null,
      expiresAt: k.expiresAt ?? null,
      lastUsedAt: k.lastUsedAt ?? null,
      revokedAt: k.revokedAt ?? null,
      status: k.status ?? (k.revokedAt ? 'revoked' : 'active'),
    }));
  }

  async revokeOperatorKey(id: string): Promise<Change> {
    await this.#call('POST', `/api/admin/operator-keys/${encodeURIComponent(id)}/revoke`, { body: {}, what: `operator key ${id}` });
    return { changed: null };
  }

  rotateSigningKey(): Promise<SigningKeyRotation> {
    return this.#call('POST', '/api/admin/signing-keys/rotate', { body: {} });
  }

  async listSigningKeys(): Promise<SigningKey[]> {
    return (await this.#call<{ items: SigningKey[] }>('GET', '/api/admin/signing-keys')).items;
  }
}
