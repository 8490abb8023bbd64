/**
 * Usage figures in the admin API: successful token checks per UTC day, for the whole instance and
 * per account (core's UsageMeter: counted in memory on the check path, flushed in batches, so the
 * figures of other nodes are at most one flush interval behind).
 */
import { Type } from '@sinclair/typebox';
import { CHECK_HISTORY_DAYS } from '../../../core/usage.ts';
import type { Core } from '../../../core/tokend.ts';
import type { HttpApp } from '../../dialect.ts';
import { Strict } from '../inputs.ts';
import { AccountParams, accountRoute, adminRead } from './records-common.ts';
import { AccountUsage, InstanceUsage } from './records-schemas.ts';
import { InvalidInputError } from '../../../core/errors.ts';
import { adminRoute } from './access.ts';

const DEFAULT_DAYS = 14;
const UsageQuery = Type.Object(
  { days: Type.Optional(Type.String({ pattern: '^[1-9][0-9]?$', description: `Days, today included (1-${CHECK_HISTORY_DAYS}, default ${DEFAULT_DAYS}).` })) },
  Strict,
);

function daysOf(query: { days?: string }): number {
  const days = Number(query.days ?? DEFAULT_DAYS);
  if (days > CHECK_HISTORY_DAYS) throw new InvalidInputError('days', `must be at most ${CHECK_HISTORY_DAYS} (counts are kept that long)`);
  return days;
}

export async function registerAdminUsage(app: HttpApp, core: Core): Promise<void> {
  app.get(
    '/api/admin/usage',
    adminRoute('usage:read', { summary: 'Successful token checks per UTC day, the whole instance', querystring: UsageQuery, response: adminRead(InstanceUsage) }),
    async (request) => ({ checks: await core.usage.instanceChecksPerDay(daysOf(request.query)) }),
  );

  accountRoute(
    app,
    core,
    'GET',
    '/api/admin/accounts/:id/usage',
    adminRoute('usage:read', {
      summary: 'Successful token checks per UTC day, one account',
      params: AccountParams,
      querystring: UsageQuery,
      response: adminRead(AccountUsage, ['not_found']),
    }),
    async (account, request) => {
      return { accountId: account.id, checks: await core.usage.checksPerDay(account.id, daysOf(request.query)) };
    },
  );
}
