/**
 * OAuth token introspection (RFC 7662) and revocation (RFC 7009) for every kind of token tokend
 * issues (SPEC 5): `POST /oauth2/introspect`, `POST /oauth2/revoke`.
 *
 * Callers authenticate with the admin token or a resource-server credential (`tdx_…`), as
 * `Authorization: Bearer <credential>` or, for stock OAuth client libraries, HTTP Basic with the
 * resource server's id as user name and the credential as password (client_secret_basic). The
 * check runs on the headers alone (onRequest), before any body is read.
 *
 * Errors under /oauth2/ use the RFC 6749 5.2 form `{"error":"<code>","error_description":"…"}`
 * that OAuth client libraries parse, with codes from NATIVE_CODES: `invalid_client` (401) and
 * `invalid_request` (400) as the RFCs name them, tokend's own codes for the rest (413, 415, 503…).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../core/callers.ts';
import { toUnixSeconds } from '../../core/clock.ts';
import type { Core } from '../../core/tokend.ts';
import type { TokenIdentity } from '../../core/verifier.ts';
import { clientAddress, sendWire, type WireReply } from '../dialect.ts';
import type { GenericFailure } from '../failures.ts';
import { headerValue } from '../lang.ts';
import { NATIVE_CODES, type NativeCode } from './envelope.ts';
import { introspectSchema, revokeSchema } from './schemas.ts';

/** The path prefix whose failures are rendered in the RFC 6749 form (src/http/app.ts). */
export const OAUTH_PREFIX = '/oauth2/';

export function oauthError(
  code: NativeCode,
  extra: { description?: string; retryAfterSeconds?: number; challenge?: string } = {},
): WireReply {
  const spec = NATIVE_CODES[code];
  const headers: Record<string, string> = {};
  if (extra.retryAfterSeconds !== undefined) headers['retry-after'] = String(extra.retryAfterSeconds);
  if (extra.challenge) headers['www-authenticate'] = extra.challenge;
  return { status: spec.status, body: { error: code, error_description: extra.description ?? spec.en }, headers };
}

const FAILURE_CODES: Record<GenericFailure['kind'], NativeCode> = {
  // RFC 6749 5.2: anything malformed about the request is `invalid_request`.
  malformed_body: 'invalid_request',
  validation: 'invalid_request',
  token_in_query: 'invalid_request',
  payload_too_large: 'payload_too_large',
  headers_too_large: 'headers_too_large',
  request_timeout: 'request_timeout',
  unsupported_media_type: 'unsupported_media_type',
  not_found: 'not_found',
  unavailable: 'service_unavailable',
  internal: 'internal_error',
};

export function oauthFailure(failure: GenericFailure, _lang: unknown, retryAfterSeconds?: number): WireReply {
  let description: string | undefined;
  if (failure.kind === 'validation') description = failure.fields.map((f) => `${f.name} ${f.message}`).join('; ');
  if (failure.kind === 'token_in_query') description = NATIVE_CODES.token_in_query.en;
  if (failure.kind === 'malformed_body') description = NATIVE_CODES.bad_request.en;
  return oauthError(FAILURE_CODES[failure.kind], {
    ...(description ? { description } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}

const TokenBody = {
  type: 'object',
  required: ['token'],
  // SPEC 8: the native API rejects unknown fields.
  additionalProperties: false,
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 4096 },
    // Accepted and ignored: tokend tells a token's kind from its shape (RFC 7662 2.1, RFC 7009 2.1).
    token_type_hint: { type: 'string', maxLength: 64 },
  },
} as const;

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
function introspection(identity: TokenIdentity): Record<string, unknown> {
  const out: Record<string, unknown> = {
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

export async function registerOauth(app: FastifyInstance, core: Core): Promise<void> {
  await app.register(async (scope) => {
    // RFC 7662/7009 bodies are forms; JSON is taken too. Plain text is neither: 415, not a guess.
    scope.removeContentTypeParser('text/plain');
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const caller = await authenticateCaller(core, request);
      if (!caller) return sendWire(reply, oauthError('invalid_client', { challenge: CHALLENGE }));
    });

    scope.post(
      '/oauth2/introspect',
      {
        schema: {
          ...introspectSchema,
          summary: 'RFC 7662 token introspection: any token tokend issues -> active, sub, scope, exp, iat, token_type, client_id',
          body: TokenBody,
        },
      },
      async (request, reply) => {
        const { token } = request.body as { token: string };
        const check = await core.verifier.verify(token);
        // RFC 7662 2.2: an inactive token gets nothing but `active: false`, whatever the reason.
        return sendWire(reply, { status: 200, body: check.active ? introspection(check.identity) : { active: false } });
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
        const { token } = request.body as { token: string };
        await core.verifier.revoke(token, { address: clientAddress(request) });
        // RFC 7009 2.2: 200 whether or not there was anything to revoke; the body is ignored.
        return reply.code(200).send();
      },
    );
  });
}
