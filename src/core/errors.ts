/**
 * Failures (as opposed to expected outcomes, which are values). Every error tokend throws on
 * purpose extends TokendError and has a stable `code` (ERR_…): configuration, the master key,
 * signing keys, the store, input core refuses, CLI usage. src/http maps them to a status and a
 * dialect envelope in one place; the CLI to an exit code (src/main.ts).
 */
export class TokendError extends Error {
  readonly code: string = 'ERR_TOKEND';
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    // The subclass's own name in logs and stack traces, without each one setting it.
    this.name = new.target.name;
  }
}

/** The database cannot be reached or cannot take writes right now: 503 with Retry-After. */
export class StoreUnavailableError extends TokendError {
  override readonly code = 'ERR_STORE_UNAVAILABLE';
  constructor(cause: unknown) {
    super('the database is unavailable', { cause });
  }
}

/** A request that core rejects as malformed even though the wire layer let it through. */
export class InvalidInputError extends TokendError {
  override readonly code = 'ERR_INVALID_INPUT';
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}
