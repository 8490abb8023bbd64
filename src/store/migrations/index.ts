import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import type { SqlDialect } from '../dialect.ts';
import * as m0001 from './0001_initial.ts';

/** Migrations in order. Each is append-only once released: add a new file, never edit an old one. */
const MIGRATIONS: Record<string, { up: (db: any, d: SqlDialect) => Promise<void> }> = {
  '0001_initial': m0001,
};

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

/** Brings the schema up to date; safe to run from several processes at once (Kysely locks). */
export async function migrateToLatest(d: SqlDialect): Promise<MigrationReport> {
  const migrator = new Migrator({ db: d.db, provider: new InCodeProvider(d) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
