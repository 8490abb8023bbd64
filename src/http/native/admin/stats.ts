/**
 * `GET /api/admin/stats`: the operator dashboard (src/core/traffic.ts). Token checks by outcome,
 * issuances, refreshes and refusals per bucket over a range, the accounts and tokens with the most
 * checks and the most refusals, and the apps whose clients misuse the ChatApp scheme. Counted in
 * memory on every node and written in batches: the figures are at most one flush interval (10 s)
 * behind.
 */
import { Type } from '@sinclair/typebox';
import { TRAFFIC_RANGE_NAMES, type TrafficRange } from '../../../core/traffic-names.ts';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { Strict } from '../inputs.ts';
import { adminRead } from './records-common.ts';
import { TrafficView } from './stats-schemas.ts';
import { adminRoute } from './access.ts';

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
    adminRoute('usage:read', {
      summary: 'The operator dashboard: checks, issuances, refreshes and refusals over a range, the busiest accounts and tokens, flagged apps',
      querystring: StatsQuery,
      response: adminRead(TrafficView),
    }),
    async (request) => core.traffic.report((request.query.range ?? '1h') as TrafficRange),
  );
}
