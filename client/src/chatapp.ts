/**
 * A client of the ChatApp token scheme (seed 000): `tokens.make` once, the raw access token in
 * `Authorization`, `tokens.refresh` only when the API answers `ApiInvalidTokenError`.
 *
 * @example
 * ```ts
 * const client = new ChatAppClient({
 *   baseUrl: 'http://localhost:8080',
 *   credentials: { email: 'me@example.com', password: process.env.PASSWORD!, appId: 'app_…' },
 *   store: new FileTokenStore('./tokens.json'),
 * });
 * const res = await client.fetch('/v1/tokens/check');
 * ```
 */
import { UnexpectedResponseError } from './errors.ts';
import { errorOfResponse, joinUrl, readJson, send, type FetchLike, type HttpOptions } from './http.ts';
import { RotatingSession, type SchemeAdapter } from './session.ts';
import { MemoryTokenStore, type TokenStore } from './store.ts';

/** What the client saves: the `data` of tokens.make / tokens.refresh. */
export interface ChatAppTokens {
  scheme: 'chatapp';
  cabinetUserId: number;
  accessToken: string;
  /** Unix seconds. */
  accessTokenEndTime: number;
  refreshToken: string;
  /** Unix seconds. */
  refreshTokenEndTime: number;
}

export interface ChatAppCredentials {
  email: string;
  password: string;
  appId: string;
}

export interface ChatAppCheck {
  cabinetUserId: number;
  appId: string;
  accessTokenEndTime: number;
}

export interface ChatAppClientOptions extends HttpOptions {
  /** Where tokend serves `/v1/tokens…`. */
  baseUrl: string;
  /** Where the protected API lives, for relative paths given to `fetch`; defaults to `baseUrl`. */
  apiUrl?: string;
  /** The personal-cabinet credentials; a function is only called when a login is needed. */
  credentials: ChatAppCredentials | (() => ChatAppCredentials | Promise<ChatAppCredentials>);
  /** Defaults to a {@link MemoryTokenStore}; use a persistent one so restarts do not log in again. */
  store?: TokenStore<ChatAppTokens>;
  /** `Lang` header for the language of error messages (codes never change). */
  lang?: 'en' | 'ru';
}

/** The ChatApp success envelope `{"success":true,"data":{…}}`. */
function dataOf(body: unknown): Record<string, unknown> | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as { success?: unknown; data?: unknown };
  return b.success === true && typeof b.data === 'object' && b.data !== null ? (b.data as Record<string, unknown>) : null;
}

function tokensOf(data: Record<string, unknown> | null, status: number): ChatAppTokens {
  const t = data as Partial<ChatAppTokens> | null;
  if (!t || typeof t.accessToken !== 'string' || typeof t.refreshToken !== 'string') {
    throw new UnexpectedResponseError(status, 'tokens response without accessToken/refreshToken');
  }
  return {
    scheme: 'chatapp',
    cabinetUserId: Number(t.cabinetUserId),
    accessToken: t.accessToken,
    accessTokenEndTime: Number(t.accessTokenEndTime),
    refreshToken: t.refreshToken,
    refreshTokenEndTime: Number(t.refreshTokenEndTime),
  };
}

export class ChatAppClient {
  readonly #session: RotatingSession<ChatAppTokens>;
  readonly #baseUrl: string;
  readonly #apiUrl: string;
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  readonly #lang: 'en' | 'ru' | undefined;

  constructor(options: ChatAppClientOptions) {
    this.#baseUrl = options.baseUrl;
    this.#apiUrl = options.apiUrl ?? options.baseUrl;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? Date.now;
    this.#lang = options.lang;
    const credentials = options.credentials;
    const adapter: SchemeAdapter<ChatAppTokens> = {
      dialect: 'chatapp',
      invalidTokenCodes: new Set(['ApiInvalidTokenError']),
      issue: async () => this.#make(typeof credentials === 'function' ? await credentials() : credentials),
      refresh: async (tokens) => this.#refresh(tokens),
      authorize(headers, tokens) {
        // Raw, as seed 000 documents it (tokend also takes `Bearer <t>`; other ChatApp servers may not).
        headers.set('authorization', tokens.accessToken);
      },
      isTokens: (value): value is ChatAppTokens =>
        typeof value === 'object' && value !== null && (value as ChatAppTokens).scheme === 'chatapp' &&
        typeof (value as ChatAppTokens).accessToken === 'string' && typeof (value as ChatAppTokens).refreshToken === 'string',
    };
    this.#session = new RotatingSession(adapter, options.store ?? new MemoryTokenStore(), this.#fetch, this.#now);
  }

  /**
   * `fetch` with the saved access token in `Authorization`; on `ApiInvalidTokenError` it refreshes
   * once (shared with concurrent requests) and retries once. Relative paths resolve against `apiUrl`.
   * Other answers, errors included, are returned as they are.
   */
  async fetch(path: string | URL, init?: RequestInit): Promise<Response> {
    return this.#session.fetch(joinUrl(this.#apiUrl, path), init);
  }

  /** Like {@link fetch}, for APIs answering in the ChatApp envelope: returns `data` or throws a typed error. */
  async request<T = Record<string, unknown>>(path: string | URL, init?: RequestInit): Promise<T> {
    const response = await this.fetch(path, init);
    const body = await readJson(response);
    const data = dataOf(body);
    if (response.ok && data) return data as T;
    throw errorOfResponse('chatapp', response, body, this.#now());
  }

  /** `tokens.check`: who the current access token belongs to and when it ends. */
  async check(): Promise<ChatAppCheck> {
    return this.request<ChatAppCheck>(joinUrl(this.#baseUrl, '/v1/tokens/check'));
  }

  /** The saved pair (logging in once if there is none). */
  async tokens(): Promise<ChatAppTokens> {
    return this.#session.tokens();
  }

  /** Forgets the saved pair; the next request logs in. */
  async forget(): Promise<void> {
    return this.#session.forget();
  }

  #headers(extra: Record<string, string>): Headers {
    const headers = new Headers(extra);
    if (this.#lang) headers.set('lang', this.#lang);
    return headers;
  }

  async #make(credentials: ChatAppCredentials): Promise<ChatAppTokens> {
    const response = await send(this.#fetch, joinUrl(this.#baseUrl, '/v1/tokens'), {
      method: 'POST',
      headers: this.#headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ email: credentials.email, password: credentials.password, appId: credentials.appId }),
    });
    const body = await readJson(response);
    if (!response.ok) throw errorOfResponse('chatapp', response, body, this.#now());
    return tokensOf(dataOf(body), response.status);
  }

  async #refresh(tokens: ChatAppTokens): Promise<ChatAppTokens> {
    const response = await send(this.#fetch, joinUrl(this.#baseUrl, '/v1/tokens/refresh'), {
      method: 'POST',
      headers: this.#headers({ refresh: tokens.refreshToken }),
    });
    const body = await readJson(response);
    // ApiInvalidRefreshTokenError / ApiRefreshTokenExpiredError become RefreshTokenRejectedError, the
    // only errors that lead to a new login: a 503 or a network failure must not spend make quota.
    if (!response.ok) throw errorOfResponse('chatapp', response, body, this.#now());
    return tokensOf(dataOf(body), response.status);
  }
}
