/**
 * Local verification of tokend's service-account access tokens (hoster.by scheme): JWTs
 * signed with a key published at `/.well-known/jwks.json`. No call to tokend per request.
 *
 * Pinned, never taken from the token: the algorithms (EdDSA by default; `none` and HMAC can never
 * be configured, so "HS256 with the public key" has no key to verify with), the issuer, the
 * audience and the `typ` (`at+jwt`, RFC 9068). Headers that let a token name its own key (`jku`,
 * `x5u`, `jwk`, `x5c`) and `crit` are refused outright. The JWKS is cached and refetched when a token names an
 * unknown `kid` (a rotated-in key), at most once per cooldown so forged kids cannot hammer tokend.
 *
 * A locally verified JWT stays valid until it expires even if its session is revoked, unless the
 * verifier listens to tokend's revocation stream (`revocations`, createRevocationListener); tokend
 * keeps access tokens short for that reason too. Set `checkRevocation` on the verifier to also introspect.
 *
 * @example
 * ```ts
 * const verify = createJwtVerifier({
 *   jwksUrl: 'https://tokend.example/.well-known/jwks.json',
 *   issuer: 'https://tokend.example',
 *   audience: 'https://api.example',
 * });
 * const result = await verify(token);
 * if (result.active) console.log(result.sub, result.scope);
 * ```
 */
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { FetchLike } from '../http.ts';
import { reject, scopeList, type VerifyResult } from './result.ts';

const ALLOWED_ALGORITHMS = new Set(['EdDSA', 'Ed25519', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
// Headers that let a token pick its own key, and `crit` (extensions we do not implement).
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

export interface JwtVerifierOptions {
  /** tokend's `/.well-known/jwks.json`. */
  jwksUrl: string | URL;
  /** Expected `iss` (tokend's issuer setting). */
  issuer: string;
  /** Expected `aud`: one value, or any of several. */
  audience: string | string[];
  /** Accepted `alg` values; asymmetric only. Default `['EdDSA']`. */
  algorithms?: string[];
  /** Expected `typ` header. Default `at+jwt`. */
  typ?: string;
  /** Allowed clock skew for `exp`/`nbf`, in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /** Minimum time between two JWKS fetches triggered by unknown kids. Default 30 s. */
  cooldownMs?: number;
  /** How long a fetched JWKS is trusted without refetching. Default 10 min. */
  cacheMaxAgeMs?: number;
  /** JWKS fetch timeout. Default 5 s. */
  timeoutMs?: number;
  fetch?: FetchLike;
  /** Unix milliseconds; defaults to `Date.now`. */
  now?: () => number;
  /**
   * Revocations pushed by tokend (createRevocationListener): a token of a revoked session, key or
   * account is rejected (`revoked`) within about a second, not at its expiry.
   */
  revocations?: { isRevoked(claims: { sid?: unknown; client_id?: unknown; sub?: unknown }): boolean };
}

export type TokenVerifier = (token: string) => Promise<VerifyResult>;

/** True for a compact JWS (three base64url parts, a JSON header): such tokens are verified locally. */
export function looksLikeJwt(token: string): boolean {
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(token);
}

export function createJwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const algorithms = options.algorithms ?? ['EdDSA'];
  for (const alg of algorithms) {
    if (!ALLOWED_ALGORITHMS.has(alg)) throw new TypeError(`algorithm ${alg} is not allowed for access tokens (asymmetric only)`);
  }
  const typ = options.typ ?? 'at+jwt';
  const toleranceS = options.clockToleranceSeconds ?? 5;
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetch;
  const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
    ...(fetchImpl ? { [customFetch]: (url: string, init: RequestInit) => fetchImpl(url, init) } : {}),
  });

  return async function verifyJwt(token: string): Promise<VerifyResult> {
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>;
    } catch {
      return reject('malformed', 'undecodable header');
    }
    for (const name of FORBIDDEN_HEADERS) {
      if (name in header) return reject('forbidden_header', name);
    }
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) return reject('algorithm_not_allowed', String(header.alg));
    if (typeof header.kid !== 'string' || header.kid === '') return reject('unknown_key', 'no kid');
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        typ,
        clockTolerance: toleranceS,
        // Only with an injected clock: jose reads the system clock itself otherwise, without an allocation per token.
        ...(options.now ? { currentDate: new Date(now()) } : {}),
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
      });
      if (typeof payload.sub !== 'string' || payload.sub === '') return reject('claim_invalid', 'sub');
      if (payload.scope !== undefined && typeof payload.scope !== 'string') return reject('claim_invalid', 'scope');
      // jose checks iat only with maxTokenAge: a token "issued" in the future is not one tokend issued.
      if (typeof payload.iat === 'number' && payload.iat * 1000 > now() + toleranceS * 1000) return reject('not_yet_valid', 'iat');
      if (options.revocations?.isRevoked(payload)) return reject('revoked');
      return {
        active: true,
        source: 'jwt',
        sub: payload.sub,
        scope: scopeList(payload.scope),
        ...(payload.exp !== undefined ? { exp: payload.exp } : {}),
        ...(payload.iat !== undefined ? { iat: payload.iat } : {}),
        ...(typeof payload.client_id === 'string' ? { clientId: payload.client_id } : {}),
        tokenType: 'access_token',
        claims: { ...payload },
      };
    } catch (error) {
      return rejectionOf(error);
    }
  };
}

function rejectionOf(error: unknown): VerifyResult {
  if (error instanceof errors.JWTExpired) return reject('expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || (error.claim === 'iat' && error.reason === 'check_failed')) return reject('not_yet_valid', error.claim);
    if (error.claim === 'typ') return reject('wrong_token_type', 'typ');
    return reject('claim_invalid', error.claim);
  }
  if (error instanceof errors.JWKSNoMatchingKey) return reject('unknown_key');
  if (error instanceof errors.JWSSignatureVerificationFailed) return reject('invalid_signature');
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return reject('algorithm_not_allowed');
  if (error instanceof errors.JWKSTimeout) return reject('unavailable', 'JWKS timeout');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JWKSMultipleMatchingKeys) {
    return reject('malformed', (error as Error).message);
  }
  if (error instanceof errors.JWKSInvalid || error instanceof errors.JOSEError) return reject('unavailable', (error as Error).message);
  // fetch failures (connection refused, DNS) surface as TypeError or network errors.
  if (error instanceof TypeError || (error instanceof Error && /fetch|network|ECONN|status code/i.test(error.message))) {
    return reject('unavailable', error.message);
  }
  throw error;
}
