/**
 * Response schemas of the cabinet and admin APIs. They document every status a route sends (the
 * OpenAPI document is generated from them) and they serialize the answers: a property that is not
 * declared here never leaves the server, which keeps a stray field (a hash, a secret) from leaking
 * through a view function by mistake. They are also the types: the view functions return
 * `Static<typeof …View>`, and the console imports these types instead of declaring its own, so
 * this file imports nothing but TypeBox (the console's compiler reads it).
 */
import { Type, type TArray, type TInteger, type TNull, type TObject, type TProperties, type TSchema, type TUnion } from '@sinclair/typebox';

export function Nullable<T extends TSchema>(schema: T): TUnion<[T, TNull]> {
  return Type.Union([schema, Type.Null()]);
}

export function Ms(description: string): TInteger {
  return Type.Integer({ description: `${description} Unix milliseconds.` });
}

function MsOrNull(description: string): TUnion<[TInteger, TNull]> {
  return Nullable(Type.Integer({ description: `${description} Unix milliseconds; null: none.` }));
}

/** `{"items":[…]}`, with more properties beside the list (a total, the next page's cursor). */
export function listOf<T extends TSchema, E extends TProperties>(item: T, extra: E): TObject<{ items: TArray<T> } & E> {
  return Type.Object({ items: Type.Array(item), ...extra });
}

/** One field a validation error blames (`error.fields` of the native envelope). */
export const FieldErrorView = Type.Object({ name: Type.String(), code: Type.String(), message: Type.String() });

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
  status: Type.Union(
    [Type.Literal('active'), Type.Literal('grace'), Type.Literal('replaced'), Type.Literal('revoked'), Type.Literal('expired')],
    { description: '`grace`: rotated, still valid until `expiresAt`.' },
  ),
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
  // Any keys: typed as a record, written as an open object (which the serializer passes through).
  detail: Type.Unsafe<Record<string, unknown>>(
    Type.Object({}, { additionalProperties: true, description: 'Secret-free details; the keys depend on the type.' }),
  ),
});

export const SigningKeyView = Type.Object({
  kid: Type.String(),
  alg: Type.String({ examples: ['EdDSA', 'ES256'] }),
  state: Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('retiring'), Type.Literal('retired')]),
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

export const Revoked = Type.Object({ revoked: Type.Literal(true) });
export const SignedOut = Type.Object({ signedOut: Type.Literal(true) });

const CsrfToken = Type.String({ description: 'Send it back in `X-CSRF-Token` on every state change.' });
const NextBefore = Nullable(Type.Integer({ description: 'Pass as `before` for the next page.' }));

export const SignedIn = Type.Object({ account: AccountView, csrfToken: CsrfToken, session: SessionInfoView });
export const MeView = Type.Object({
  account: AccountView,
  csrfToken: CsrfToken,
  session: SessionInfoView,
  limits: Type.Object({ dailyMakeLimit: Type.Integer({ description: 'Successful tokens.make per UTC day per (email, appId).' }) }),
});
export const UsageView = Type.Object({
  dailyMakeLimit: Type.Integer(),
  resetsAt: Ms('When today\'s tokens.make counts start again (next UTC midnight).'),
  apps: Type.Array(Type.Object({ appId: Type.String(), name: Type.String(), used: Type.Integer({ description: 'Successful tokens.make today.' }) })),
  checks: Type.Array(Type.Object({ day: Ms('Start of the UTC day.'), count: Type.Integer({ description: 'Successful token checks that day.' }) })),
});
export const AppList = listOf(AppView, {});
export const SessionList = listOf(SessionView, {
  total: Type.Integer({ description: 'How many live sessions there are in all.' }),
  nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last one.' })),
});
export const RevokedAll = Type.Object({ revoked: Type.Integer({ description: 'How many sessions this call revoked.' }) });
export const AuditPage = listOf(AuditView, { nextBefore: NextBefore });

export const NewApiToken = Type.Object({ token: Type.String({ description: 'The token: in this response only, never again.' }), apiToken: ApiTokenView });
export const RotatedApiToken = Type.Object({
  token: Type.String({ description: 'The new token: in this response only, never again.' }),
  apiToken: ApiTokenView,
  previous: ApiTokenView,
});
export const ApiTokenList = listOf(ApiTokenView, {});

export const NewServiceKey = Type.Object({
  accessKey: Type.String({ description: 'Public: send it as `Access-Key`.' }),
  secretKey: Type.String({ description: 'Send it as `Secret-Key`: in this response only, never again.' }),
  key: ServiceKeyView,
});
export const ServiceAccountList = listOf(ServiceAccountView, {});

export const OperatorSignedIn = Type.Object({ csrfToken: CsrfToken, session: SessionInfoView });
export const OperatorMe = Type.Object({
  operator: Type.Literal(true),
  credential: Type.Object({
    kind: Type.Union([Type.Literal('console'), Type.Literal('admin'), Type.Literal('operator_key')], { description: 'The operator console, the admin token, or an operator key.' }),
    id: Nullable(Type.String({ description: 'The operator key\'s id.' })),
    name: Nullable(Type.String({ description: 'The operator key\'s name.' })),
    permissions: Type.Array(Type.String(), { description: 'What it may do: every permission for the admin token and the console.' }),
  }),
  csrfToken: Nullable(Type.String({ description: 'Console sign-ins only; null for a Bearer call.' })),
  session: Nullable(SessionInfoView),
  database: Type.String({ examples: ['sqlite', 'postgres'] }),
});
/** The admin API's account list: `nextCursor`; `nextBefore` for callers of the older paging. */
export const AccountPage = listOf(AccountView, {
  nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page.' })),
  nextBefore: Nullable(Type.Integer({ description: 'The older paging: pass as `before`. Prefer `nextCursor`.' })),
});
export const SettingsView = Type.Object({ database: Type.String({ examples: ['sqlite', 'postgres'] }), items: Type.Array(SettingView) });
export const SigningKeyList = listOf(SigningKeyView, {});
export const KeyRotation = Type.Object({
  key: SigningKeyView,
  previous: Nullable(SigningKeyView),
  deleted: Type.Array(Type.String(), { description: 'Kids of retired keys removed because no live token can carry them.' }),
});

