/** `tokend session list|revoke|revoke-all` and `tokend usage`: an account's live sessions and checks per day. */
import type { Command } from 'commander';
import { parseDays, parseId, parseLimit, parseTextId } from './args.ts';
import type { CliIO } from './context.ts';
import type { DayCount, Session } from './operator.ts';
import { iso, type Column } from './output.ts';
import { targetOptions, withOperator, type TargetFlags } from './target.ts';

const SESSION_COLUMNS: readonly Column<Session>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'KIND', value: (s) => s.kind },
  { header: 'CLIENT', value: (s) => s.clientId },
  { header: 'STARTED', value: (s) => iso(s.createdAt) },
  { header: 'LAST REFRESH', value: (s) => iso(s.lastRefreshAt) },
  { header: 'EXPIRES', value: (s) => iso(s.expiresAt) },
  { header: 'REFRESHES', value: (s) => String(s.generation - 1) },
  { header: 'SCOPE', value: (s) => s.scope.join(' ') },
];

const DAY_COLUMNS: readonly Column<DayCount>[] = [
  { header: 'DAY', value: (d) => iso(d.day).slice(0, 10) },
  { header: 'CHECKS', value: (d) => String(d.count) },
];

export function registerSessionCommands(program: Command, io: CliIO): void {
  const session = program.command('session').description('Manage sessions (ChatApp and hoster.by refresh chains)');

  targetOptions(
    session
      .command('list')
      .description('List the live sessions of an account, newest first')
      .requiredOption('--account <id>', 'account id')
      .option('--limit <n>', 'page size, 1 to 200 (default 50)')
      .option('--cursor <cursor>', 'the next page: the cursor the previous page printed'),
    '{"sessions":[…],"total","nextCursor"}',
  ).action(async (o: { account: string; limit?: string; cursor?: string } & TargetFlags) => {
    const accountId = parseId(o.account, '--account');
    const limit = parseLimit(o.limit, 200);
    await withOperator(io, o, async (op, out) => {
      const page = await op.listSessions(accountId, { limit, ...(o.cursor !== undefined ? { cursor: o.cursor } : {}) });
      out.table('sessions', page.items, SESSION_COLUMNS, { empty: `account ${accountId} has no live sessions`, extra: { total: page.total, nextCursor: page.nextCursor } });
      if (page.nextCursor && !out.json) out.note(`more: add --cursor ${page.nextCursor}`);
    });
  });

  targetOptions(
    session.command('revoke').description('Revoke one session: its access and refresh tokens stop working').argument('<sessionId>', 'session id'),
    '{"id","revoked":true}',
  ).action(async (rawId: string, o: TargetFlags) => {
    const id = parseTextId(rawId, 'session id');
    await withOperator(io, o, async (op, out) => {
      await op.revokeSession(id);
      out.result({ id, revoked: true }, [`session ${id} revoked`]);
    });
  });

  targetOptions(
    session.command('revoke-all').description('Revoke every live session of an account ("sign out everywhere")').requiredOption('--account <id>', 'account id'),
    '{"accountId","revoked":n}',
  ).action(async (o: { account: string } & TargetFlags) => {
    const accountId = parseId(o.account, '--account');
    await withOperator(io, o, async (op, out) => {
      const revoked = await op.revokeAllSessions(accountId);
      out.result({ accountId, revoked }, [`${revoked} ${revoked === 1 ? 'session' : 'sessions'} of account ${accountId} revoked`]);
    });
  });

  targetOptions(
    program
      .command('usage')
      .description('Successful token checks per UTC day, oldest first: of one account, or of the whole instance')
      .option('--account <id>', 'account id (without it: the whole instance)')
      .option('--days <n>', 'how many days back, today included: 1 to 31 (default 7)'),
    '{"accountId","days":[{"day","count"}]} (day: start of the UTC day)',
  ).action(async (o: { account?: string; days?: string } & TargetFlags) => {
    const accountId = o.account === undefined ? undefined : parseId(o.account, '--account');
    const days = parseDays(o.days);
    await withOperator(io, o, async (op, out) => {
      const counts = await op.usage({ days, ...(accountId !== undefined ? { accountId } : {}) });
      out.table('days', counts, DAY_COLUMNS, { empty: 'no figures', extra: { accountId: accountId ?? null } });
    });
  });
}
