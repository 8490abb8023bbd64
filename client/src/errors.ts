/**
 * Typed errors. One base class with a stable `code`; subclasses carry the context a caller needs to
 * decide what to do next (when to retry, which fields were wrong).
 *
 * For an error the API sent, `code` is the wire code from tokend's docs/errors.md
 * (`ApiInvalidTokenError`, `access_token_expired`, `unauthorized`, …): codes are public API and never
 * change with the language of the message. Errors the SDK raises itself use `ERR_*` codes.
 *
 * @example
 * ```ts
 * try {
 *   await client.fetch('/v1/orders');
 * } catch (error) {
 *   if (error instanceof QuotaExceededError) scheduleRetry(error.retryAt);
 *   else if (error instanceof TokendError) log(error.code);
 *   else throw error;
 * }
 * ```
 */
import { API_ERROR_CODES, type ApiDialect, type ErrorKind } from './codes.ts';

export interface FieldError {
  name: string;
  code: string;
  message: string;
}

/** The base of every error the SDK throws. */
export class TokendError extends Error {
  /** Stable code: the wire code for API errors, `ERR_*` for the SDK's own. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export interface ApiErrorContext {
  dialect: ApiDialect;
  status: number;
  message: string;
  fields?: FieldError[];
  /** From `Retry-After`, when the API sent it. */
  retryAfterSeconds?: number;
  /** Clock used to turn `Retry-After` into `retryAt` (tests pass their own). */
  now?: number;
}

/** An error response of the API, in any of tokend's envelopes. */
export class ApiError extends TokendError {
  readonly dialect: ApiDialect;
  readonly status: number;
  readonly fields: readonly FieldError[];
  readonly retryAfterSeconds: number | undefined;
  /** When the request may be tried again (from `Retry-After`), if the API said so. */
  readonly retryAt: Date | undefined;

  constructor(code: string, context: ApiErrorContext) {
    super(code, context.message || code);
    this.dialect = context.dialect;
    this.status = context.status;
    this.fields = context.fields ?? [];
    this.retryAfterSeconds = context.retryAfterSeconds;
    this.retryAt = context.retryAfterSeconds === undefined ? undefined : new Date((context.now ?? Date.now()) + context.retryAfterSeconds * 1000);
  }
}

/** The access token is missing, malformed, expired, revoked or unknown (the clients refresh on it). */
export class InvalidTokenError extends ApiError {}

/** Wrong email/password, or wrong/expired/disabled service-account keys. Retrying will not help. */
export class InvalidCredentialsError extends ApiError {}

/** The refresh token cannot be used any more: the clients fall back to one new login. */
export class RefreshTokenRejectedError extends ApiError {}

/**
 * A limit that resets at a known time was reached: the daily `tokens.make` quota
 * (`ApiTokensLimitError`), too many failed logins, or a token's own rate limit or credits (the base class
 * itself). `retryAt` is always set.
 */
export class RateLimitError extends ApiError {
  declare readonly retryAt: Date;
  declare readonly retryAfterSeconds: number;

  constructor(code: string, context: ApiErrorContext) {
    // Without Retry-After the API still said "not now": a minute is the conservative reading.
    super(code, { ...context, retryAfterSeconds: context.retryAfterSeconds ?? 60 });
  }
}

/** `ApiTokensLimitError`: the daily quota of `tokens.make` (100 per email+appId) is spent until `retryAt`. */
export class QuotaExceededError extends RateLimitError {}

/** Too many failed attempts; try again at `retryAt`. */
export class TooManyAttemptsError extends RateLimitError {}

/** A field is missing or wrong; `fields` names each one. */
export class ValidationError extends ApiError {}

/** The request was well formed but the API refuses it (disabled account, missing permission). */
export class ForbiddenError extends ApiError {}

/** No such route or object (for example an unknown `appId`). */
export class NotFoundError extends ApiError {}

/** The API cannot serve now (database down, shutting down); `retryAt` says when to try again. */
export class ServiceUnavailableError extends ApiError {}

/** The request never got an answer (DNS, connection refused, reset, abort). */
export class NetworkError extends TokendError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NETWORK', message, options);
  }
}

/** The API answered something the SDK cannot read (not JSON, or not the documented envelope). */
export class UnexpectedResponseError extends TokendError {
  readonly status: number;
  constructor(status: number, message: string) {
    super('ERR_UNEXPECTED_RESPONSE', message);
    this.status = status;
  }
}

const CLASSES: Record<ErrorKind, new (code: string, context: ApiErrorContext) => ApiError> = {
  invalid_token: InvalidTokenError,
  invalid_credentials: InvalidCredentialsError,
  refresh_rejected: RefreshTokenRejectedError,
  quota: QuotaExceededError,
  rate_limited: RateLimitError,
  too_many_attempts: TooManyAttemptsError,
  validation: ValidationError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  unavailable: ServiceUnavailableError,
  other: ApiError,
};

/** Builds the typed error for a wire code; unknown codes fall back to their HTTP status class. */
export function apiError(code: string, context: ApiErrorContext): ApiError {
  const table = API_ERROR_CODES[context.dialect];
  const known = Object.hasOwn(table, code) ? table[code] : undefined;
  const kind: ErrorKind = known?.kind ?? kindOfStatus(context.status);
  return new CLASSES[kind](code, context);
}

function kindOfStatus(status: number): ErrorKind {
  if (status === 401) return 'invalid_token';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 400 || status === 422) return 'validation';
  if (status === 429) return 'too_many_attempts';
  if (status === 503) return 'unavailable';
  return 'other';
}
