/**
 * Which tokend a command works on. With `--url` (or TOKEND_URL) and a token (`--token` or
 * TOKEND_ADMIN_TOKEN: the admin token or an operator key), through that server's admin API.
 * Otherwise on the database of `--data-dir` / TOKEND_DATA_DIR or `--database-url` /
 * TOKEND_DATABASE_URL, which must already be a tokend database: only `serve` and `migrate` create
 * one. A typo in a path, or a command run from another directory, must not quietly start a second,
 * empty database that the running server never sees. Either way, stderr says which one was used.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import type { Config, SettingName } from '../config/schema.ts';
import type { Services } from '../services.ts';
import { UsageError, type CliIO } from './context.ts';
import { translateCoreError } from './blame.ts';
import { parseId } from './args.ts';
import type { Change, Operator } from './operator.ts';
import { printer, type Printer } from './output.ts';

export type StoreFlags = { dataDir?: string; databaseUrl?: string };
export type TargetFlags = StoreFlags & { url?: string; token?: string; json?: boolean; idempotencyKey?: string };

export function configFrom(io: CliIO, flags: Partial<Record<SettingName, string | boolean | number>>): Config {
  const clean = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return loadConfig({ env: io.env, flags: clean });
}

/** `--data-dir` and `--database-url`: the database a local command opens. */
export function storeOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory holding the SQLite database tokend.db (TOKEND_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'postgres://… for PostgreSQL (TOKEND_DATABASE_URL)');
}

/** Where a command runs: a running tokend's admin API, or the database; and `--json`. */
export function targetOptions(cmd: Command, json: string): Command {
  return storeOptions(cmd)
    .option('--url <url>', 'a running tokend: go through its admin API instead of the database (TOKEND_URL)')
    .option('--token <token>', 'the admin token or an operator key (tdp_…) for --url (TOKEND_ADMIN_TOKEN; prefer the variable: arguments show in `ps`)')
    .option('--json', `print one JSON object (times in Unix milliseconds): ${json}`);
}

/** `<group> show <id>`: one record, printed as its JSON with --json, else as its lines. */
export function showCommand<I, T extends object>(
  io: CliIO,
  group: Command,
  spec: { description: string; argument: string; label: string; json: string; parse(raw: string, what: string): I; get(op: Operator, id: I): Promise<T>; lines(record: T): string[] },
): void {
  targetOptions(group.command('show').description(spec.description).argument(`<${spec.argument}>`, spec.label), spec.json).action(async (rawId: string, o: TargetFlags) => {
    const id = spec.parse(rawId, spec.label);
    await withOperator(io, o, async (op, out) => {
      const record = await spec.get(op, id);
      out.result(record, spec.lines(record));
    });
  });
}

/** `<group> disable <id>` and `<group> enable <id>`: a record's status, said as done or as already so. */
export function statusCommands(
  io: CliIO,
  group: Command,
  spec: { what: string; disable: string; enable: string; set(op: Operator, id: number, status: 'disabled' | 'active'): Promise<Change> },
): void {
  for (const [name, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    targetOptions(group.command(name).description(spec[name]).argument('<id>', `${spec.what} id`), '{"id","status"}').action(async (rawId: string, o: TargetFlags) => {
      const id = parseId(rawId, `${spec.what} id`);
      await withOperator(io, o, async (op, out) => {
        const { changed } = await spec.set(op, id, status);
        out.result({ id, status }, [changed === false ? `${spec.what} ${id} was already ${name}d` : `${spec.what} ${id} ${name}d`]);
      });
    });
  }
}

/** What a database setting names, for messages: the SQLite file, or the PostgreSQL URL without its password. */
export interface DatabaseLocation {
  kind: 'sqlite' | 'postgres';
  /** The SQLite file (absolute), or the PostgreSQL URL without password and query. */
  shown: string;
  /** Where the setting came from, for the hint. */
  origin: string;
}

export function locateDatabase(config: Config, flags: StoreFlags, env: CliIO['env']): DatabaseLocation {
  const url = config.databaseUrl;
  const urlOrigin = flags.databaseUrl !== undefined ? '--database-url' : 'TOKEND_DATABASE_URL';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return { kind: 'postgres', shown: withoutSecrets(url), origin: urlOrigin };
  }
  // The same rule as the store's (src/store/dialect.ts, openDialect): `sqlite:<file>`, else tokend.db in the data dir.
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', shown: resolve(url.slice('sqlite:'.length)), origin: urlOrigin };
  const dirOrigin = flags.dataDir !== undefined ? '--data-dir' : env.TOKEND_DATA_DIR ? 'TOKEND_DATA_DIR' : 'the default data directory ./data';
  return { kind: 'sqlite', shown: resolve(config.dataDir.replace(/\/+$/, '') || '/', 'tokend.db'), origin: dirOrigin };
}

