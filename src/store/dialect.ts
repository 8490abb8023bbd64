/**
 * The one module that knows SQLite from PostgreSQL. Everything else in src/store speaks plain
 * Kysely; differences (drivers, pragmas, id columns, which errors are transient) live here.
 * Lesson from atproto's history: a `dialect ===` branch anywhere else is a bug.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  SqliteQueryCompiler,
  sql,
  type ColumnDefinitionBuilder,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type SqliteDatabase,
  type SqliteDialectConfig,
  type SqliteStatement,
  type PostgresPool,
  type RawBuilder,
} from 'kysely';
import type { ChangeBus } from '../core/changes.ts';
import { systemClock } from '../core/clock.ts';
import { BACKSTOP_WAL_PAGES, Checkpointer } from './checkpointer.ts';
import { DatabaseClock, type ClockHandle, type StoreLog } from './db-clock.ts';
import type { PoolStats } from './metrics.ts';
import { WalSync, type WalSyncOptions } from './wal-sync.ts';
import { noChangeBridge, PgChangeBridge, type ChangeBridge } from './pg-notify.ts';
import { PgInsertFeed, SqliteInsertFeed } from './token-feeds.ts';
import type { InsertFeed } from '../core/token-filter.ts';
import type { DirectRunner } from './prepared.ts';
import type { DB } from './schema.ts';

export type { ChangeBridge } from './pg-notify.ts';
export type { ClockHandle, StoreLog } from './db-clock.ts';

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
  /**
   * Run concurrent write transactions in batches under one COMMIT (src/store/group-commit.ts).
   * SQLite: yes, one writer and one fsync per COMMIT. PostgreSQL: no, it has many connections
   * and commits them together itself.
   */
  readonly groupCommit: boolean;
  /**
   * Whether a read inside a transaction must say `FOR KEY SHARE` to hold its row against a
   * concurrent DELETE until the transaction ends (AppRepo.holdForUse). PostgreSQL: yes (the DELETE
   * waits; other readers and holders do not). SQLite: no, one writer at a time orders the
   * transactions already, and the clause is not SQLite's.
   */
  readonly keyShareLocks: boolean;
  /**
   * The clock core runs on. PostgreSQL: the database server's, followed by a periodically synced
   * offset, so that every node sharing the database agrees on expiry and on the quota's UTC day.
   * SQLite: the system clock (one machine, so one clock).
   */
  startClock(log?: StoreLog): Promise<ClockHandle>;
  /**
   * Carries this process's change notifications to the other processes on the same database and
   * theirs back (cache invalidation). PostgreSQL: LISTEN/NOTIFY. SQLite: nothing; one server
   * process owns the file, and a change made by the CLI beside it reaches the server's caches
   * through their staleness bound.
   */
  bridgeChanges(bus: ChangeBus, log?: StoreLog): Promise<ChangeBridge>;
  /**
   * How this process hears of API tokens other writers store, for the API-token filter
   * (src/store/token-feeds.ts). SQLite: the connection's data version and a catch-up read by id.
   * PostgreSQL: the notifications of migration 0012's trigger on a LISTEN session of its own.
   */
  insertFeed(reads: { hashesBetween(from: string, to: string): Promise<string[]> }, log?: StoreLog): InsertFeed;
  /**
   * Runs `fn` (the migrations, src/store/migrations/index.ts) with the handle they must use.
   * SQLite: the ordinary one. PostgreSQL: a connection of their own without statement_timeout.
   */
  withMigrationDb<T>(fn: (db: Kysely<DB>) => Promise<T>): Promise<T>;
  /**
   * Nothing (undefined) when every commit this process made is on disk; else a promise that
   * resolves once it is. SQLite: its commits return before the sync of the log, which a thread of
   * its own makes (src/store/wal-sync.ts), so whoever answers after a write, or after reading
   * what a write left, waits for this first. PostgreSQL: always nothing; a COMMIT returns once the
   * server flushed it.
   */
  durable(): Promise<void> | undefined;
  /** PostgreSQL: the request pool's use now (metrics). SQLite has one connection and no pool. */
  poolStats?(): PoolStats;
  /**
   * SQLite: runs a statement at once on its one connection, as Kysely's driver would, for a
   * transaction that holds that connection (the group commit's batches). PostgreSQL: none; its
   * statements are round trips to the server.
   */
  readonly direct?: DirectRunner;
  /**
   * Serialises the audit chain's writers until the end of the transaction `db` runs (the chain must
   * stay linear: each entry links to the one committed before it). PostgreSQL: a transaction-level
   * advisory lock, shared by every node on the database. SQLite: nothing to do; the transaction
   * began IMMEDIATE and holds the database's one write lock.
   */
  lockAuditChain(db: Kysely<DB>): Promise<void>;
  /**
   * Whether audit entries are linked into the chain after their transaction commits, in batches,
   * by the store's chainer (src/store/audit.ts, AuditChainer), rather than inside it. PostgreSQL:
   * yes; linking inside would hold the chain's lock across every audited transaction's WAL flush
   * and so allow one audited commit per flush, where the server otherwise flushes the commits of
   * many sessions at once (bench/RESULTS.md). SQLite: no; its one writer commits in turn anyway
   * and its group commit shares the flush.
   */
  readonly chainAfterCommit: boolean;
  /**
   * Whether a statement may write through WITH (`with a as (update … returning …) insert … select
   * … from a`), so that a write of several rows in several tables is one statement, atomic by
   * itself, and a write that is only that statement needs no BEGIN and COMMIT around it (three
   * round trips, with a pooled session idle in its transaction in between, down to one: the
   * refresh, SessionRepo.rotate). PostgreSQL: yes. SQLite: no (WITH takes SELECTs only there);
   * its statements run in the caller's transaction, in-process, at no round trip's cost.
   */
  readonly dataModifyingCtes: boolean;
  /**
   * PostgreSQL: a handle on one connection of its own, outside the request pool, with the pool's
   * session settings (the audit chainer's: it never queues behind requests for a pooled
   * connection, nor takes one from them). Destroy it when done.
   */
  openSideDb?(applicationName: string): Kysely<DB>;
  /**
   * What ends a `select … for update` that skips rows other transactions hold: PostgreSQL's
   * `for update skip locked` (two nodes claiming work never wait for nor take each other's
   * rows). SQLite: nothing; one process writes the file, under the one write lock.
   */
  readonly skipLocked: RawBuilder<unknown>;
}

