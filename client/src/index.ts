/**
 * @tokend/client: clients that hold tokens the way the APIs ask (log in once, store, refresh on an
 * invalid-token answer, retry once), and token verification for resource servers.
 * The file store is Node-only and lives at `@tokend/client/file-store`.
 */
export { ApiTokenClient, type ApiTokenClientOptions, type ApiTokenIdentity } from './api-token.ts';
export { ChatAppClient, type ChatAppCheck, type ChatAppClientOptions, type ChatAppCredentials, type ChatAppTokens } from './chatapp.ts';
export { API_ERROR_CODES, type ApiDialect, type ApiErrorCode, type ErrorKind } from './codes.ts';
export {
  ApiError,
  apiError,
  ForbiddenError,
  InvalidCredentialsError,
  InvalidTokenError,
  NetworkError,
  NotFoundError,
  QuotaExceededError,
  RateLimitError,
  RefreshTokenRejectedError,
  ServiceUnavailableError,
  TokendError,
  TooManyAttemptsError,
  UnexpectedResponseError,
  ValidationError,
  type ApiErrorContext,
  type FieldError,
} from './errors.ts';
export { HosterClient, type HosterClientOptions, type HosterKeys, type HosterTokenInfo, type HosterTokens } from './hoster.ts';
export type { FetchLike, HttpOptions } from './http.ts';
export { RotatingSession, type SchemeAdapter } from './session.ts';
export { MemoryTokenStore, type TokenStore } from './store.ts';
export { createIntrospector, type IntrospectorOptions } from './verify/introspect.ts';
export { createJwtVerifier, looksLikeJwt, type JwtVerifierOptions, type TokenVerifier } from './verify/jwt.ts';
export { createRevocationListener, type RevocationClaims, type RevocationListener, type RevocationListenerOptions } from './verify/revocations.ts';
export { authenticate, extractToken, tokendExpress, tokendFastify, tokenOf, type ProtectOptions } from './verify/middleware.ts';
export type { ActiveToken, InactiveToken, RejectReason, VerifyResult } from './verify/result.ts';
export { createVerifier, type Verifier, type VerifierOptions } from './verify/verifier.ts';
