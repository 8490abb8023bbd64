/**
 * A client of the Invoicebox scheme: a long-lived organisation API token sent as
 * `Authorization: Bearer <token>`. Nothing to refresh: the owner rotates the token in the console,
 * the CLI or the admin API; `token` may be a function so a rotated token is picked up without a
 * restart (rotation can keep the old one valid for a grace period meanwhile).
 *
 * @example
 * ```ts
 * const client = new ApiTokenClient({ baseUrl: 'http://localhost:8080', token: process.env.API_TOKEN! });
 * const { userId } = await client.whoami();
 * ```
 */
import { InvalidTokenError, UnexpectedResponseError } from './errors.ts';
import { errorOfResponse, joinUrl, readJson, send, type FetchLike, type HttpOptions } from './http.ts';

export interface ApiTokenClientOptions extends HttpOptions {
  /** Where tokend serves `/v3/security/api/auth/auth`. */
  baseUrl: string;
  /** Where the protected API lives, for relative paths given to `fetch`; defaults to `baseUrl`. */
  apiUrl?: string;
  /** The API token (v3, l3 or native), or a function returning the current one. */
  token: string | (() => string | Promise<string>);
}

export interface ApiTokenIdentity {
  /** The account's UUID. */
  userId: string;
}

export class ApiTokenClient {
  readonly #baseUrl: string;
  readonly #apiUrl: string;
  readonly #token: ApiTokenClientOptions['token'];
  readonly #fetch: FetchLike;
  readonly #now: () => number;

  constructor(options: ApiTokenClientOptions) {
    this.#baseUrl = options.baseUrl;
    this.#apiUrl = options.apiUrl ?? options.baseUrl;
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? Date.now;
  }

  /** `fetch` with `Authorization: Bearer <token>`. Relative paths resolve against `apiUrl`. */
  async fetch(path: string | URL, init: RequestInit = {}): Promise<Response> {
    const token = typeof this.#token === 'function' ? await this.#token() : this.#token;
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return send(this.#fetch, joinUrl(this.#apiUrl, path), { ...init, headers });
  }

  /** Like {@link fetch}, for APIs answering in the Invoicebox envelope: returns `data` or throws a typed error. */
  async request<T = Record<string, unknown>>(path: string | URL, init?: RequestInit): Promise<T> {
    const response = await this.fetch(path, init);
    const body = await readJson(response);
    const b = body as { data?: unknown; error?: unknown } | undefined;
    if (response.ok && b && typeof b === 'object' && b.error === undefined && 'data' in b) return b.data as T;
    throw errorOfResponse('invoicebox', response, body, this.#now());
  }

  /** The auth check (`GET /v3/security/api/auth/auth`): whose token this is. */
  async whoami(): Promise<ApiTokenIdentity> {
    const data = await this.request<{ userId: string | null }>(joinUrl(this.#baseUrl, '/v3/security/api/auth/auth'));
    if (typeof data?.userId === 'string') return { userId: data.userId };
    // Only happens without an Authorization header, which this client always sends.
    if (data?.userId === null) throw new InvalidTokenError('unauthorized', { dialect: 'invoicebox', status: 200, message: 'no user for this token' });
    throw new UnexpectedResponseError(200, 'auth check without data.userId');
  }
}
