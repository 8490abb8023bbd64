/** `tokend account …` and `tokend app …`: accounts (customers of the API) and their apps. */
import type { Command } from 'commander';
import { parseId, parseLimit } from './args.ts';
import { UsageError, type CliIO } from './context.ts';
import { durationText } from './duration.ts';
import type { Account, App } from './operator.ts';
import { iso, type Column } from './output.ts';
import { idempotencyOption, showCommand, statusCommands, targetOptions, withOperator, type TargetFlags } from './target.ts';

const ACCOUNT_COLUMNS: readonly Column<Account>[] = [
  { header: 'ID', value: (a) => String(a.id) },
  { header: 'EMAIL', value: (a) => a.email },
  { header: 'STATUS', value: (a) => a.status },
  { header: 'NAME', value: (a) => a.name ?? '' },
  { header: 'CREATED', value: (a) => iso(a.createdAt) },
  { header: 'UID', value: (a) => a.uid },
];

const APP_COLUMNS: readonly Column<App>[] = [
  { header: 'APP ID', value: (a) => a.appId },
  { header: 'NAME', value: (a) => a.name },
  { header: 'CREATED', value: (a) => iso(a.createdAt) },
];

function accountLines(a: Account): string[] {
  return [
    `account ${a.id}`,
    `  email:   ${a.email}`,
    `  uid:     ${a.uid}`,
    `  name:    ${a.name ?? '-'}`,
    `  status:  ${a.status}${a.isDemo ? ' (demo sandbox)' : ''}`,
    `  created: ${iso(a.createdAt)}`,
  ];
}

type PasswordFlags = { password?: string; passwordStdin?: boolean };

/** `--password P` or `--password-stdin` (the first line of stdin, without its line break): exactly one. */
async function passwordOf(io: CliIO, o: PasswordFlags): Promise<string> {
  if (o.password !== undefined && o.passwordStdin) throw new UsageError('give the password with --password or --password-stdin, not both');
  if (o.password !== undefined) return o.password;
  if (!o.passwordStdin) throw new UsageError('the password is required: --password P, or --password-stdin to read it from stdin');
  const text = io.stdin ? await io.stdin() : '';
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new UsageError('--password-stdin read no password: stdin was empty');
  return line;
}

/** The reset link's longest life (docs/admin-api.md). */
const MAX_RESET_LINK_MS = 7 * 86_400_000;