/** The advisory lock key of the audit chain (any constant; tokend takes no other advisory xact lock). */
const AUDIT_CHAIN_LOCK = 0x746b6e64;

const systemClockHandle: ClockHandle = { clock: systemClock, stop: () => {} };

/**
 * SQLite is Node's own (`node:sqlite`, built into Node 24), not a native addon: installing tokend
 * compiles nothing and needs no C++ toolchain or Node headers (docs/architecture.md). Its
 * DatabaseSync is synchronous like better-sqlite3 and fits Kysely's SQLite driver through the
 * small adapter below (statements, parameters, error codes).
 *
 * Transactions begin with `BEGIN IMMEDIATE`: a deferred transaction that reads then writes can
 * fail with SQLITE_BUSY at the upgrade, without waiting, when another process (the CLI beside a
 * running server) writes; IMMEDIATE takes the write lock up front and so honours busy_timeout.
 * Inside one process Kysely already serialises transactions on its single connection.
 *
 * Destroying the Kysely instance stops the checkpoint thread and waits until it has closed its
 * connection, then closes the writer's: the last connection to close removes the WAL, and a caller
 * that deletes the data directory right after close() finds nothing still being written there.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  readonly #beforeClose: () => Promise<void>;
  constructor(config: SqliteDialectConfig, beforeClose: () => Promise<void>) {
    super(config);
    this.#beforeClose = beforeClose;
  }
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  override async destroy(): Promise<void> {
    await this.#beforeClose();
    await super.destroy();
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #beforeClose: () => Promise<void>;
  constructor(config: SqliteDialectConfig, beforeClose: () => Promise<void>) {
    super(config);
    this.#config = config;
    this.#beforeClose = beforeClose;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#beforeClose);
  }
  override createQueryCompiler(): QueryCompiler {
    return new UnaryPlusParameterCompiler();
  }
}

/**
 * Parameters are written `+?`, not `?`. SQLite marks a statement with a join and a `column = ?`
 * term as depending on that parameter's value (the planner looked at the value, e.g. to decide
 * whether a partial index applies), so every new binding re-prepares it: 40-80 µs per execution
 * instead of 2-5 for tokend's hot lookups (a token by hash joined to its session and account;
 * bench/RESULTS.md). A unary plus is a no-op on every value (numbers, text, blobs, NULL) and keeps
 * the same plan, but the term no longer names a bare parameter, so the statement stays prepared.
 */
