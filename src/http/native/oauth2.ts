/**
 * OAuth token introspection (RFC 7662) and revocation (RFC 7009) for every kind of token tokend
 * issues: `POST /oauth2/introspect`, `POST /oauth2/revoke`.
 *
 * Callers authenticate with the admin token or a resource-server credential (`tdx_…`), as
 * `Authorization: Bearer <credential>` or, for stock OAuth client libraries, HTTP Basic with the
 * resource server's id as user name and the credential as password (client_secret_basic). The
 * check runs on the headers alone (onRequest), before any body is read. Wrong credentials count
 * per client address towards the limit every credential endpoint shares (src/core/limits.ts,
 * CredentialGuard): past it, `too_many_attempts` (429, `Retry-After`) even for a right one.
 *
 * Errors under /oauth2/ use the RFC 6749 5.2 form `{"error":"<code>","error_description":"…"}`
 * that OAuth client libraries parse, with codes from NATIVE_CODES: `invalid_client` (401) and
 * `invalid_request` (400) as the RFCs name them, tokend's own codes for the rest (413, 415, 503…).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../core/callers.ts';
import { toUnixSeconds } from '../../core/clock.ts';
import type { Core } from '../../core/tokend.ts';
import { ALL_KINDS, type TokenIdentity } from '../../core/verification.ts';
import { clientAddress, sendWire, type HttpApp, type WireReply } from '../dialect.ts';
import { FAILURES, retryHeaders, type FailureKind, type GenericFailure } from '../failures.ts';
import { headerValue } from '../lang.ts';
import { ruleAsks, withPolicyHeaders } from '../policy-headers.ts';
import { guardRefusal, NATIVE_CODES, NATIVE_FAILURES, type NativeCode } from './envelope.ts';
import { introspectSchema, IntrospectionView, revokeSchema } from './schemas.ts';

/** The path prefix whose failures are rendered in the RFC 6749 form (src/http/app.ts). */
export const OAUTH_PREFIX = '/oauth2/';

export function oauthError(
  code: NativeCode,
  extra: { description?: string | undefined; retryAfterSeconds?: number | undefined; challenge?: string } = {},
): WireReply {
  const spec = NATIVE_CODES[code];
  const headers = retryHeaders(extra);
  if (extra.challenge) headers['www-authenticate'] = extra.challenge;
  return { status: spec.status, body: { error: code, error_description: extra.description ?? spec.en }, headers };
}

// RFC 6749 5.2: anything malformed about the request is `invalid_request`; the other framework
// failures keep the native codes.
const INVALID_REQUEST: ReadonlySet<FailureKind> = new Set(['malformed_body', 'validation', 'token_in_query']);

/** `invalid_request` is vague, so its description says which failure it was. */
export function oauthFailure(failure: GenericFailure, _lang: unknown, retryAfterSeconds?: number): WireReply {
  if (!INVALID_REQUEST.has(failure.kind)) return oauthError(NATIVE_FAILURES[failure.kind], { retryAfterSeconds });
  const description = failure.kind === 'validation' ? failure.fields.map((f) => `${f.name} ${f.message}`).join('; ') : FAILURES[failure.kind].en;
  return oauthError('invalid_request', { description, retryAfterSeconds });
}

const TokenBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 4096 }),
    // Accepted and ignored: tokend tells a token's kind from its shape (RFC 7662 2.1, RFC 7009 2.1).
    token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  },
  // The native API rejects unknown fields.
  { additionalProperties: false },
);
// Introspection also takes what the resource server's route needs (docs/policies.md).
const IntrospectBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 4096 }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
    scope: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:/-]{1,100}$', description: 'A scope the route requires: inactive (`scope_missing`) when the token lacks it.' })),
    cost: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,5})$', description: 'Credits this call costs (default: the rule\'s cost, 1).' })),
    include_reason: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: '`true`: an inactive answer says why (`reason`, and `retry_after` for limits).' })),
  },
  { additionalProperties: false },
);

const CHALLENGE = 'Bearer realm="tokend"';

