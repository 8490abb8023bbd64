/**
 * Response schemas of tokend's own token endpoints: JWKS, introspection, revocation and
 * forward-auth. They drive the OpenAPI document and serialize responses, so every status each
 * route can send is declared with every property it carries; the objects tokend may extend later
 * (RFC 7662 answers, JWKs) keep `additionalProperties: true`, which fast-json-stringify passes
 * through instead of dropping. test/openapi.test.ts checks real responses against them.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { FieldErrorView } from './console-schemas.ts';
import { NATIVE_CODES, type NativeCode } from './envelope.ts';

/** Made once per list of codes and description: hundreds of routes share a few dozen of them. */
const errorSchemas = new Map<string, TSchema>();

/**
 * `{"error":{"code","message"[,"fields"]}}`: the native envelope. The same object for the same
 * codes and description (shared by the routes that declare them: never change one in place).
 */
export function nativeErrorSchema(codes: readonly NativeCode[], description: string): TSchema {
  const key = `${codes.join(',')}\n${description}`;
  let schema = errorSchemas.get(key);
  if (!schema) errorSchemas.set(key, (schema = buildErrorSchema(codes, description)));
  return schema;
}

function buildErrorSchema(codes: readonly NativeCode[], description: string): TSchema {
  const first = codes[0]!;
  return Type.Object(
    {
      error: Type.Object({
        // A plain string, not an enum: serialization must never fail on a code this list forgot.
        code: Type.String({ examples: [...codes] }),
        message: Type.String(),
        fields: Type.Optional(Type.Array(FieldErrorView)),
      }),
    },
    {
      description: `${description} Codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
      examples: [{ error: { code: first, message: NATIVE_CODES[first].en } }],
    },
  );
}

/** `{"error":"<code>","error_description":"…"}`: RFC 6749 5.2, what OAuth client libraries parse. */
function oauthErrorSchema(codes: readonly NativeCode[], description: string): TSchema {
  const first = codes[0]!;
  return Type.Object(
    { error: Type.String({ examples: [...codes] }), error_description: Type.String() },
    {
      description: `${description} Codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
      examples: [{ error: first, error_description: NATIVE_CODES[first].en }],
    },
  );
}

const retryAfter = { 'retry-after': { type: 'integer', description: 'Seconds before trying again.' } };
const challenge = { 'www-authenticate': { type: 'string', description: '`Bearer realm="tokend"`.' } };

const callerHeaders = Type.Object(
  {
    authorization: Type.Optional(
      Type.String({ description: '`Bearer <admin token or resource-server credential>`, or HTTP Basic `<resource server id>:<credential>`.' }),
    ),
  },
  { additionalProperties: true },
);

const OAUTH_ERRORS = {
  400: oauthErrorSchema(['invalid_request'], 'The `token` parameter is missing, repeated or too long, a parameter is unknown, or a credential is in the URL.'),
  401: { ...oauthErrorSchema(['invalid_client'], 'The caller is not the operator or a live resource server.'), headers: challenge },
  413: oauthErrorSchema(['payload_too_large'], 'The body is too large.'),
  415: oauthErrorSchema(['unsupported_media_type'], 'The body is neither a form nor JSON.'),
  429: {
    ...oauthErrorSchema(['too_many_attempts'], 'Too many wrong credentials from this address at the credential endpoints (TOKEND_CREDENTIAL_MAX_FAILURES), until the window ends.'),
    headers: retryAfter,
  },
  500: oauthErrorSchema(['internal_error'], 'A bug in tokend.'),
  503: { ...oauthErrorSchema(['service_unavailable'], 'The database cannot be reached.'), headers: retryAfter },
};

/** RFC 7662 2.2. */
export const IntrospectionView = Type.Object(
  {
    active: Type.Boolean(),
    sub: Type.Optional(Type.String({ description: 'The user: the account\'s numeric id.' })),
    scope: Type.Optional(Type.String({ description: 'Space-separated actions (service accounts); empty for other tokens.' })),
    client_id: Type.Optional(Type.String({ description: 'The appId (ChatApp) or Access Key (service accounts).' })),
    token_type: Type.Optional(Type.String({ examples: ['Bearer', 'refresh_token'] })),
    exp: Type.Optional(Type.Integer({ description: 'Unix seconds.' })),
    iat: Type.Optional(Type.Integer({ description: 'Unix seconds.' })),
    token_kind: Type.Optional(Type.String({ description: 'tokend extension: which kind of tokend token.' })),
    account_uid: Type.Optional(Type.String({ description: 'tokend extension: the account\'s UUID.' })),
    reason: Type.Optional(Type.String({ description: 'tokend extension, inactive answers with `include_reason=true`: invalid, expired, revoked, account_disabled, rate_limited, credits_exhausted, ip_denied, scope_missing.' })),
    retry_after: Type.Optional(Type.Integer({ description: 'tokend extension, with `reason` rate_limited or credits_exhausted: seconds until a retry can succeed.' })),
  },
  {
    additionalProperties: true,
    description: 'RFC 7662 2.2. An inactive token (unknown, expired, revoked, malformed) gets only `{"active":false}`.',
    examples: [
      { active: true, sub: '29078', scope: 'dns_orders_list', client_id: 'AKDEMOSANDBOXTOKENDKEY', token_type: 'Bearer', exp: 1767225600, iat: 1767222000 },
      { active: false },
    ],
  },
);

