/**
 * One verifier for every token a resource server may receive: JWTs (service-account access tokens)
 * locally through the JWKS, opaque tokens (ChatApp access tokens, API tokens) through introspection.
 *
 * @example
 * ```ts
 * const verifier = createVerifier({
 *   jwt: { jwksUrl: `${TOKEND}/.well-known/jwks.json`, issuer: TOKEND, audience: 'https://api.example' },
 *   introspection: { url: `${TOKEND}/oauth2/introspect`, credential: process.env.TOKEND_CREDENTIAL! },
 * });
 * const result = await verifier.verify(token);
 * ```
 */
import { createIntrospector, type IntrospectorOptions } from './introspect.ts';
import { createJwtVerifier, looksLikeJwt, type JwtVerifierOptions, type TokenVerifier } from './jwt.ts';
import { reject, type VerifyResult } from './result.ts';

export interface VerifierOptions {
  /** Verify JWTs locally. Without it, JWTs are introspected like any other token. */
  jwt?: JwtVerifierOptions;
  /** Verify opaque tokens through tokend. Without it, opaque tokens are rejected. */
  introspection?: IntrospectorOptions;
  /**
   * Also introspect JWTs that verified locally, so a revoked session is refused within the cache
   * time instead of at the token's expiry. Needs `introspection`. Default false.
   */
  checkRevocation?: boolean;
  /**
   * Which `token_type` values of introspection answers count as access. Default: anything but a
   * refresh token (a refresh token must never open an API).
   */
  acceptTokenType?: (tokenType: string | undefined) => boolean;
}

export interface Verifier {
  verify(token: string | null | undefined): Promise<VerifyResult>;
}

const MAX_TOKEN_LENGTH = 8192;

function notRefresh(tokenType: string | undefined): boolean {
  return tokenType === undefined || !/refresh/i.test(tokenType);
}

export function createVerifier(options: VerifierOptions): Verifier {
  if (!options.jwt && !options.introspection) throw new TypeError('createVerifier needs jwt or introspection options (or both)');
  if (options.checkRevocation && !options.introspection) throw new TypeError('checkRevocation needs introspection options');
  const verifyJwt: TokenVerifier | null = options.jwt ? createJwtVerifier(options.jwt) : null;
  const introspect: TokenVerifier | null = options.introspection ? createIntrospector(options.introspection) : null;
  const accept = options.acceptTokenType ?? notRefresh;

  async function viaIntrospection(token: string): Promise<VerifyResult> {
    if (!introspect) return reject('malformed', 'opaque tokens need introspection options');
    const result = await introspect(token);
    if (result.active && !accept(result.tokenType)) return reject('wrong_token_type', result.tokenType);
    return result;
  }

  return {
    async verify(token) {
      if (typeof token !== 'string' || token === '') return reject('missing');
      if (token.length > MAX_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) return reject('malformed');
      if (verifyJwt && looksLikeJwt(token)) {
        const local = await verifyJwt(token);
        if (!local.active || !options.checkRevocation) return local;
        const remote = await viaIntrospection(token);
        return remote.active ? local : remote;
      }
      return viaIntrospection(token);
    },
  };
}
