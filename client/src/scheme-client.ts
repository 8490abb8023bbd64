/**
 * What the ChatApp and hoster.by clients share: where tokend and the API live, the rotating session
 * (src/session.ts), `fetch` with the token attached, `request` that unwraps the scheme's success
 * envelope or throws a typed error, and the one way a token call (login, refresh) is made and read.
 * A scheme supplies its adapter, its envelope and how a token response becomes its saved pair.
 */
import { errorOfResponse, joinUrl, readJson, send, type FetchLike, type HttpOptions } from './http.ts';
import { RotatingSession, type SchemeAdapter } from './session.ts';
import { MemoryTokenStore, type TokenStore } from './store.ts';

export interface SchemeClientOptions<T> extends HttpOptions {
  /** Where tokend serves the scheme's token endpoints. */
  baseUrl: string;
  /** Where the protected API lives, for relative paths given to `fetch`; defaults to `baseUrl`. */
  apiUrl?: string;
  /** Defaults to a {@link MemoryTokenStore}; use a persistent one so restarts do not log in again. */
  store?: TokenStore<T>;
}

/**
 * A scheme as the shared client sees it: its success envelope, its saved pair in a token response,
 * and the rules of its session (how a token is attached, which codes mean "renew it").
 */
export interface Scheme<T extends { accessToken: string }> extends Omit<SchemeAdapter<T>, 'issue' | 'refresh'> {
  /** The success envelope's content (`data`, `payload`), or null when the body is not a success. */
  unwrap(body: unknown): Record<string, unknown> | null;
  /** The saved pair from a token response's content; throws UnexpectedResponseError when it has none. */
  tokensOf(content: Record<string, unknown> | null, status: number): T;
}

export abstract class SchemeClient<T extends { accessToken: string }> {
  protected readonly baseUrl: string;
  protected readonly now: () => number;
  readonly #apiUrl: string;
  readonly #fetch: FetchLike;
  readonly #scheme: Scheme<T>;
  readonly #session: RotatingSession<T>;

  protected constructor(options: SchemeClientOptions<T>, scheme: Scheme<T>) {
    this.baseUrl = options.baseUrl;
    this.#apiUrl = options.apiUrl ?? options.baseUrl;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = options.now ?? Date.now;
    this.#scheme = scheme;
    const adapter: SchemeAdapter<T> = { ...scheme, issue: () => this.issue(), refresh: (tokens) => this.renew(tokens) };
    this.#session = new RotatingSession(adapter, options.store ?? new MemoryTokenStore(), this.#fetch, this.now);
  }

  /** Gets a brand new pair (a login: counts against its quota). */
  protected abstract issue(): Promise<T>;

  /** Rotates the pair; a rejected refresh token must end in RefreshTokenRejectedError (see tokenCall). */
  protected abstract renew(tokens: T): Promise<T>;

  /**
   * `fetch` with the saved access token attached; when the API answers that the token is no good
   * (or the client already knows it expired), it renews once, shared with concurrent requests, and
   * retries once. Relative paths resolve against `apiUrl`. Other answers are returned as they are.
   */
  async fetch(path: string | URL, init?: RequestInit): Promise<Response> {
    return this.#session.fetch(joinUrl(this.#apiUrl, path), init);
  }

  /** Like {@link fetch}, for APIs answering in the scheme's envelope: returns its content or throws a typed error. */
  async request<R = Record<string, unknown>>(path: string | URL, init?: RequestInit): Promise<R> {
    const response = await this.fetch(path, init);
    const body = await readJson(response);
    const content = this.#scheme.unwrap(body);
    if (response.ok && content) return content as R;
    throw errorOfResponse(this.#scheme.dialect, response, body, this.now());
  }

  /** The saved pair (logging in once if there is none). */
  async tokens(): Promise<T> {
    return this.#session.tokens();
  }

  /** Forgets the saved pair; the next request logs in. */
  async forget(): Promise<void> {
    return this.#session.forget();
  }

  /**
   * A token call (login, refresh) to tokend: its pair, or the typed error of its answer. A rejected
   * refresh token becomes RefreshTokenRejectedError, the only error that leads to a new login: a
   * 503 or a network failure must not spend a login quota.
   */
  protected async tokenCall(path: string, init: RequestInit): Promise<T> {
    const response = await send(this.#fetch, joinUrl(this.baseUrl, path), init);
    const body = await readJson(response);
    if (!response.ok) throw errorOfResponse(this.#scheme.dialect, response, body, this.now());
    return this.#scheme.tokensOf(this.#scheme.unwrap(body), response.status);
  }
}