export function registerAccountCommands(program: Command, io: CliIO): void {
  const account = program.command('account').description('Manage accounts (customers of the API)');

  idempotencyOption(
    targetOptions(
      account
        .command('create')
        .description('Create an account that can sign in with email and password')
        .requiredOption('--email <email>', 'login email (stored trimmed and lower-cased)')
        .option('--password <password>', 'password (8 to 1024 characters; stored as an argon2id hash)')
        .option('--password-stdin', 'read the password from the first line of stdin instead (kept out of `ps` and shell history)')
        .option('--name <name>', 'display name'),
      '{"id","uid","email"}',
    ),
  ).action(async (o: { email: string; name?: string } & PasswordFlags & TargetFlags) => {
    const password = await passwordOf(io, o);
    await withOperator(io, o, async (op, out) => {
      const a = await op.createAccount({ email: o.email, password, ...(o.name !== undefined ? { name: o.name } : {}) });
      out.result({ id: a.id, uid: a.uid, email: a.email }, [`account ${a.id} created`, `  uid:   ${a.uid}`, `  email: ${a.email}`]);
    });
  });

  targetOptions(
    account
      .command('list')
      .description('List accounts, newest first')
      .option('--email <email>', 'only the account with this email')
      .option('--status <status>', 'only active or disabled accounts')
      .option('--search <text>', 'only accounts whose email contains this')
      .option('--limit <n>', 'page size, 1 to 500 (default 50)')
      .option('--cursor <cursor>', 'the next page: the cursor the previous page printed'),
    '{"accounts":[…],"nextCursor"}',
  ).action(async (o: { email?: string; status?: string; search?: string; limit?: string; cursor?: string } & TargetFlags) => {
    if (o.status !== undefined && o.status !== 'active' && o.status !== 'disabled') {
      throw new UsageError(`--status must be active or disabled, got ${JSON.stringify(o.status)}`);
    }
    const limit = parseLimit(o.limit);
    await withOperator(io, o, async (op, out) => {
      const page = await op.listAccounts({
        limit,
        ...(o.email !== undefined ? { email: o.email } : {}),
        ...(o.status !== undefined ? { status: o.status as 'active' | 'disabled' } : {}),
        ...(o.search !== undefined ? { search: o.search } : {}),
        ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
      });
      out.table('accounts', page.items, ACCOUNT_COLUMNS, { empty: 'no accounts', extra: { nextCursor: page.nextCursor } });
      if (page.nextCursor && !out.json) out.note(`more: add --cursor ${page.nextCursor}`);
    });
  });

  showCommand(io, account, { description: 'Show one account', argument: 'id', label: 'account id', json: 'the account', parse: parseId, get: (op, id) => op.getAccount(id), lines: accountLines });

  targetOptions(
    account
      .command('update')
      .description('Rename an account or change its email')
      .argument('<id>', 'account id')
      .option('--name <name>', 'new display name ("" removes it)')
      .option('--email <email>', 'new login email'),
    'the account',
  ).action(async (rawId: string, o: { name?: string; email?: string } & TargetFlags) => {
    const id = parseId(rawId, 'account id');
    if (o.name === undefined && o.email === undefined) throw new UsageError('account update needs --name or --email');
    await withOperator(io, o, async (op, out) => {
      const a = await op.updateAccount(id, { ...(o.name !== undefined ? { name: o.name } : {}), ...(o.email !== undefined ? { email: o.email } : {}) });
      out.result(a, [`account ${a.id} updated`, ...accountLines(a).slice(1)]);
    });
  });

  statusCommands(io, account, {
    what: 'account',
    disable: 'Disable an account: it cannot sign in or refresh, and every check of its tokens fails at once',
    enable: 'Enable a disabled account again',
    set: (op, id, status) => op.setAccountStatus(id, status),
  });

  targetOptions(
    account
      .command('delete')
      .description('Delete an account and everything it owns (apps, service accounts, keys, API tokens, sessions); its tokens stop working at once. Cannot be undone: disable instead if it may come back')
      .argument('<id>', 'account id')
      .option('--yes', 'confirm the deletion (required)'),
    '{"id","deleted":true}',
  ).action(async (rawId: string, o: { yes?: boolean } & TargetFlags) => {
    const id = parseId(rawId, 'account id');
    if (!o.yes) throw new UsageError(`account delete removes account ${id} and everything it owns for good: add --yes to confirm`);
    await withOperator(io, o, async (op, out) => {
      await op.deleteAccount(id);
      out.result({ id, deleted: true }, [`account ${id} deleted`]);
    });
  });

  targetOptions(
    account
      .command('set-password')
      .description("Set an account's password; its console sign-ins end")
      .argument('<id>', 'account id')
      .option('--password <password>', 'the new password (8 to 1024 characters)')
      .option('--password-stdin', 'read the password from the first line of stdin instead (kept out of `ps` and shell history)'),
    '{"id","passwordSet":true}',
  ).action(async (rawId: string, o: PasswordFlags & TargetFlags) => {
    const id = parseId(rawId, 'account id');
    const password = await passwordOf(io, o);
    await withOperator(io, o, async (op, out) => {
      await op.setPassword(id, password);
      out.result({ id, passwordSet: true }, [`password of account ${id} set`]);
    });
  });

  targetOptions(
    account
      .command('reset-link')
      .description('Make a one-time password reset link for an account (tokend sends no mail: pass it on yourself)')
      .argument('<id>', 'account id')
      .option('--expires-in <duration>', 'how long the link works, e.g. 1h (default 1h, at most 7d)'),
    '{"url","expiresAt"}',
  ).action(async (rawId: string, o: { expiresIn?: string } & TargetFlags) => {
    const id = parseId(rawId, 'account id');
    const expiresIn = o.expiresIn === undefined ? undefined : durationText(o.expiresIn, '--expires-in', { min: 60_000, max: MAX_RESET_LINK_MS });
    await withOperator(io, o, async (op, out) => {
      const link = await op.resetLink(id, expiresIn);
      out.result({ url: link.url, expiresAt: link.expiresAt }, [`password reset link for account ${id} (works once):`, `  ${link.url}`, `  expires: ${iso(link.expiresAt)}`]);
    });
  });

  const app = program.command('app').description('Manage apps (the appId of tokens.make)');

  idempotencyOption(
    targetOptions(
      app
        .command('create')
        .description('Register an app for an account')
        .requiredOption('--account <id>', 'account id')
        .requiredOption('--name <name>', 'app name'),
      '{"appId"}',
    ),
  ).action(async (o: { account: string; name: string } & TargetFlags) => {
    const accountId = parseId(o.account, '--account');
    await withOperator(io, o, async (op, out) => {
      const created = await op.createApp(accountId, o.name);
      out.result({ appId: created.appId }, ['app created', `  appId: ${created.appId}`, `  name:  ${created.name}`]);
    });
  });

  targetOptions(app.command('list').description('List the apps of an account').requiredOption('--account <id>', 'account id'), '{"apps":[…]}').action(
    async (o: { account: string } & TargetFlags) => {
      const accountId = parseId(o.account, '--account');
      await withOperator(io, o, async (op, out) => {
        out.table('apps', await op.listApps(accountId), APP_COLUMNS, { empty: `account ${accountId} has no apps` });
      });
    },
  );

  targetOptions(
    app.command('rename').description('Rename an app').argument('<appId>', 'the appId').requiredOption('--name <name>', 'new name'),
    '{"appId","name","createdAt"}',
  ).action(async (appId: string, o: { name: string } & TargetFlags) => {
    await withOperator(io, o, async (op, out) => {
      const renamed = await op.renameApp(appId, o.name);
      out.result(renamed, [`app ${renamed.appId} renamed to ${JSON.stringify(renamed.name)}`]);
    });
  });

  targetOptions(
    app.command('delete').description('Delete an app; the sessions started through it are revoked').argument('<appId>', 'the appId').option('--yes', 'confirm the deletion (required)'),
    '{"appId","deleted":true}',
  ).action(async (appId: string, o: { yes?: boolean } & TargetFlags) => {
    if (!o.yes) throw new UsageError(`app delete removes ${appId} and revokes its sessions: add --yes to confirm`);
    await withOperator(io, o, async (op, out) => {
      await op.deleteApp(appId);
      out.result({ appId, deleted: true }, [`app ${appId} deleted`]);
    });
  });
}
