/**
 * `GET /api/admin/stats`: the operator dashboard (src/core/traffic.ts). Token checks by outcome,
 * issuances, refreshes and refusals per bucket over a range, the accounts and tokens with the most
 * checks and the most refusals, and the apps whose clients misuse the ChatApp scheme. Counted in
 * memory on every node and written in batches: the figures are at most one flush interval (10 s)
 * behind.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import {
  CHECK_KINDS,
  CHECK_OUTCOMES,
  ISSUED_KINDS,
  REFRESH_OUTCOMES,
  REFRESH_SCHEMES,
  REFUSAL_REASONS,
  TOKEN_KINDS,
  TRAFFIC_RANGE_NAMES,
  type TrafficRange,
} from '../../../core/traffic.ts';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { ClientFiguresView, ClientFindingsView, Ms, Nullable } from '../console-schemas.ts';
import { Strict } from '../inputs.ts';
import { adminRead } from './records-common.ts';

function counts(keys: readonly string[], description?: string): TSchema {
  return Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer()])), description ? { description } : {});
}

const Outcomes = counts(CHECK_OUTCOMES, 'Checks that passed (`ok`) or were refused, by reason.');

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
    checks: Type.Object(Object.fromEntries(CHECK_KINDS.map((k) => [k, Outcomes])), { description: 'By the kind of token checked (`unknown`: no token tokend issues).' }),
    issued: counts(ISSUED_KINDS),
    refreshes: Type.Object(Object.fromEntries(REFRESH_SCHEMES.map((s) => [s, counts(REFRESH_OUTCOMES)]))),
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

const StatsQuery = Type.Object(
  {
    range: Type.Optional(
      Type.Union(
        TRAFFIC_RANGE_NAMES.map((r) => Type.Literal(r)),
        { description: 'The last hour (per minute, the default), 24 hours (per 15 minutes), 7 days (per hour) or 30 days (per 6 hours).' },
      ),
    ),
  },
  Strict,
);

export async function registerAdminStats(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/admin/stats',
    {
      config: { permission: 'usage:read' },
      schema: {
        tags: ['admin'],
        summary: 'The operator dashboard: checks, issuances, refreshes and refusals over a range, the busiest accounts and tokens, flagged apps',
        querystring: StatsQuery,
        response: adminRead(TrafficView),
      },
    },
    async (request) => core.traffic.report((request.query.range ?? '1h') as TrafficRange),
  );
}
