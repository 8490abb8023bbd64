/**
 * The answer of `GET /api/admin/stats` (src/http/native/admin/stats.ts): apart from the route, so
 * that the console can name its type without the server.
 */
import { Type, type TInteger, type TObject, type TSchema } from '@sinclair/typebox';
import {
  CHECK_KINDS,
  CHECK_OUTCOMES,
  ISSUED_KINDS,
  REFRESH_OUTCOMES,
  REFRESH_SCHEMES,
  REFUSAL_REASONS,
  TOKEN_KINDS,
  TRAFFIC_RANGE_NAMES,
} from '../../../core/traffic-names.ts';
import { ClientFiguresView, ClientFindingsView, Ms, Nullable } from '../console-schemas.ts';

/** An object of counts, one per name. */
function counts<K extends string>(keys: readonly K[], description?: string): TObject<Record<K, TInteger>> {
  return Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer()])) as Record<K, TInteger>, description ? { description } : {});
}

/** One schema per name. */
function each<K extends string, T extends TSchema>(keys: readonly K[], schema: T, description?: string): TObject<Record<K, T>> {
  return Type.Object(Object.fromEntries(keys.map((k) => [k, schema])) as Record<K, T>, description ? { description } : {});
}

export const Outcomes = counts(CHECK_OUTCOMES, 'Checks that passed (`ok`) or were refused, by reason.');

const TopAccount = Type.Object({
  accountId: Type.Integer(),
  email: Nullable(Type.String({ description: 'null: the account was deleted since.' })),
  count: Type.Integer(),
});
const TopToken = Type.Object({
  ...TopAccount.properties,
  kind: Type.Union(
    TOKEN_KINDS.map((k) => Type.Literal(k)),
    { description: '`api_token`: an API token (its id); `app`: the access tokens of a ChatApp app (its appId); `access_key`: the access tokens of a service key (its Access Key).' },
  ),
  id: Type.String(),
});

export const TrafficView = Type.Object({
  range: Type.Union(TRAFFIC_RANGE_NAMES.map((r) => Type.Literal(r))),
  bucketSeconds: Type.Integer({ description: 'The width of a bucket: 60 (1h), 900 (24h), 3600 (7d), 21600 (30d).' }),
  from: Ms('Start of the first bucket.'),
  to: Ms('Now, the end of the last bucket.'),
  topFrom: Ms('Where the top lists start: the range, widened to whole hours for 24h and longer.'),
  buckets: Type.Array(
    Type.Object({
      start: Ms('Start of the bucket.'),
      checks: Outcomes,
      issued: Type.Integer({ description: 'Token pairs (ChatApp, service) and API tokens issued.' }),
      refreshed: Type.Integer({ description: 'Successful refreshes and API-token rotations.' }),
      refreshesRefused: Type.Integer({ description: 'Refused refreshes (a reused refresh token included).' }),
      quota: Type.Integer({ description: 'tokens.make refused by the daily limit.' }),
    }),
    { description: 'Oldest first; the last one holds now.' },
  ),
  totals: Type.Object({
    checks: each(CHECK_KINDS, Outcomes, 'By the kind of token checked (`unknown`: no token tokend issues).'),
    issued: counts(ISSUED_KINDS),
    refreshes: each(REFRESH_SCHEMES, counts(REFRESH_OUTCOMES), '`api_token`: rotations. `reused`: a rotated refresh token presented again (its session was revoked).'),
    refused: counts(REFUSAL_REASONS, '`quota`: tokens.make over the daily limit; `login_throttled`: sign-ins refused after too many wrong passwords.'),
  }),
  top: Type.Object({
    accountsByChecks: Type.Array(TopAccount, { description: 'Checks of the account\'s tokens, passed or refused; most first, at most 10.' }),
    accountsByRefusals: Type.Array(TopAccount),
    tokensByChecks: Type.Array(TopToken),
    tokensByRefusals: Type.Array(TopToken),
  }),
  flaggedApps: Type.Object({
    periodDays: Type.Integer({ description: 'The findings cover this many days, today included (whatever the range).' }),
    apps: Type.Array(
      Type.Object({
        appId: Type.String(),
        name: Nullable(Type.String({ description: 'null: the app was deleted since.' })),
        accountId: Nullable(Type.Integer()),
        email: Nullable(Type.String()),
        figures: ClientFiguresView,
        findings: ClientFindingsView,
      }),
      { description: 'Apps of every account whose clients show a pattern of docs/client-advice.md, worst first, at most 50.' },
    ),
  }),
});

