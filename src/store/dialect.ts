/**
 * The one module that knows SQLite from PostgreSQL. Everything else in src/store speaks plain
 * Kysely; differences (drivers, pragmas, id columns, which errors are transient) live here.
 * Lesson from atproto's history: a `dialect ===` branch anywhere else is a bug.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
  type ColumnDefinitionBuilder,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely';
import type { DB } from './schema.ts';

export interface SqlDialect {
  readonly kind: 'sqlite' | 'postgres';
  readonly db: Kysely<DB>;
  /** Auto-incrementing integer primary key, for migrations. */
  idColumn(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** A conflict worth retrying the whole transaction for. */
  isTransient(error: unknown): boolean;
  /** The database cannot be reached or cannot write: answer 503, not 500. */
  isUnavailable(error: unknown): boolean;
  /** After inserting an explicit id, keep the id generator ahead of it. */
  syncIdSequence(db: Kysely<DB>, table: 'accounts'): Promise<void>;
}

/**
 * better-sqlite3 through Kysely, with `BEGIN IMMEDIATE`: a deferred transaction that reads then
 * writes can fail with SQLITE_BUSY at the upgrade, without waiting, when another process (the CLI
 * beside a running server) writes; IMMEDIATE takes the write lock up front and so honours
 * busy_timeout. Inside one process Kysely already serialises transactions on its single connection.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

function sqliteCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
}

export function openSqlite(file: string): SqlDialect {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new SqliteDatabase(file);
  database.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before it is acknowledged (an acknowledged revocation survives a crash).
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database }) });
  return {
    kind: 'sqlite',
    db,
    idColumn: (col) => col.primaryKey().autoIncrement(),
    isTransient: (e) => ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED'].includes(sqliteCode(e)),
    // AUTOINCREMENT already continues after the largest id ever inserted.
    syncIdSequence: async () => {},
    isUnavailable: (e) => /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB)/.test(sqliteCode(e)),
  };
}

// int8 (bigint) columns hold unix milliseconds and ids: well inside Number's safe range.
pg.types.setTypeParser(20, (v) => Number(v));

const PG_TRANSIENT = new Set(['40001', '40P01', '55P03']);
const PG_UNAVAILABLE_CLASSES = ['08', '53', '57P', '58'];
const NET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

export function openPostgres(url: string, options: { poolSize?: number } = {}): SqlDialect {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, connectionTimeoutMillis: 5000 });
  // An idle client whose server went away emits 'error' on the pool; without a listener it would crash the process.
  pool.on('error', () => {});
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: 'postgres',
    db,
    idColumn: (col) => col.primaryKey().generatedByDefaultAsIdentity(),
    isTransient: (e) => PG_TRANSIENT.has(sqliteCode(e)),
    async syncIdSequence(db, table) {
      await sql`select setval(pg_get_serial_sequence(${table}, 'id'), greatest((select max(id) from ${sql.table(table)}), 1))`.execute(db);
    },
    isUnavailable(e) {
      const code = sqliteCode(e);
      if (NET_ERRORS.has(code) || PG_UNAVAILABLE_CLASSES.some((c) => code.startsWith(c))) return true;
      const message = e instanceof Error ? e.message : '';
      return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
    },
  };
}

/** Picks the dialect from the configured URL; empty means SQLite in the data dir. */
export function openDialect(databaseUrl: string, dataDir: string): SqlDialect {
  if (databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://')) return openPostgres(databaseUrl);
  if (databaseUrl.startsWith('sqlite:')) return openSqlite(databaseUrl.slice('sqlite:'.length));
  return openSqlite(`${dataDir.replace(/\/+$/, '')}/tokend.db`);
}