class UnaryPlusParameterCompiler extends SqliteQueryCompiler {
  protected override getCurrentParameterPlaceholder(): string {
    return '+?';
  }
}

function sqliteCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
}

/**
 * SQLite's result codes by number (https://sqlite.org/rescode.html): node:sqlite reports an error
 * as `code: 'ERR_SQLITE_ERROR'` with the extended result code in `errcode`. The adapter names it
 * the way SQLite does (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_CONSTRAINT_UNIQUE`, ...), in `code`, which
 * is what isTransient / isUnavailable and any caller read. An extended code this table lacks is
 * named by its primary code (the low byte), which is all those two need.
 */
const SQLITE_PRIMARY: Record<number, string> = {
  1: 'ERROR', 2: 'INTERNAL', 3: 'PERM', 4: 'ABORT', 5: 'BUSY', 6: 'LOCKED', 7: 'NOMEM', 8: 'READONLY',
  9: 'INTERRUPT', 10: 'IOERR', 11: 'CORRUPT', 12: 'NOTFOUND', 13: 'FULL', 14: 'CANTOPEN', 15: 'PROTOCOL',
  16: 'EMPTY', 17: 'SCHEMA', 18: 'TOOBIG', 19: 'CONSTRAINT', 20: 'MISMATCH', 21: 'MISUSE', 22: 'NOLFS',
  23: 'AUTH', 24: 'FORMAT', 25: 'RANGE', 26: 'NOTADB', 27: 'NOTICE', 28: 'WARNING',
};
const SQLITE_EXTENDED: Record<number, string> = {
  261: 'BUSY_RECOVERY', 517: 'BUSY_SNAPSHOT', 773: 'BUSY_TIMEOUT', 262: 'LOCKED_SHAREDCACHE', 518: 'LOCKED_VTAB',
  264: 'READONLY_RECOVERY', 520: 'READONLY_CANTLOCK', 776: 'READONLY_ROLLBACK', 1032: 'READONLY_DBMOVED',
  1288: 'READONLY_CANTINIT', 1544: 'READONLY_DIRECTORY', 266: 'IOERR_READ', 522: 'IOERR_SHORT_READ', 778: 'IOERR_WRITE',
  1034: 'IOERR_FSYNC', 1290: 'IOERR_DIR_FSYNC', 1546: 'IOERR_TRUNCATE', 1802: 'IOERR_FSTAT', 3338: 'IOERR_ACCESS',
  4874: 'IOERR_SHMOPEN', 5130: 'IOERR_SHMSIZE', 270: 'CANTOPEN_NOTEMPDIR', 526: 'CANTOPEN_ISDIR', 782: 'CANTOPEN_FULLPATH',
  275: 'CONSTRAINT_CHECK', 531: 'CONSTRAINT_COMMITHOOK', 787: 'CONSTRAINT_FOREIGNKEY', 1043: 'CONSTRAINT_FUNCTION',
  1299: 'CONSTRAINT_NOTNULL', 1555: 'CONSTRAINT_PRIMARYKEY', 1811: 'CONSTRAINT_TRIGGER', 2067: 'CONSTRAINT_UNIQUE',
  2323: 'CONSTRAINT_VTAB', 2579: 'CONSTRAINT_ROWID', 3091: 'CONSTRAINT_DATATYPE', 267: 'CORRUPT_VTAB', 523: 'CORRUPT_SEQUENCE',
  779: 'CORRUPT_INDEX', 516: 'ABORT_ROLLBACK',
};

