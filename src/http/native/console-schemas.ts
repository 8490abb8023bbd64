/**
 * Response schemas of the cabinet and admin APIs. They document every status a route sends (the
 * OpenAPI document is generated from them) and they serialize the answers: a property that is not
 * declared here never leaves the server, which keeps a stray field (a hash, a secret) from leaking
 * through a view function by mistake.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { nativeErrorSchema } from './schemas.ts';
import type { NativeCode } from './envelope.ts';

const Nullable = <T extends TSchema>(schema: T): TSchema => Type.Union([schema, Type.Null()]);
const Ms = (description: string): TSchema => Type.Integer({ description: `${description} Unix milliseconds.` });
const MsOrNull = (description: string): TSchema => Nullable(Type.Integer({ description: `${description} Unix milliseconds; null: none.` }));

const retryAfter = { 'retry-after': { type: 'integer', description: 'Seconds before trying again.' } };

export const AccountView = Type.Object({
  id: Type.Integer({ description: 'Numeric id: `cabinetUserId` (ChatApp), `userId` (hoster.by).' }),
  uid: Type.String({ description: 'UUID: `userId` of the Invoicebox scheme.' }),
  email: Type.String(),
  name: Nullable(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  isDemo: Type.Boolean(),
  createdAt: Ms('Creation time.'),
});

export const SessionInfoView = Type.Object({
  createdAt: Ms('Sign-in time.'),
  expiresAt: Ms('Absolute end of the sign-in.'),
  idleTimeoutMs: Type.Integer({ description: 'The sign-in ends after this long without a request.' }),
});

export const AppView = Type.Object({ appId: Type.String(), name: Type.String(), createdAt: Ms('Creation time.') });

export const ApiTokenView = Type.Object({
  id: Type.String(),
  format: Type.Union([Type.Literal('v3'), Type.Literal('l3'), Type.Literal('native')]),
  hint: Type.String({ description: 'Start and last 4 characters: enough to recognise it, never enough to use it.' }),
  label: Nullable(Type.String()),
  status: Type.Union(['active', 'grace', 'replaced', 'revoked', 'expired'].map((s) => Type.Literal(s)), {
    description: '`grace`: rotated, still valid until `expiresAt`.',
  }),
  createdAt: Ms('Creation time.'),
  expiresAt: MsOrNull('End of validity (the end of the grace period after a rotation).'),
  lastUsedAt: MsOrNull('Last successful check (to the minute).'),
  revokedAt: MsOrNull('Revocation time.'),
  replacedBy: Nullable(Type.String({ description: 'Id of the token that replaced it.' })),
});

export const ServiceKeyView = Type.Object({
  id: Type.Integer(),
  accessKey: Type.String({ description: 'Public: the `Access-Key` header.' }),
  secretHint: Type.String({ description: 'Start and last 4 characters of the Secret Key.' }),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
  createdAt: Ms('Creation time.'),
  expiresAt: MsOrNull('Expiry: no session of the key outlives it.'),
  revokedAt: MsOrNull('Revocation time.'),
  lastUsedAt: MsOrNull('Last token creation with the key.'),
});

export const ServiceAccountView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  actions: Type.Array(Type.String(), { description: 'Allowed actions: the `scope` of every token its keys create.' }),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  createdAt: Ms('Creation time.'),
  lastUsedAt: MsOrNull('Last token creation.'),
  keys: Type.Array(ServiceKeyView),
});

export const SessionView = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('chatapp'), Type.Literal('service')]),
  clientId: Type.String({ description: 'The appId (ChatApp) or Access Key (service account) it was started with.' }),
  scope: Type.Array(Type.String()),
  generation: Type.Integer({ description: '1 + the number of refreshes.' }),
  createdAt: Ms('Start.'),
  expiresAt: Ms('Absolute end.'),
  lastRefreshAt: MsOrNull('When its current pair was issued by a refresh; null if never refreshed.'),
});

export const AuditView = Type.Object({
  id: Type.Integer(),
  at: Ms('When.'),
  type: Type.String({ examples: ['login.succeeded', 'api_token.rotated'] }),
  sessionId: Nullable(Type.String()),
  address: Nullable(Type.String()),
  detail: Type.Object({}, { additionalProperties: true, description: 'Secret-free details; the keys depend on the type.' }),
});

export const SigningKeyView = Type.Object({
  kid: Type.String(),
  alg: Type.String({ examples: ['EdDSA', 'ES256'] }),
  state: Type.Union(['pending', 'active', 'retiring', 'retired'].map((s) => Type.Literal(s))),
  published: Type.Boolean({ description: 'In /.well-known/jwks.json.' }),
  signing: Type.Boolean({ description: 'Signs new tokens now.' }),
  createdAt: Ms('Creation time.'),
  activatesAt: Ms('Starts signing.'),
  signsUntil: MsOrNull('Stops signing (its successor activates).'),
  publishedUntil: MsOrNull('Leaves the JWKS (its last token has expired).'),
});

export const SettingView = Type.Object({
  name: Type.String(),
  env: Type.String({ examples: ['TOKEND_PORT'] }),
  secret: Type.Boolean(),
  value: Nullable(Type.String({ description: 'As configured; null for secrets.' })),
  set: Type.Optional(Type.Boolean({ description: 'Secrets only: whether it is set.' })),
  isDefault: Type.Boolean(),
  default: Type.String(),
  doc: Type.String(),
});

const ERROR_TEXT: Partial<Record<NativeCode, string>> = {
  bad_request: 'The body is not valid JSON.',
  validation_failed: 'A field is missing, has the wrong type or is unknown; `error.fields` names each one.',
  token_in_query: 'A credential in the URL.',
  unauthenticated: 'No sign-in (or it ended), or a wrong admin token.',
  invalid_credentials: 'Wrong email and password (or admin token): the same answer for both.',
  csrf_failed: 'A state change without the right `X-CSRF-Token`, or from another Origin.',
  account_disabled: 'The account is disabled.',
  not_found: 'No such record of the signed-in account.',
  not_active: 'Already revoked, replaced or expired.',
  unsupported_media_type: 'The body is not JSON.',
  payload_too_large: 'The body is too large.',
  too_many_attempts: 'Too many failed attempts.',
  internal_error: 'A bug in tokend.',
  service_unavailable: 'The database cannot be reached.',
};

/** The error responses of a route, by status, from the codes it can send. */
function errorsFor(codes: readonly NativeCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, NativeCode[]>();
  const statusOf: Record<string, number> = {
    bad_request: 400, validation_failed: 400, token_in_query: 400, unauthenticated: 401, invalid_credentials: 401,
    csrf_failed: 403, account_disabled: 403, not_found: 404, not_active: 409, payload_too_large: 413,
    unsupported_media_type: 415, too_many_attempts: 429, internal_error: 500, service_unavailable: 503,
  };
  for (const code of [...codes, 'token_in_query', 'internal_error', 'service_unavailable'] as NativeCode[]) {
    const status = statusOf[code]!;
    const list = byStatus.get(status) ?? [];
    if (!list.includes(code)) list.push(code);
    byStatus.set(status, list);
  }
  const out: Record<number, TSchema> = {};
  for (const [status, list] of byStatus) {
    const schema = nativeErrorSchema(list, list.map((c) => ERROR_TEXT[c] ?? c).join(' '));
    out[status] = status === 429 || status === 503 ? { ...schema, headers: retryAfter } : schema;
  }
  return out;
}

