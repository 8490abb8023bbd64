/**
 * Where a client keeps its tokens between requests and between restarts. ChatApp's documentation: "the tokens must
 * be saved on the application side". A store holds one identity's tokens; give each client its own.
 *
 * Implementations: {@link MemoryTokenStore} (tests, short-lived scripts, browsers), `FileTokenStore`
 * from `@tokend/client/file-store` (Node; atomic writes), or your own (a database row, Redis,
 * localStorage, a secrets manager).
 *
 * @example
 * ```ts
 * const store: TokenStore<ChatAppTokens> = {
 *   load: async () => JSON.parse((await redis.get('tokens')) ?? 'null'),
 *   save: async (tokens) => void (await redis.set('tokens', JSON.stringify(tokens))),
 *   clear: async () => void (await redis.del('tokens')),
 * };
 * ```
 */
export interface TokenStore<T> {
  /** The saved tokens, or null when there are none (the client then logs in once). */
  load(): Promise<T | null> | T | null;
  /** Replaces the saved tokens. Must not resolve before they are durable: a lost pair costs a login. */
  save(tokens: T): Promise<void> | void;
  /** Forgets the saved tokens (they were rejected for good). */
  clear(): Promise<void> | void;
}

/** Keeps tokens in memory: lost when the process ends. */
export class MemoryTokenStore<T> implements TokenStore<T> {
  #tokens: T | null;

  constructor(initial: T | null = null) {
    this.#tokens = initial;
  }

  load(): T | null {
    return this.#tokens;
  }

  save(tokens: T): void {
    this.#tokens = tokens;
  }

  clear(): void {
    this.#tokens = null;
  }
}
