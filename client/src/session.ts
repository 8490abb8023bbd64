/**
 * The token lifecycle ChatApp's documentation asks every client for, shared by the ChatApp and hoster.by clients:
 *
 * 1. Log in once (`tokens.make` / create token) and save the pair.
 * 2. Call the API with the saved access token. Never log in "just in case" before a request, never
 *    refresh on a timer.
 * 3. When the API says the token is invalid, refresh once, save the new pair, retry once.
 * 4. When the refresh token itself is rejected, log in once more, then retry; never loop.
 *
 * Concurrency: every renewal (load, login, refresh) runs as one shared flight, so 100 requests that
 * hit an expired token at once cause exactly one refresh; requests that come back with a token
 * that has already been replaced simply retry with the new one.
 *
 * A login refused by a limit (`ApiTokensLimitError`, too many attempts) blocks further logins until
 * its `retryAt`: requests fail at once with the same error instead of calling the API again.
 */
import type { ApiDialect } from './codes.ts';
import { RateLimitError, RefreshTokenRejectedError, UnexpectedResponseError, type TokendError } from './errors.ts';
import { errorOfResponse, readJson, send, type FetchLike } from './http.ts';
import type { TokenStore } from './store.ts';

/** What differs between schemes: how to log in, refresh, attach and recognise a dead token. */
export interface SchemeAdapter<T extends { accessToken: string }> {
  readonly dialect: ApiDialect;
  /** Gets a brand new pair (counts against login quotas). */
  issue(): Promise<T>;
  /** Rotates the pair; throws {@link RefreshTokenRejectedError} when the refresh token is no good. */
  refresh(tokens: T): Promise<T>;
  /** Puts the access token on a request. */
  authorize(headers: Headers, tokens: T): void;
  /** The wire codes meaning "this access token is no good, renew it". */
  readonly invalidTokenCodes: ReadonlySet<string>;
  /** True when the client's own clock already knows the access token has expired. */
  isExpired?(tokens: T, nowMs: number): boolean;
  /** Guards against a store holding something else (another scheme, an old format). */
  isTokens(value: unknown): value is T;
}

export class RotatingSession<T extends { accessToken: string }> {
  readonly #adapter: SchemeAdapter<T>;
  readonly #store: TokenStore<T>;
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  #current: T | null = null;
  #flight: Promise<T> | null = null;
  #blocked: RateLimitError | null = null;

  constructor(adapter: SchemeAdapter<T>, store: TokenStore<T>, fetchImpl: FetchLike, now: () => number) {
    this.#adapter = adapter;
    this.#store = store;
    this.#fetch = fetchImpl;
    this.#now = now;
  }

  /** The current pair: from memory, else from the store, else from one login. */
  async tokens(): Promise<T> {
    if (this.#current) return this.#current;
    return this.#shared(async () => {
      const stored = await this.#store.load();
      if (stored !== null && this.#adapter.isTokens(stored)) {
        this.#current = stored;
        return stored;
      }
      return this.#issue();
    });
  }

  /**
   * A pair newer than `stale`. When another request already replaced `stale`, that pair is returned
   * without calling the API; otherwise one shared refresh runs (and one login if it is rejected).
   */
  async renew(stale: T): Promise<T> {
    if (this.#current && this.#current.accessToken !== stale.accessToken) return this.#current;
    return this.#shared(async () => {
      // The flight may start after another one finished: re-check before spending a refresh.
      const current = this.#current;
      if (current && current.accessToken !== stale.accessToken) return current;
      if (current) {
        try {
          return await this.#keep(await this.#adapter.refresh(current));
        } catch (error) {
          if (!(error instanceof RefreshTokenRejectedError)) throw error;
        }
        this.#current = null;
        await this.#store.clear();
      }
      return this.#issue();
    });
  }

  /** Forgets the pair here and in the store (the next request logs in). */
  async forget(): Promise<void> {
    this.#current = null;
    await this.#store.clear();
  }

  /**
   * Sends a request with the access token; on an invalid-token answer renews once and retries once.
   * The body must be replayable (a string, `URLSearchParams`, `FormData`, `Blob`, `ArrayBuffer`).
   */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    let tokens = await this.tokens();
    if (this.#adapter.isExpired?.(tokens, this.#now())) tokens = await this.renew(tokens);
    const first = await this.#attempt(url, init, tokens);
    if (!(await this.#saysInvalid(first))) return first;
    await first.body?.cancel();
    const fresh = await this.renew(tokens);
    const second = await this.#attempt(url, init, fresh);
    if (!(await this.#saysInvalid(second))) return second;
    // A pair just renewed is refused too: the API, not the pair, is the problem. Say so, do not loop.
    throw this.#errorOf(second, await readJson(second));
  }

  async #attempt(url: string, init: RequestInit, tokens: T): Promise<Response> {
    const headers = new Headers(init.headers);
    this.#adapter.authorize(headers, tokens);
    return send(this.#fetch, url, { ...init, headers });
  }

  async #saysInvalid(response: Response): Promise<boolean> {
    if (response.status !== 401) return false;
    const body = await readJson(response.clone());
    const error = errorOfResponse(this.#adapter.dialect, response, body, this.#now());
    return !(error instanceof UnexpectedResponseError) && this.#adapter.invalidTokenCodes.has(error.code);
  }

  #errorOf(response: Response, body: unknown): TokendError {
    return errorOfResponse(this.#adapter.dialect, response, body, this.#now());
  }

  async #issue(): Promise<T> {
    const blocked = this.#blocked;
    if (blocked && blocked.retryAt.getTime() > this.#now()) throw blocked;
    this.#blocked = null;
    try {
      return await this.#keep(await this.#adapter.issue());
    } catch (error) {
      if (error instanceof RateLimitError) this.#blocked = error;
      throw error;
    }
  }

  async #keep(tokens: T): Promise<T> {
    // In memory first: if saving fails the process still works with the pair it was just given.
    this.#current = tokens;
    await this.#store.save(tokens);
    return tokens;
  }

  #shared(run: () => Promise<T>): Promise<T> {
    if (this.#flight) return this.#flight;
    const flight = run().finally(() => {
      if (this.#flight === flight) this.#flight = null;
    });
    this.#flight = flight;
    return flight;
  }
}
