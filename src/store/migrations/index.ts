import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import type { SqlDialect } from '../dialect.ts';
import * as m0001 from './0001_initial.ts';
import * as m0002 from './0002_service_accounts.ts';
import * as m0003 from './0003_api_tokens.ts';
import * as m0004 from './0004_console.ts';
import * as m0005 from './0005_token_session_indexes.ts';
import * as m0006 from './0006_policies.ts';
import * as m0007 from './0007_operator_keys.ts';
import * as m0009 from './0009_admin_indexes.ts';
import * as m0010 from './0010_events.ts';
import * as m0011 from './0011_traffic.ts';
import * as m0012 from './0012_api_token_inserts.ts';
import * as m0013 from './0013_audit_chain_queue.ts';

/** Migrations in order. Each is append-only once released: add a new file, never edit an old one. */
const MIGRATIONS: Record<string, { up: (db: any, d: SqlDialect) => Promise<void> }> = {
  '0001_initial': m0001,
  '0002_service_accounts': m0002,
  '0003_api_tokens': m0003,
  '0004_console': m0004,
  '0005_token_session_indexes': m0005,
  '0006_policies': m0006,
  '0007_operator_keys': m0007,
  '0009_admin_indexes': m0009,
  '0010_events': m0010,
  '0011_traffic': m0011,
  '0012_api_token_inserts': m0012,
  '0013_audit_chain_queue': m0013,
};

/** Every migration's name, in the order they apply. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS);

class InCodeProvider implements MigrationProvider {
  readonly #d: SqlDialect;
  constructor(d: SqlDialect) {
    this.#d = d;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    const d = this.#d;
    return Object.fromEntries(Object.entries(MIGRATIONS).map(([name, m]) => [name, { up: (db: Kysely<any>) => m.up(db, d) }]));
  }
}

export interface MigrationReport {
  applied: string[];
}

/**
 * Brings the schema up to date; safe to run from several processes at once (Kysely locks). Runs
 * on the dialect's migration handle: on PostgreSQL a session without statement_timeout, so that
 * neither a long schema change nor the wait for another node's migration is cut off.
 */
export async function migrateToLatest(d: SqlDialect): Promise<MigrationReport> {
  const { error, results } = await d.withMigrationDb((db) => new Migrator({ db, provider: new InCodeProvider(d) }).migrateToLatest());
  if (error) {
    // Kysely's words for "this database is ahead of this code" are cryptic; an operator in the
    // middle of a rolling upgrade needs to know what to do (docs/operations.md, upgrading).
    const newer = error instanceof Error ? /previously executed migration (\S+) is missing/.exec(error.message) : null;
    if (newer) {
      throw new Error(`the database was migrated by a newer tokend (it has migration ${newer[1]}, unknown to this version): run the newer version on this node`, { cause: error });
    }
    throw error instanceof Error ? error : new Error(String(error));
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