/** A signed-in GET. */
export function readResponses(ok: TSchema, extra: NativeCode[] = []): Record<number, TSchema> {
  return { 200: ok, ...errorsFor(['unauthenticated', 'validation_failed', ...extra]) };
}

/** A signed-in state change with a JSON body. */
export function writeResponses(status: 200 | 201, ok: TSchema, extra: NativeCode[] = []): Record<number, TSchema> {
  return {
    [status]: ok,
    ...errorsFor(['bad_request', 'validation_failed', 'unauthenticated', 'csrf_failed', 'payload_too_large', 'unsupported_media_type', ...extra]),
  };
}

/** A sign-in. */
export function signInResponses(ok: TSchema, extra: NativeCode[] = []): Record<number, TSchema> {
  return {
    200: ok,
    ...errorsFor(['bad_request', 'validation_failed', 'invalid_credentials', 'csrf_failed', 'payload_too_large', 'unsupported_media_type', 'too_many_attempts', ...extra]),
  };
}

export const Revoked = Type.Object({ revoked: Type.Literal(true) });
export const SignedOut = Type.Object({ signedOut: Type.Literal(true) });
export const listOf = (item: TSchema, extra: Record<string, TSchema> = {}): TSchema => Type.Object({ items: Type.Array(item), ...extra });
export { Nullable, Ms };
