/**
 * Service-account access tokens as JWTs (RFC 9068 profile): minting and the one
 * verification every caller uses. Verification pins everything an attacker could choose: the
 * header may carry only `alg`, `typ` and `kid` (no `jku`, `x5u`, `jwk`, `x5c`, `crit`: a token
 * never tells us where to find its key); `typ` must be `at+jwt`; `kid` must name a published key of
 * the ring and `alg` must be that key's algorithm (so `none`, or HS256 "signed" with the public
 * key, never verifies); `iss` and `aud` must be ours; `exp`, `iat`, `jti`, `sub`, `scope` present;
 * `nbf`, when present, not in the future.
 *
 * A token whose claims no token of ours can have is refused before its signature is checked: the
 * Ed25519 verification (and the exception jose throws when it fails) is most of what a forged
 * token costs. The test is exact: it refuses only what jose refuses whatever the signature, and
 * before it would look at `exp` (so an expired token is still told apart only once its signature
 * holds): a payload that is not a JSON object in UTF-8, one without a required claim, or whose
 * `iss` or `aud` is not ours. Every token tokend signs passes it; a payload that passes still has
 * its signature and every claim verified as before.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../core/clock.ts';
import type { AccessTokenClaims } from '../core/ports.ts';
import { toUnixSeconds } from '../core/clock.ts';
import { MAX_TOKEN_LENGTH } from '../secrets/tokens.ts';
import type { KeyRing } from './key-ring.ts';

export const ACCESS_JWT_TYP = 'at+jwt';
const ALLOWED_HEADER = new Set(['alg', 'typ', 'kid']);
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Clock skew allowed for `iat` only (a token "issued" later than that is not ours). */
const IAT_SKEW_S = 60;
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'scope'];
/** jose decodes a claims set as strict UTF-8 and drops a leading byte-order mark; so does this. */
function hasBom(bytes: Uint8Array): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** JSON whitespace: space, tab, line feed, carriage return. */
function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * Whether UTF-8 text (a BOM aside) could be a JSON object: its first and last characters other
 * than whitespace are `{` and `}`. What fails this, JSON.parse refuses or makes no object of.
 */
function bracedObject(bytes: Uint8Array): boolean {
  let first = hasBom(bytes) ? 3 : 0;
  let last = bytes.length - 1;
  while (first <= last && isJsonSpace(bytes[first]!)) first++;
  while (last > first && isJsonSpace(bytes[last]!)) last--;
  return first < last && bytes[first] === 0x7b && bytes[last] === 0x7d;
}

/** What a minted token says: the claims core hands to its `AccessTokenSigner` port. */
export type AccessJwtInput = AccessTokenClaims;

export interface AccessJwtClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  jti: string;
  scope: string;
  client_id: string;
  nbf?: number;
}

export type AccessJwtCheck =
  | { ok: true; claims: AccessJwtClaims; kid: string }
  | { ok: false; code: 'invalid_token' | 'token_expired' };

export interface AccessJwtOptions {
  ring: KeyRing;
  clock: Clock;
  issuer: string;
  audience: string;
}

export class AccessJwt {
  readonly #o: AccessJwtOptions;

  constructor(options: AccessJwtOptions) {
    this.#o = options;
  }

  /** Signs with the ring's active key, making the ring ready first (call it outside any transaction). */
  async mint(input: AccessJwtInput): Promise<{ token: string; kid: string; jti: string }> {
    await this.#o.ring.ready();
    const signer = await this.#o.ring.signer();
    const jti = randomUUID();
    const token = await new SignJWT({ scope: input.scope, client_id: input.clientId, ...(input.sessionId ? { sid: input.sessionId } : {}) })
      .setProtectedHeader({ alg: signer.alg, typ: ACCESS_JWT_TYP, kid: signer.kid })
      .setIssuer(this.#o.issuer)
      .setSubject(input.subject)
      .setAudience(this.#o.audience)
      .setIssuedAt(toUnixSeconds(input.issuedAt))
      .setExpirationTime(toUnixSeconds(input.expiresAt))
      .setJti(jti)
      .sign(signer.key);
    return { token, kid: signer.kid, jti };
  }

  /** Signature and claims only; whether the token was revoked or replaced is the session's business. */
  async verify(token: string): Promise<AccessJwtCheck> {
    const invalid = { ok: false, code: 'invalid_token' } as const;
    if (token.length > MAX_TOKEN_LENGTH || !JWS_COMPACT.test(token)) return invalid;
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>;
    } catch {
      return invalid;
    }
    if (Object.keys(header).some((k) => !ALLOWED_HEADER.has(k))) return invalid;
    if (header.typ !== ACCESS_JWT_TYP || typeof header.kid !== 'string' || typeof header.alg !== 'string') return invalid;
    if (!this.#mayBeOurs(token)) return invalid;
    const key = await this.#o.ring.verificationKey(header.kid);
    if (!key || header.alg !== key.alg) return invalid;
    const now = this.#o.clock.now();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key.key, {
        algorithms: [key.alg],
        issuer: this.#o.issuer,
        audience: this.#o.audience,
        typ: ACCESS_JWT_TYP,
        requiredClaims: REQUIRED_CLAIMS,
        currentDate: new Date(now),
      }));
    } catch (error) {
      // jose checks the signature before the claims: an expired token here is one we signed.
      return error instanceof errors.JWTExpired ? { ok: false, code: 'token_expired' } : invalid;
    }
    const { sub, jti, scope, iat, exp, aud } = payload;
    if (typeof sub !== 'string' || !/^\d{1,15}$/.test(sub)) return invalid;
    if (typeof jti !== 'string' || typeof scope !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return invalid;
    if (iat > toUnixSeconds(now) + IAT_SKEW_S) return invalid;
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : '';
    const claims: AccessJwtClaims = {
      iss: this.#o.issuer,
      sub,
      aud: typeof aud === 'string' ? aud : this.#o.audience,
      exp,
      iat,
      jti,
      scope,
      client_id: clientId,
      ...(typeof payload.nbf === 'number' ? { nbf: payload.nbf } : {}),
    };
    return { ok: true, claims, kid: header.kid };
  }

  /**
   * False when jose would refuse the token's claims whatever its signature, before it reads `exp`
   * (the same checks, in its terms: a JSON object, the required claims present, `iss` ours, `aud`
   * ours or a list holding ours). Where jose cannot decode the payload it refuses anyway, and where
   * it can, Buffer decodes the same bytes.
   */
  #mayBeOurs(token: string): boolean {
    const start = token.indexOf('.') + 1;
    const bytes = Buffer.from(token.slice(start, token.indexOf('.', start)), 'base64url');
    // Garbage ends here without an exception (a thrown error is as dear as the rest of the test).
    if (!isUtf8(bytes) || !bracedObject(bytes)) return false;
    let claims: unknown;
    try {
      // Valid UTF-8 already: toString reads it as the strict decoder would, the BOM aside as it is.
      claims = JSON.parse(bytes.toString('utf8', hasBom(bytes) ? 3 : 0));
    } catch {
      return false;
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return false;
    for (const claim of REQUIRED_CLAIMS) if (!Object.hasOwn(claims, claim)) return false;
    const { iss, aud } = claims as { iss: unknown; aud: unknown };
    if (iss !== this.#o.issuer) return false;
    return typeof aud === 'string' ? aud === this.#o.audience : Array.isArray(aud) && aud.includes(this.#o.audience);
  }
}
