/**
 * `GET /auth/verify`: forward authentication for nginx `auth_request`, Traefik `forwardAuth`,
 * Caddy `forward_auth` and the like (examples/nginx/). The proxy passes the client's headers; tokend reads
 * the token from whichever dialect's header carries it and answers 200 with identity headers for
 * the proxy to pass upstream, or 401. No body to read, nothing written: a hash and a cache hit or
 * one indexed lookup (core.verification, the path every token check takes).
 *
 * Token headers, in order: `Authorization` (`Bearer <t>`, or the raw token as ChatApp sends it),
 * then `Access-Token` (hoster.by). Refresh tokens are not access credentials: 401. When
 * `X-User-Id` (hoster.by) is present it must match the token's user, or 401.
 */
import type { Core } from '../../core/tokend.ts';
import { ACCESS_KINDS, type CheckOutcome, type TokenIdentity } from '../../core/verification.ts';
import type { CheckLane, HeaderRequest } from '../check-lane.ts';
import type { HttpApp, WireReply } from '../dialect.ts';
import { headerValue } from '../lang.ts';
import { policyHeaders, ruleAsks, withPolicyHeaders } from '../policy-headers.ts';
import { nativeError } from './envelope.ts';
import { forwardAuthSchema } from './schemas.ts';

/** The identity headers a proxy copies to the upstream request. Public API (docs/errors.md, README). */
export const IDENTITY_HEADERS = {
  userId: 'x-tokend-user-id',
  scope: 'x-tokend-scope',
  kind: 'x-tokend-token-kind',
  accountUid: 'x-tokend-account-uid',
  clientId: 'x-tokend-client-id',
  expiresAt: 'x-tokend-expires-at',
} as const;

const CHALLENGE = 'Bearer realm="tokend"';
// Only printable ASCII goes into a header value (a record name must never break the response).
const HEADER_SAFE = /^[\x20-\x7e]*$/;

function tokenOf(headers: Record<string, string | string[] | undefined>): string | null {
  const authorization = headerValue(headers.authorization)?.trim();
  if (authorization) {
    const bearer = /^bearer\s+(\S+)$/i.exec(authorization);
    if (bearer) return bearer[1]!;
    // ChatApp sends the raw token; any other scheme (Basic, …) is not ours.
    return /\s/.test(authorization) ? null : authorization;
  }
  const accessToken = headerValue(headers['access-token'])?.trim();
  return accessToken ? accessToken : null;
}

function identityHeaders(identity: TokenIdentity): Record<string, string> {
  const out: Record<string, string> = {
    [IDENTITY_HEADERS.userId]: identity.subject,
    [IDENTITY_HEADERS.scope]: identity.scope,
    [IDENTITY_HEADERS.kind]: identity.kind,
  };
  if (identity.accountUid !== null) out[IDENTITY_HEADERS.accountUid] = identity.accountUid;
  if (identity.clientId !== null) out[IDENTITY_HEADERS.clientId] = identity.clientId;
  if (identity.expiresAt !== null) out[IDENTITY_HEADERS.expiresAt] = String(Math.floor(identity.expiresAt / 1000));
  for (const [k, v] of Object.entries(out)) if (!HEADER_SAFE.test(v)) delete out[k];
  return out;
}

export async function registerForwardAuth(app: HttpApp, core: Core, lane: CheckLane): Promise<void> {
  const unauthorized = nativeError('invalid_token');
  unauthorized.headers = { ...unauthorized.headers, 'www-authenticate': CHALLENGE };

  function answer(request: HeaderRequest, check: CheckOutcome): WireReply {
    if (!check.ok) {
      // A live token refused by one of its rules: the proxy passes 403/429 and the headers on.
      if (check.policy) return withPolicyHeaders(nativeError(check.policy.code), check);
      // Every other failure is the same 401: a proxy needs no more, and a client learns nothing.
      return unauthorized;
    }
    const userId = headerValue(request.headers['x-user-id'])?.trim();
    if (userId !== undefined && userId !== check.identity.subject) return unauthorized;
    // 200 without a body: the identity is in the headers, for the proxy to copy upstream.
    return { status: 200, body: undefined, headers: { ...identityHeaders(check.identity), ...policyHeaders(check) } };
  }

  // A check answered from the cache is answered in this turn, without a promise.
  lane.route(
    app,
    '/auth/verify',
    {
      ...forwardAuthSchema,
      summary: 'Forward-auth for reverse proxies: 200 with X-Tokend-User-Id, X-Tokend-Scope, X-Tokend-Token-Kind, … or 401',
    },
    (request) => {
      const token = tokenOf(request.headers);
      if (!token) return unauthorized;
      const check = core.verification.checkNow(token, {
        accept: ACCESS_KINDS,
        address: request.address,
        ...ruleAsks(headerValue(request.headers['x-tokend-required-scope']), headerValue(request.headers['x-tokend-cost'])),
      });
      return check instanceof Promise ? check.then((c) => answer(request, c)) : answer(request, check);
    },
  );
}
