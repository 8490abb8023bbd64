import type { Command } from 'commander';
import { CLI_AUDIT, printResult, UsageError, withServices, type CliIO } from './context.ts';

export function registerAccountCommands(program: Command, io: CliIO): void {
  const account = program.command('account').description('Manage accounts (customers of the API)');
  account
    .command('create')
    .description('Create an account that can sign in with email and password')
    .requiredOption('--email <email>', 'login email (stored trimmed and lower-cased)')
    .requiredOption('--password <password>', `password (8 to 1024 characters; stored as an argon2id hash)`)
    .option('--name <name>', 'display name')
    .option('--json', 'print one JSON object: {"id","uid","email"}')
    .option('--data-dir <dir>', 'data directory (TOKEND_DATA_DIR)')
    .option('--database-url <url>', 'database URL (TOKEND_DATABASE_URL)')
    .action(async (o: { email: string; password: string; name?: string; json?: boolean; dataDir?: string; databaseUrl?: string }) => {
      await withServices(io, o, async ({ core }) => {
        const a = await core.accounts.create({ email: o.email, password: o.password, name: o.name ?? null }, CLI_AUDIT);
        printResult(io, o.json, { id: a.id, uid: a.uid, email: a.email }, [`account ${a.id} created`, `  uid:   ${a.uid}`, `  email: ${a.email}`]);
      });
    });

  const app = program.command('app').description('Manage apps (the appId of tokens.make)');
  app
    .command('create')
    .description('Register an app for an account')
    .requiredOption('--account <id>', 'numeric account id')
    .requiredOption('--name <name>', 'app name')
    .option('--json', 'print one JSON object: {"appId"}')
    .option('--data-dir <dir>', 'data directory (TOKEND_DATA_DIR)')
    .option('--database-url <url>', 'database URL (TOKEND_DATABASE_URL)')
    .action(async (o: { account: string; name: string; json?: boolean; dataDir?: string; databaseUrl?: string }) => {
      const accountId = parseId(o.account, '--account');
      await withServices(io, o, async ({ core }) => {
        const created = await core.accounts.createApp({ accountId, name: o.name }, CLI_AUDIT);
        printResult(io, o.json, { appId: created.appId }, [`app created`, `  appId: ${created.appId}`]);
      });
    });
}

export function parseId(raw: string, flag: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new UsageError(`${flag} must be a numeric id, got ${JSON.stringify(raw)}`);
  return Number(raw);
}