/** `nextCursor` of the admin API's lists (src/http/native/paging.ts). */
export const NextCursor = Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page.' }));

// ---- operator keys and account actions of the admin API (docs/admin-api.md) ----

export const OperatorKeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  permissions: Type.Array(Type.String(), { description: '`<area>:read` or `<area>:write` (write includes read).' }),
  hint: Type.String({ description: 'Start and last 4 characters: enough to recognise it, never to use it.' }),
  createdAt: Ms('Creation time.'),
  expiresAt: MsOrNull('When it stops working.'),
  revokedAt: MsOrNull('Revocation time.'),
  lastUsedAt: MsOrNull('Last use (to the minute).'),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
});
export const NewOperatorKey = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'The operator key (`tdp_…`): shown once, stored only as a hash.' }),
  name: Type.String(),
  permissions: Type.Array(Type.String()),
  expiresAt: MsOrNull('When it stops working.'),
});
export const OperatorKeyList = listOf(OperatorKeyView, {});
export const ResetLinkView = Type.Object({
  url: Type.String({ description: 'Hand it to the account holder: the one-time token is in the fragment (`#token=…`), which browsers never send to a server.' }),
  expiresAt: Ms('When the link stops working.'),
});

/** An app's figures behind the client advice, over the period. */
export const ClientFiguresView = Type.Object({
  makes: Type.Integer({ description: 'Successful tokens.make in the period.' }),
  checks: Type.Integer({ description: 'Successful checks of the access tokens those made or refreshed.' }),
  unusedMakes: Type.Integer({ description: 'Makes while the previous pair still had an unexpired, never used access token.' }),
  earlyRefreshes: Type.Integer({ description: 'Refreshes of access tokens that had not expired.' }),
  timerRefreshes: Type.Integer({ description: 'Early refreshes at a regular interval.' }),
});

/** What was seen of the patterns the ChatApp scheme warns against. */
export const ClientFindingsView = Type.Array(
  Type.Object({
    pattern: Type.Union([Type.Literal('login_per_request'), Type.Literal('unused_pairs'), Type.Literal('timer_refresh')]),
    count: Type.Integer(),
  }),
);

/** How each app's clients use their tokens (docs/client-advice.md). */
export const ClientAdviceView = Type.Object({
  periodDays: Type.Integer({ description: 'The findings cover this many days, today included.' }),
  apps: Type.Array(
    Type.Object({
      appId: Type.String(),
      name: Type.String(),
      figures: ClientFiguresView,
      findings: ClientFindingsView,
      quota: Type.Object({
        used: Type.Integer({ description: 'Successful tokens.make today (UTC) for the signed-in email.' }),
        limit: Type.Integer(),
        nearLimit: Type.Boolean({ description: 'At least 80 % of the daily limit is used.' }),
      }),
    }),
  ),
});

/** Checks of one API token per UTC day by outcome, and its credits left (the token page's chart). */
export const TokenUsageView = Type.Object({
  id: Type.String(),
  creditsLeft: Nullable(Type.Integer({ description: 'Credits left now; null: the token has no credit rule.' })),
  days: Type.Array(
    Type.Object({
      day: Ms('Start of the UTC day.'),
      ok: Type.Integer({ description: 'Checks that passed.' }),
      refused: Type.Object(
        {
          rate_limited: Type.Integer(),
          credits_exhausted: Type.Integer(),
          ip_denied: Type.Integer(),
          scope_missing: Type.Integer(),
          revoked: Type.Integer(),
          expired: Type.Integer(),
          account_disabled: Type.Integer(),
        },
        { description: 'Checks of this token refused, by reason.' },
      ),
    }),
  ),
});

/** A subject's rules (docs/policies.md) as the admin and cabinet policy routes answer them. */
export const PolicyRulesView = Type.Object({
  rateLimits: Type.Array(Type.Object({ limit: Type.Integer(), windowSeconds: Type.Integer(), exact: Type.Optional(Type.Boolean()) })),
  credits: Nullable(Type.Object({ remaining: Type.Integer(), cost: Type.Integer(), refill: Nullable(Type.Object({ amount: Type.Integer(), interval: Type.String() })) })),
  ipAllowList: Nullable(Type.Array(Type.String())),
  scopes: Nullable(Type.Array(Type.String())),
  expiry: Nullable(Type.Object({ maxLifetimeSeconds: Nullable(Type.Integer()), required: Type.Boolean() })),
});
export const PolicyView = Type.Object({
  subject: Type.Object({
    kind: Type.String({ examples: ['api_token', 'service_key', 'app', 'account'] }),
    id: Type.String({ description: 'The API token id, the key\'s Access Key, the appId or the account id.' }),
  }),
  accountId: Type.Integer(),
  rules: PolicyRulesView,
  creditsLeft: Nullable(Type.Integer({ description: 'Credits left now; null without a credits rule.' })),
  updatedAt: Nullable(Type.Integer({ description: 'Unix milliseconds; null: no rules set.' })),
});