function withoutSecrets(raw: string): string {
  try {
    const u = new URL(raw);
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

function describe(db: DatabaseLocation): string {
  return db.kind === 'sqlite' ? `the SQLite database ${db.shown}` : `the PostgreSQL database ${db.shown}`;
}

function refusal(db: DatabaseLocation): UsageError {
  const what =
    db.kind === 'sqlite' ? `there is no tokend database at ${db.shown} (SQLite, from ${db.origin})` : `the PostgreSQL database ${db.shown} (from ${db.origin}) has no tokend tables`;
  return new UsageError(
    `${what}, and only \`tokend serve\` and \`tokend migrate\` create one. ` +
      "Run this command on the server's database (--data-dir DIR or TOKEND_DATA_DIR; --database-url URL or TOKEND_DATABASE_URL for PostgreSQL) " +
      'or through the running server (--url URL with TOKEND_ADMIN_TOKEN); to start a new database there, run `tokend migrate` first',
  );
}

/**
 * Opens an existing tokend database for one command (applying pending migrations, as before),
 * says which on stderr, runs `fn`, closes it. Never creates a database.
 */
export async function withExistingDatabase<T>(io: CliIO, flags: StoreFlags, fn: (s: Services) => Promise<T>): Promise<T> {
  const config = configFrom(io, flags);
  const db = locateDatabase(config, flags, io.env);
  // SQLite creates a missing file on open: look before opening.
  if (db.kind === 'sqlite' && (!existsSync(db.shown) || !statSync(db.shown).isFile())) throw refusal(db);
  // A one-shot command: SQLite's own checkpoint on close is enough, no thread for it.
  // Loaded here, not at the top: `--help`, `--url` commands and usage errors need none of it.
  const { openServices } = await import('../services.ts');
  const services = await openServices(config, { migrate: false, backgroundCheckpoints: false, metrics: null });
  try {
    // Kysely's migration table marks a database tokend made (src/store/migrations/index.ts).
    const tables = await services.db.dialect.db.introspection.getTables({ withInternalKyselyTables: true });
    if (!tables.some((t) => t.name === 'kysely_migration')) throw refusal(db);
    const applied = await services.db.migrate();
    io.err(`tokend: using ${describe(db)}`);
    if (applied.length) io.err(`tokend: brought the database up to date: ${applied.join(', ')}`);
    return await fn(services);
  } finally {
    await services.close();
  }
}

/**
 * Runs a command against its target: the admin API with --url (or TOKEND_URL), else the database.
 * Core's refusals become the CLI's errors (exit codes 2, 3, 4) on the way out.
 */
export async function withOperator(io: CliIO, flags: TargetFlags, fn: (op: Operator, out: Printer) => Promise<void>): Promise<void> {
  const out = printer(io, flags.json);
  const url = flags.url ?? (io.env.TOKEND_URL?.trim() || undefined);
  if (url !== undefined) {
    if (flags.dataDir !== undefined || flags.databaseUrl !== undefined) {
      throw new UsageError('--url goes through a running tokend, --data-dir and --database-url open a database: give one or the other');
    }
    const token = flags.token ?? (io.env.TOKEND_ADMIN_TOKEN?.trim() || undefined);
    if (!token) throw new UsageError(`${flags.url !== undefined ? '--url' : 'TOKEND_URL'} needs a credential: the admin token or an operator key, in TOKEND_ADMIN_TOKEN (or --token)`);
    const { HttpOperator } = await import('./http-operator.ts');
    const op = new HttpOperator({ url, token, ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}) });
    io.err(`tokend: using the admin API at ${op.origin}`);
    await fn(op, out);
    return;
  }
  if (flags.token !== undefined) throw new UsageError('--token is for --url (a running tokend); without --url the command opens the database');
  if (flags.idempotencyKey !== undefined) throw new UsageError('--idempotency-key is for --url (the admin API replays a repeated request); without --url the command opens the database');
  const { LocalOperator } = await import('./local-operator.ts');
  await withExistingDatabase(io, flags, async ({ core }) => {
    try {
      await fn(new LocalOperator(core, { note: (line) => out.note(line) }), out);
    } catch (error) {
      throw translateCoreError(error);
    }
  });
}

/** `--idempotency-key` on a creating command: over HTTP, a retry with the same key gets the first answer. */
export function idempotencyOption(cmd: Command): Command {
  return cmd.option('--idempotency-key <key>', 'with --url: send as Idempotency-Key, so that repeating the command within 24 h gives the first answer instead of a second record');
}