/** The credential of `Authorization: Bearer <c>`, or of Basic `<resource server id>:<c>`. */
async function authenticateCaller(core: Core, request: FastifyRequest): Promise<Caller | null> {
  const raw = headerValue(request.headers.authorization)?.trim();
  if (!raw) return null;
  const bearer = /^bearer\s+(\S+)$/i.exec(raw);
  if (bearer) return core.callers.authenticate(bearer[1]!);
  const basic = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(raw);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  let user: string;
  let secret: string;
  try {
    // RFC 6749 2.3.1: both parts are form-urlencoded before base64.
    user = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  } catch {
    return null;
  }
  const caller = await core.callers.authenticate(secret);
  if (caller?.kind === 'resource_server' && caller.id !== user) return null;
  return caller;
}

/** RFC 7662 2.2: `active` first; only the members tokend knows for this kind of token. */
function introspection(identity: TokenIdentity): Static<typeof IntrospectionView> {
  const out: Static<typeof IntrospectionView> = {
    active: true,
    sub: identity.subject,
    scope: identity.scope,
  };
  if (identity.clientId !== null) out.client_id = identity.clientId;
  out.token_type = identity.kind === 'refresh' ? 'refresh_token' : 'Bearer';
  if (identity.expiresAt !== null) out.exp = toUnixSeconds(identity.expiresAt);
  if (identity.issuedAt !== null) out.iat = toUnixSeconds(identity.issuedAt);
  // Extensions (RFC 7662 2.2 allows them): which kind of tokend token, and the account's UUID.
  out.token_kind = identity.kind;
  if (identity.accountUid !== null) out.account_uid = identity.accountUid;
  return out;
}

export async function registerOauth(app: HttpApp, core: Core): Promise<void> {
  await app.register(async (scope: HttpApp) => {
    // RFC 7662/7009 bodies are forms; JSON is taken too. Plain text is neither: 415, not a guess.
    scope.removeContentTypeParser('text/plain');
    // Wrong credentials count per address towards the one limit the admin API and `/metrics`
    // share (CredentialGuard); past it, even a right credential gets 429 until the window ends.
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const offered = headerValue(request.headers.authorization) !== undefined;
      const checked = await core.credentialGuard.check(clientAddress(request), () => authenticateCaller(core, request), offered);
      if (checked.ok) return undefined;
      return sendWire(reply, guardRefusal(checked.retryAfterSeconds, oauthError('invalid_client', { challenge: CHALLENGE }), oauthError));
    });

    scope.post(
      '/oauth2/introspect',
      {
        schema: {
          ...introspectSchema,
          summary: 'RFC 7662 token introspection: any token tokend issues -> active, sub, scope, exp, iat, token_type, client_id',
          body: IntrospectBody,
        },
      },
      async (request, reply) => {
        const { token, scope, cost } = request.body;
        const check = await core.verification.check(token, { accept: ALL_KINDS, address: clientAddress(request), ...ruleAsks(scope, cost) });
        if (check.ok) return sendWire(reply, withPolicyHeaders({ status: 200, body: introspection(check.identity) }, check));
        // RFC 7662 2.2: an inactive token gets nothing but `active: false`, unless the caller (an
        // authenticated resource server) asks why.
        if (request.body.include_reason !== 'true') return sendWire(reply, { status: 200, body: { active: false } });
        const body: Static<typeof IntrospectionView> = { active: false, reason: check.reason };
        if (check.policy && 'retryAfterSeconds' in check.policy) body.retry_after = check.policy.retryAfterSeconds;
        return sendWire(reply, withPolicyHeaders({ status: 200, body }, check));
      },
    );

    scope.post(
      '/oauth2/revoke',
      {
        schema: {
          ...revokeSchema,
          summary: 'RFC 7009 revocation: ends the session of an access or refresh token, or the API token; 200 also for unknown tokens',
          body: TokenBody,
        },
      },
      async (request, reply) => {
        const { token } = request.body;
        await core.verification.revoke(token, { address: clientAddress(request) });
        // RFC 7009 2.2: 200 whether or not there was anything to revoke; the body is ignored.
        return reply.code(200).send();
      },
    );
  });
}
