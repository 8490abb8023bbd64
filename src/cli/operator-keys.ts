/**
 * `tokend operator-key create|list|revoke`: named credentials with a permission set for the admin
 * API (docs/admin-api.md, "Operator keys"). Only the admin token manages them: a key never mints another.
 */
import type { Command } from 'commander';
import { PERMISSIONS } from '../http/native/admin/access.ts';
import { parseTextId } from './args.ts';
import { UsageError, type CliIO } from './context.ts';
import { durationText } from './duration.ts';
import type { OperatorKey } from './operator.ts';
import { iso, type Column } from './output.ts';
import { idempotencyOption, targetOptions, withOperator, type TargetFlags } from './target.ts';

const MAX_KEY_LIFETIME_MS = 10 * 365 * 86_400_000;

const COLUMNS: readonly Column<OperatorKey>[] = [
  { header: 'ID', value: (k) => k.id },
  { header: 'NAME', value: (k) => k.name },
  { header: 'HINT', value: (k) => k.hint ?? '' },
  { header: 'STATUS', value: (k) => k.status },
  { header: 'LAST USED', value: (k) => iso(k.lastUsedAt) },
  { header: 'EXPIRES', value: (k) => iso(k.expiresAt) },
  { header: 'PERMISSIONS', value: (k) => k.permissions.join(' ') },
];

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((p) => p.trim()).filter((p) => p !== '')];
}

export function registerOperatorKeyCommands(program: Command, io: CliIO): void {
  const group = program
    .command('operator-key')
    .description('Manage operator keys (tdp_…): admin API credentials with a permission set (with --url: the admin token only)');

  idempotencyOption(
    targetOptions(
      group
        .command('create')
        .description('Create an operator key; the key is printed once')
        .requiredOption('--name <name>', 'who or what uses it')
        .requiredOption('--permission <permission...>', `a permission, repeatable or comma-separated: ${PERMISSIONS.join(', ')}`, collect)
        .option('--expires-in <duration>', 'lifetime, e.g. 90d (default: no expiry)'),
      '{"id","key","name","permissions","expiresAt"}',
    ),
  ).action(async (o: { name: string; permission: string[]; expiresIn?: string } & TargetFlags) => {
    const unknown = o.permission.filter((p) => !(PERMISSIONS as readonly string[]).includes(p));
    if (unknown.length) throw new UsageError(`--permission ${unknown.map((p) => JSON.stringify(p)).join(', ')} is not a permission; the permissions are <area>:read and <area>:write: ${PERMISSIONS.join(', ')}`);
    const expiresIn = o.expiresIn === undefined ? undefined : durationText(o.expiresIn, '--expires-in', { min: 1000, max: MAX_KEY_LIFETIME_MS });
    await withOperator(io, o, async (op, out) => {
      const created = await op.createOperatorKey({ name: o.name, permissions: [...new Set(o.permission)], ...(expiresIn !== undefined ? { expiresIn } : {}) });
      out.result({ id: created.id, key: created.key, name: created.name, permissions: created.permissions, expiresAt: created.expiresAt }, [
        `operator key ${created.id} (${created.name}) created`,
        `  key:         ${created.key}`,
        '  (shown once: tokend keeps only its SHA-256, so store it now)',
        `  permissions: ${created.permissions.join(' ')}`,
        `  expires:     ${iso(created.expiresAt)}`,
      ]);
    });
  });

  targetOptions(group.command('list').description('List operator keys (never a key)'), '{"operatorKeys":[…]}').action(async (o: TargetFlags) => {
    await withOperator(io, o, async (op, out) => {
      out.table('operatorKeys', await op.listOperatorKeys(), COLUMNS, { empty: 'no operator keys' });
    });
  });

  targetOptions(group.command('revoke').description('Revoke an operator key: it stops working at once').argument('<id>', 'operator key id'), '{"id","revoked":true}').action(
    async (rawId: string, o: TargetFlags) => {
      const id = parseTextId(rawId, 'operator key id');
      await withOperator(io, o, async (op, out) => {
        const { changed } = await op.revokeOperatorKey(id);
        out.result({ id, revoked: true }, [changed === false ? `operator key ${id} was already revoked` : `operator key ${id} revoked`]);
      });
    },
  );
}