/** Gives a node:sqlite error SQLite's own name for its result code, in `code`. */
export function namedSqliteError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return error;
  const errcode = (error as { errcode: unknown }).errcode;
  if (typeof errcode !== 'number') return error;
  const name = SQLITE_EXTENDED[errcode] ?? SQLITE_PRIMARY[errcode & 0xff];
  if (name) (error as unknown as { code: string }).code = `SQLITE_${name}`;
  return error;
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Whether running `sql` outside a transaction may have committed a write. Reads (select, and a
 * pragma that sets nothing), opening a transaction or a savepoint and rolling back never do;
 * anything else is counted, erring on the side of one sync too many.
 */
export function mayCommit(sql: string): boolean {
  const head = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase();
  if (head === 'select' || head === 'begin' || head === 'savepoint' || head === 'rollback') return false;
  if (head === 'pragma') return sql.includes('=');
  return true;
}
/** journal_size_limit: the WAL file is truncated to this once reused after a checkpoint. */
const WAL_SIZE_LIMIT_BYTES = 64 * 2 ** 20;

/**
 * node:sqlite's rows have a null prototype; the rest of tokend (and anything comparing rows, as
 * tests do) expects ordinary objects, as SQLite drivers give them.
 */
function plainRow(row: Record<string, SQLOutputValue>): Record<string, SQLOutputValue> {
  return { ...row };
}

/**
 * Kysely prepares every query it runs, and SQLite compiles SQL on every prepare(): for a one-row
 * lookup that is most of its cost. tokend runs the same few dozen statements all day, so they are
 * kept compiled, keyed by their SQL (bounded). A streamed query (iterate) gets a statement of its
 * own, so a kept one is never handed out while an iterator holds it. SQLite re-prepares a kept
 * statement by itself after a schema change.
 */