/** The caller's credential (src/http/ops/openapi.ts declares the schemes): Bearer, or Basic with a resource server's id. */
const CALLER_SECURITY: { [scheme: string]: string[] }[] = [{ bearer: [] }, { resourceServerBasic: [] }];

/** What both OAuth endpoints (RFC 7662, RFC 7009) declare: a form or JSON body, the caller's credential, the OAuth errors. */
function oauthSchema<T>(ok: T) {
  return {
    tags: ['native'],
    consumes: ['application/x-www-form-urlencoded', 'application/json'],
    headers: callerHeaders,
    security: CALLER_SECURITY,
    response: { 200: ok, ...OAUTH_ERRORS },
  };
}

export const introspectSchema = oauthSchema(IntrospectionView);

export const revokeSchema = oauthSchema({ type: 'null', description: 'Revoked, or there was nothing to revoke (RFC 7009 2.2): no body.' });

export const jwksSchema = {
  tags: ['native'],
  response: {
    200: Type.Object(
      {
        keys: Type.Array(
          Type.Object(
            {
              kty: Type.String({ examples: ['OKP', 'EC'] }),
              kid: Type.String(),
              alg: Type.Optional(Type.String({ examples: ['EdDSA', 'ES256'] })),
              use: Type.Optional(Type.String({ examples: ['sig'] })),
              crv: Type.Optional(Type.String({ examples: ['Ed25519', 'P-256'] })),
              x: Type.Optional(Type.String()),
              y: Type.Optional(Type.String()),
            },
            { additionalProperties: true },
          ),
        ),
      },
      {
        additionalProperties: true,
        description: 'RFC 7517 JWK Set: public keys only.',
        examples: [{ keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: '2026-01-15-a1b2c3', alg: 'EdDSA', use: 'sig' }] }],
      },
    ),
    500: nativeErrorSchema(['internal_error'], 'A bug in tokend.'),
    503: { ...nativeErrorSchema(['service_unavailable'], 'The database cannot be reached.'), headers: retryAfter },
  },
};

const identityHeader = (description: string): { type: 'string'; description: string } => ({ type: 'string', description });

export const forwardAuthSchema = {
  tags: ['native'],
  headers: Type.Object(
    {
      authorization: Type.Optional(Type.String({ description: '`Bearer <token>`, or the raw ChatApp access token.' })),
      'access-token': Type.Optional(Type.String({ description: 'A hoster.by access token (JWT).' })),
      'x-user-id': Type.Optional(Type.String({ description: 'When present, must be the token\'s user.' })),
      'x-tokend-required-scope': Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:/-]{1,100}$', description: 'A scope (action) the route requires: 403 `scope_missing` when the token lacks it (docs/policies.md).' })),
      'x-tokend-cost': Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,5})$', description: 'Credits this request costs (default: the rule\'s cost, 1).' })),
    },
    { additionalProperties: true },
  ),
  response: {
    200: {
      type: 'null',
      description: 'The token is a valid access credential: no body, identity in the headers for the proxy to pass upstream.',
      headers: {
        'x-tokend-user-id': identityHeader('The user (account numeric id).'),
        'x-tokend-scope': identityHeader('Space-separated actions.'),
        'x-tokend-token-kind': identityHeader('Which kind of tokend token.'),
        ratelimit: identityHeader('Rate windows left (IETF RateLimit), when the token has rate limits.'),
        'ratelimit-policy': identityHeader('Rate windows (IETF RateLimit-Policy), when the token has rate limits.'),
        'x-tokend-credits-remaining': identityHeader('Credits left, when the token has credits.'),
      },
    },
    400: nativeErrorSchema(['token_in_query', 'validation_failed'], 'A credential in the URL, or a malformed X-Tokend-Required-Scope / X-Tokend-Cost.'),
    401: { ...nativeErrorSchema(['invalid_token'], 'No token, or a malformed, unknown, expired, revoked or refresh token.'), headers: challenge },
    403: nativeErrorSchema(['ip_denied', 'scope_missing'], 'The token is valid, but not from this address, or it lacks the required scope.'),
    429: { ...nativeErrorSchema(['rate_limited', 'credits_exhausted'], 'The token is valid, but its rate limit or credits are used up.'), headers: retryAfter },
    500: nativeErrorSchema(['internal_error'], 'A bug in tokend.'),
    503: { ...nativeErrorSchema(['service_unavailable'], 'The database cannot be reached.'), headers: retryAfter },
  },
};