function kyselyDatabase(database: DatabaseSync, onCommit: (() => void) | null): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  const prepare = (sql: string): StatementSync => {
    try {
      return database.prepare(sql);
    } catch (error) {
      throw namedSqliteError(error);
    }
  };
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement === undefined) {
        const compiled = prepare(sql);
        // A statement that may end a write transaction: a COMMIT, or a write run on its own
        // (autocommit). Told to the WAL sync once it ran outside a transaction.
        const commits = onCommit !== null && mayCommit(sql) ? onCommit : null;
        statement = {
          reader: compiled.columns().length > 0,
          all(parameters) {
            try {
              const rows = compiled.all(...(parameters as SQLInputValue[])).map(plainRow);
              if (commits !== null && !database.isTransaction) commits();
              return rows;
            } catch (error) {
              throw namedSqliteError(error);
            }
          },
          run(parameters) {
            try {
              const result = compiled.run(...(parameters as SQLInputValue[]));
              if (commits !== null && !database.isTransaction) commits();
              return result;
            } catch (error) {
              throw namedSqliteError(error);
            }
          },
          *iterate(parameters) {
            for (const row of prepare(sql).iterate(...(parameters as SQLInputValue[]))) yield plainRow(row);
          },
        };
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

export interface SqliteOptions {
  /**
   * Checkpoint the WAL on a worker thread (src/store/checkpointer.ts) and sync it on another
   * (src/store/wal-sync.ts); default on for a file. A server wants them; a CLI command that writes
   * a row and exits needs no thread: its commits sync the log themselves (synchronous=FULL).
   */
  backgroundCheckpoints?: boolean;
  /** Watches or delays the syncs of the log (tests; src/store/wal-sync.ts). */
  walSync?: WalSyncOptions;
}

/**
 * An operator's mistake more often than not (a volume mounted read-only or owned by another
 * user): the message names the file and what to fix, where SQLite only says "unable to open
 * database file". The SQLite code stays on the error (isUnavailable).
 */
function unopenable(file: string, error: unknown): unknown {
  const code = sqliteCode(error);
  if (!/^SQLITE_(CANTOPEN|READONLY|PERM|AUTH)/.test(code)) return error;
  const dir = dirname(file);
  let writable = true;
  try {
    accessSync(dir, constants.W_OK);
    if (existsSync(file)) accessSync(file, constants.W_OK);
  } catch {
    writable = false;
  }
  const who = typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
  const message = writable
    ? `cannot open the SQLite database ${file}: ${(error as Error).message}`
    : `cannot write to the data directory ${dir}: tokend keeps its SQLite database there and must be able to write to it as the user it runs as${who}; fix its owner or mode, or choose another directory with TOKEND_DATA_DIR (--data-dir)`;
  return Object.assign(new Error(message, { cause: error }), { code });
}

export function openSqlite(file: string, options: SqliteOptions = {}): SqlDialect {
  const inMemory = file === ':memory:';
  if (!inMemory) {
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new Error(`cannot create the data directory ${dirname(file)} (${reason}); choose a writable one with TOKEND_DATA_DIR (--data-dir)`, { cause: error });
    }
  }
  const threads = !inMemory && (options.backgroundCheckpoints ?? true);
  let database: DatabaseSync;
  let walSync: WalSync | null = null;
  try {
    database = new DatabaseSync(file);
    const mode = (database.prepare('pragma journal_mode = WAL').get() as { journal_mode?: string } | undefined)?.journal_mode;
    if (threads && mode === 'wal') {
      // The commit writes the log; the sync that FULL would make inside COMMIT, on the event loop,
      // is made by the WAL sync thread, and nobody is answered before it returned (a commit is on
      // disk before it is acknowledged: an acknowledged revocation survives a crash or power loss).
      database.exec('pragma synchronous = NORMAL');
      walSync = new WalSync(`${file}-wal`, options.walSync);
    } else {
      // FULL: a commit is on disk before COMMIT returns.
      database.exec('pragma synchronous = FULL');
    }
    database.exec('pragma busy_timeout = 5000');
    database.exec('pragma foreign_keys = ON');
    // A savepoint's sub-journal (the original of every page changed since it opened; the group
    // commit opens one per transaction of a batch) and temporary tables stay in memory. With
    // SQLite's default, a batch's sub-journal past 64 KiB goes into a temporary file that SQLite
    // creates, writes page by page and deletes: about 10 more system calls per ChatApp refresh,
    // and about a tenth fewer refreshes a second (bench/RESULTS.md). Nothing durable is in it:
    // it only undoes a savepoint rolled back inside a transaction that is still open.
    database.exec('pragma temp_store = MEMORY');
    // A WAL that grew under a burst is cut back to this size once it is reused.
    database.exec(`pragma journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  } catch (error) {
    void walSync?.stop();
    throw unopenable(file, namedSqliteError(error));
  }
  let checkpointer: Checkpointer | null = null;
  if (threads) {
    checkpointer = new Checkpointer(file);
    database.exec(`pragma wal_autocheckpoint = ${BACKSTOP_WAL_PAGES}`);
  }
  const sync = walSync;
  const statements = kyselyDatabase(database, sync ? () => sync.noteCommit() : null);
  const db = new Kysely<DB>({
    dialect: new ImmediateSqliteDialect({ database: statements }, async () => {
      await sync?.stop();
      await checkpointer?.stop();
    }),
  });
  return {
    kind: 'sqlite',
    db,
    idColumn: (col) => col.primaryKey().autoIncrement(),
    groupCommit: true,
    // What Kysely's SQLite driver does with a statement (SqliteConnection.executeQuery), without
    // its turns of promises: the same kept statements, the same rows and counts.
    direct(sql, parameters) {
      const statement = statements.prepare(sql);
      if (statement.reader) return { rows: statement.all(parameters) };
      const { changes, lastInsertRowid } = statement.run(parameters);
      return { insertId: BigInt(lastInsertRowid), numAffectedRows: BigInt(changes), rows: [] };
    },
    keyShareLocks: false,
    isTransient: (e) => /^SQLITE_(BUSY|LOCKED)/.test(sqliteCode(e)),
    // AUTOINCREMENT already continues after the largest id ever inserted.
    syncIdSequence: async () => {},
    isUnavailable: (e) => /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB)/.test(sqliteCode(e)),
    durable: sync ? () => sync.durable() : () => undefined,
    startClock: async () => systemClockHandle,
    bridgeChanges: async () => noChangeBridge,
    insertFeed(reads) {
      const dataVersion = database.prepare('pragma data_version');
      return new SqliteInsertFeed({ dataVersion: () => Number((dataVersion.get() as { data_version: number }).data_version), hashesBetween: reads.hashesBetween });
    },
    withMigrationDb: (fn) => fn(db),
    lockAuditChain: async () => {},
    chainAfterCommit: false,
    dataModifyingCtes: false,
    skipLocked: sql``,
  };
}

// int8 (bigint) columns hold unix milliseconds and ids: well inside Number's safe range.
pg.types.setTypeParser(20, (v) => Number(v));

const PG_TRANSIENT = new Set(['40001', '40P01', '55P03']);
const PG_UNAVAILABLE_CLASSES = ['08', '53', '57P', '58'];
/**
 * 57014 query_canceled: the statement ran or waited (for a row lock) past statement_timeout, or an
 * operator cancelled it. The statement did nothing and its transaction is rolled back, so the
 * client may try again later. 25P03 idle_in_transaction_session_timeout: the server ended this
 * session because it sat inside a transaction too long (this node stalled); the transaction is
 * rolled back. pg usually reports that one on the next query as a lost connection (matched by
 * PG_CONNECTION_LOST), but a query sent as the server ends the session gets the FATAL itself.
 */
const PG_UNAVAILABLE_CODES = new Set(['57014', '25P03']);
const NET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** The LISTEN session's application_name, as shown in pg_stat_activity. */
export const LISTEN_APPLICATION_NAME = 'tokend-listen';
/** The API-token filter's LISTEN session (src/store/token-feeds.ts). */
export const LISTEN_INSERTS_APPLICATION_NAME = 'tokend-listen-inserts';
/** The audit chainer's session's application_name (src/store/audit.ts). */
export const CHAIN_APPLICATION_NAME = 'tokend-audit-chain';
/** The migrations' session's application_name (withMigrationDb). */
export const MIGRATE_APPLICATION_NAME = 'tokend-migrate';

export interface PostgresOptions {
  /** Most connections this process opens to the database (TOKEND_DATABASE_POOL_SIZE). */
  poolSize?: number;
  /** statement_timeout of every session but the migrations', in ms (TOKEND_DATABASE_STATEMENT_TIMEOUT, default 10 s); 0: none. */
  statementTimeoutMs?: number;
  /** idle_in_transaction_session_timeout of every session, in ms (TOKEND_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT, default 30 s); 0: none. */
  idleInTransactionTimeoutMs?: number;
}

/** How tokend connects to PostgreSQL, but for application_name and the session settings below. */
export function postgresConnectionConfig(url: string): pg.ClientConfig {
  return { connectionString: url, connectionTimeoutMillis: 5000, keepAlive: true };
}

/**
 * The statement that gives a new session tokend's timeouts, run on it before its first use
 * (configuredSessions). Explicit zeros turn a timeout off even where the role or the database sets
 * one. Not startup parameters: PgBouncer refuses those it does not know
 * (`unsupported startup parameter: statement_timeout`), and SET works through it and anywhere else.
 */
export function sessionSettingsSql(statementTimeoutMs: number, idleInTransactionTimeoutMs: number): string {
  for (const ms of [statementTimeoutMs, idleInTransactionTimeoutMs]) {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new TypeError(`a session timeout must be a whole number of ms, not ${ms}`);
  }
  return `set statement_timeout = ${statementTimeoutMs}; set idle_in_transaction_session_timeout = ${idleInTransactionTimeoutMs}`;
}

/**
 * A pg.Pool with the error listeners every tokend pool needs:
 * - an idle client whose server went away emits 'error' on the pool; without a listener it would
 *   crash the process. pg-pool drops that client, and a later query opens a new connection: this
 *   is how a node resumes by itself once the database is back.
 * - a client checked out of the pool between two statements (inside a transaction, while core
 *   awaits something else) has no listener of pg-pool's: when the server ends the session then
 *   ("terminating connection due to administrator command" on a restart, or due to
 *   idle-in-transaction timeout after this node stalled), pg emits 'error' on the client, and
 *   unheard that is an uncaught exception. Heard, the client is only marked broken: its next
 *   query fails (-> 503) and pg-pool discards it on release instead of handing it out again.
 */
function newPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

/**
 * The pool as Kysely sees it: every session runs `settings` once, before it is first handed out.
 * A session whose settings fail is destroyed (never handed out without them) and the caller gets
 * the error, which the store turns into 503 like any other connection failure.
 */
function configuredSessions(pool: pg.Pool, settings: string): PostgresPool {
  const configured = new WeakSet<pg.PoolClient>();
  return {
    Client: pg.Client,
    options: pool.options,
    async connect() {
      const client = await pool.connect();
      if (configured.has(client)) return client;
      try {
        await client.query(settings);
      } catch (error) {
        client.release(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      configured.add(client);
      return client;
    },
    end: () => pool.end(),
  };
}

/** Messages of pg / pg-pool errors that mean "the connection is gone", which carry no SQLSTATE. */
const PG_CONNECTION_LOST =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Postgres connection has been discarded|Query read timeout/i;

export function openPostgres(url: string, options: PostgresOptions = {}): SqlDialect {
  // Server-side timeouts on every session of the pool (docs/operations.md, a node that stalls): a
  // statement waiting for a row that a stalled node locked gives up after statement_timeout
  // (-> 503), and the server ends the stalled node's session after
  // idle_in_transaction_session_timeout, which rolls its transaction back and releases its locks.
  const statementMs = options.statementTimeoutMs ?? 10_000;
  const idleInTransactionMs = options.idleInTransactionTimeoutMs ?? 30_000;
  const connection = postgresConnectionConfig(url);
  // application_name makes tokend's sessions recognisable in pg_stat_activity (operators, tests).
  const pool = newPool({ ...connection, application_name: 'tokend', max: options.poolSize ?? 10 });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: configuredSessions(pool, sessionSettingsSql(statementMs, idleInTransactionMs)) }) });
  return {
    kind: 'postgres',
    db,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: options.poolSize ?? 10 }),
    idColumn: (col) => col.primaryKey().generatedByDefaultAsIdentity(),
    groupCommit: false,
    keyShareLocks: true,
    durable: () => undefined,
    async lockAuditChain(trx) {
      await sql`select pg_advisory_xact_lock(${sql.lit(AUDIT_CHAIN_LOCK)})`.execute(trx);
    },
    chainAfterCommit: true,
    dataModifyingCtes: true,
    openSideDb(applicationName) {
      const side = newPool({ ...connection, application_name: applicationName, max: 1 });
      return new Kysely<DB>({ dialect: new PostgresDialect({ pool: configuredSessions(side, sessionSettingsSql(statementMs, idleInTransactionMs)) }) });
    },
    skipLocked: sql`for update skip locked`,
    isTransient: (e) => PG_TRANSIENT.has(sqliteCode(e)),
    async syncIdSequence(db, table) {
      // Never backwards: another process may hold an id it drew but has not committed yet (so
      // max(id) does not show it); setting the sequence below it would hand that id out twice.
      await sql`select setval(seq, greatest((select max(id) from ${sql.table(table)}), coalesce(pg_sequence_last_value(seq), 1), 1))
        from (select pg_get_serial_sequence(${table}, 'id')::regclass as seq) s`.execute(db);
    },
    isUnavailable(e) {
      const code = sqliteCode(e);
      if (NET_ERRORS.has(code) || PG_UNAVAILABLE_CODES.has(code) || PG_UNAVAILABLE_CLASSES.some((c) => code.startsWith(c))) return true;
      return PG_CONNECTION_LOST.test(e instanceof Error ? e.message : '');
    },
    async startClock(log) {
      const clock = new DatabaseClock({
        // clock_timestamp(), not now(): now() is frozen at the start of the transaction.
        read: async () => {
          const r = await sql<{ ms: number }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(db);
          return Number(r.rows[0]!.ms);
        },
        ...(log ? { log } : {}),
      });
      return clock.start();
    },
    async bridgeChanges(bus, log) {
      const bridge = new PgChangeBridge({
        bus,
        // No timeouts to set: it never opens a transaction, and its statements (LISTEN, a ping)
        // take no locks a stalled node could hold.
        newClient: () => new pg.Client({ ...connection, application_name: LISTEN_APPLICATION_NAME }),
        notify: async (channel, payload) => {
          await sql`select pg_notify(${channel}, ${payload})`.execute(db);
        },
        ...(log ? { log } : {}),
      });
      return bridge.start();
    },
    insertFeed(_reads, log) {
      return new PgInsertFeed({
        newClient: () => new pg.Client({ ...connection, application_name: LISTEN_INSERTS_APPLICATION_NAME }),
        notify: async (channel, payload) => {
          await sql`select pg_notify(${channel}, ${payload})`.execute(db);
        },
        ...(log ? { log } : {}),
      });
    },
    async withMigrationDb(fn) {
      // Migrations run on a session of their own, opened for them and closed after, with no
      // statement_timeout: a schema change may rightly take longer than any request's statement
      // (an index built on a large table), and a node that starts while another one migrates
      // waits for Kysely's migration lock (pg_advisory_lock, one statement) for as long as that
      // migration takes. Not `set local statement_timeout = 0` inside each migration's
      // transaction: Kysely's Migrator also runs statements outside that transaction (creating
      // its tables, taking that lock), all of which would keep the request timeout. Nor a
      // `set` on a session of the request pool, which would go back to the pool without its
      // timeout. idle_in_transaction_session_timeout stays: a node that stalls mid-migration has
      // its session ended, its transaction rolled back, and the migration lock (a session lock)
      // released, so another node can migrate.
      const pool = newPool({ ...connection, application_name: MIGRATE_APPLICATION_NAME, max: 1 });
      const migrationDb = new Kysely<DB>({ dialect: new PostgresDialect({ pool: configuredSessions(pool, sessionSettingsSql(0, idleInTransactionMs)) }) });
      try {
        return await fn(migrationDb);
      } finally {
        await migrationDb.destroy();
      }
    },
  };
}

/** Picks the dialect from the configured URL; empty means SQLite in the data dir. */
export function openDialect(databaseUrl: string, dataDir: string, options: PostgresOptions & SqliteOptions = {}): SqlDialect {
  if (databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://')) return openPostgres(databaseUrl, options);
  const file = databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length) : `${dataDir.replace(/\/+$/, '')}/tokend.db`;
  return openSqlite(file, options);
}
