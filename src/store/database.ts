import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { StoreUnavailableError } from '../core/errors.ts';
import { isRollback, type Repos, type Rollback, type Store } from '../core/ports.ts';
import { accountRepo, appRepo } from './accounts.ts';
import { apiTokenRepo, instanceSecretRepo, resourceServerRepo } from './api-tokens.ts';
import { consoleSessionRepo } from './console.ts';
import { AuditChainer, auditRepo } from './audit.ts';
import { counterRepo } from './counters.ts';
import { trafficRepo } from './traffic.ts';
import { CHAIN_APPLICATION_NAME, type SqlDialect } from './dialect.ts';
import { GroupCommit } from './group-commit.ts';
import { NO_STORE_METRICS, type StoreMetrics } from './metrics.ts';
import { migrateToLatest } from './migrations/index.ts';
import { idempotencyRepo, operatorKeyRepo, passwordResetRepo } from './operator-keys.ts';
import { policyRepo } from './policies.ts';
import type { DB } from './schema.ts';
import { serviceAccountRepo, serviceKeyRepo } from './service-accounts.ts';
import { sessionRepo } from './sessions.ts';
import { signingKeyRepo } from './signing-keys.ts';
import { leakRepo } from './leaks.ts';
import { webhookRepo } from './webhooks.ts';

const MAX_ATTEMPTS = 8;

function reposOf(db: Kysely<DB>, d: SqlDialect, chainer: AuditChainer | null): Repos {
  const audit = auditRepo(db, d, chainer);
  const counters = counterRepo(db);
  const sessions = sessionRepo(db, d, audit, chainer);
  return {
    operatorKeys: operatorKeyRepo(db),
    idempotency: idempotencyRepo(db),
    passwordResets: passwordResetRepo(db),
    consoleSessions: consoleSessionRepo(db),
    accounts: accountRepo(db, d),
    apps: appRepo(db, d),
    sessions,
    counters,
    traffic: trafficRepo(db),
    audit,
    apiTokens: apiTokenRepo(db),
    resourceServers: resourceServerRepo(db),
    instanceSecrets: instanceSecretRepo(db),
    serviceAccounts: serviceAccountRepo(db),
    serviceKeys: serviceKeyRepo(db, d, { counters, sessions, audit }, chainer),
    signingKeys: signingKeyRepo(db),
    policies: policyRepo(db),
    webhooks: webhookRepo(db, d),
    leaks: leakRepo(db),
  };
}

/**
 * Runs `op` again on a transient conflict (SQLITE_BUSY, PostgreSQL 40001 serialization failure,
 * 40P01 deadlock): the database rolled the statement or transaction back, so running it again is
 * safe. Jittered backoff keeps the contenders from colliding again in lockstep.
 */
async function retrying<T>(d: SqlDialect, op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (error) {
      if (d.isTransient(error) && attempt < MAX_ATTEMPTS) {
        await sleep(Math.floor(Math.random() * 10 * attempt));
        continue;
      }
      throw translate(error, d);
    }
  }
}

/**
 * Whatever `op` gave, once every commit made before it returned is on disk (SqlDialect.durable):
 * a write outside a transaction is answered only once it is durable, and a read answers nothing
 * that a crash could still take back (it may have read what another request wrote and has not
 * been told is durable yet). Nothing to wait for, nothing awaited.
 */
async function settled<T>(d: SqlDialect, op: () => Promise<T>): Promise<T> {
  const value = await op();
  const pending = d.durable();
  if (pending !== undefined) {
    try {
      await pending;
    } catch (error) {
      throw translate(error, d);
    }
  }
  return value;
}

/**
 * Wraps every repository method so that a database that is down or locked surfaces as
 * StoreUnavailableError (503), never as an anonymous 500. Each call outside a transaction is one
 * autocommit statement, so it is retried on a transient conflict like a transaction is; its
 * answer waits until what it wrote or read is on disk (settled).
 */
function guarded<T extends object>(target: T, d: SqlDialect): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if (typeof value === 'function') {
        return (...args: unknown[]) => settled(d, () => retrying(d, () => (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args)));
      }
      if (typeof value === 'object' && value !== null) return guarded(value, d);
      return value;
    },
  });
}

function translate(error: unknown, d: SqlDialect): unknown {
  if (error instanceof StoreUnavailableError) return error;
  // A conflict still there after every retry (or a database that is down): the client may try
  // again later, so 503 with Retry-After, not a 500 (issue 5: never a 500 for a deadlock).
  if (d.isUnavailable(error) || d.isTransient(error)) return new StoreUnavailableError(error);
  return error;
}

/**
 * One transaction on a connection of its own: commits a value, rolls back a `rollback(value)` or
 * a throw. Kysely's transaction rolls back only when its callback throws, so a returned rollback
 * is carried out by a private sentinel that never leaves this function.
 */
async function inTransaction<T>(d: SqlDialect, chainer: AuditChainer | null, fn: (tx: Repos) => Promise<T | Rollback<T>>): Promise<T> {
  let undone: Rollback<T> | null = null;
  try {
    return await d.db.transaction().execute(async (trx) => {
      const result = await fn(reposOf(trx, d, chainer));
      if (!isRollback(result)) return result;
      undone = result;
      throw UNDO;
    });
  } catch (error) {
    if (error === UNDO && undone !== null) return (undone as Rollback<T>).value;
    throw error;
  }
}

const UNDO = Symbol('undo');

export interface Database extends Store {
  readonly dialect: SqlDialect;
  migrate(): Promise<string[]>;
}

export function createStore(d: SqlDialect, metrics: StoreMetrics = NO_STORE_METRICS): Database {
  // The chainer links on a connection of its own where the dialect has one (PostgreSQL).
  const chainDb = d.chainAfterCommit ? (d.openSideDb?.(CHAIN_APPLICATION_NAME) ?? d.db) : null;
  const chainer = chainDb ? new AuditChainer(chainDb, d) : null;
  const base = reposOf(d.db, d, chainer);
  const batches = d.groupCommit
    ? new GroupCommit(d.db, (trx) => reposOf(trx, d, chainer), {
        onBatch: (size) => metrics.groupCommitBatch(size),
        durable: () => d.durable(),
        ...(d.direct ? { direct: d.direct } : {}),
      })
    : null;
  // The repositories write a rotation or a token creation as one statement (src/store/sessions.ts).
  const oneStatement = d.dataModifyingCtes && chainer !== null;
  /** Runs a write (retried on a transient conflict), counted, and pokes the chainer after it. */
  async function written<T>(run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let ok = false;
    const appended = chainer?.appended;
    try {
      const value = await retrying(d, run);
      ok = true;
      return value;
    } finally {
      metrics.transaction((performance.now() - started) / 1000, ok);
      // Committed (or rolled back, which leaves nothing to link): entries it wrote get their link now.
      if (chainer && chainer.appended !== appended) chainer.poke();
    }
  }
  const store: Database = {
    ...guarded(base, d),
    kind: d.kind,
    dialect: d,
    // Not settled: the transaction that follows decides, and is answered after its own sync.
    readAhead: { findRefresh: (hash) => retrying(d, () => base.sessions.findRefresh(hash)) },
    // One statement that answers an unknown token itself: a refresh needs no read before it.
    rotatesUnread: oneStatement,
    async transaction(fn) {
      // GroupCommit answers after the sync of its batch; one transaction of its own, after its COMMIT.
      return written(() => (batches ? batches.run(fn) : settled(d, () => inTransaction(d, chainer, fn))));
    },
    async write(fn) {
      // Where the write is one statement, it commits by itself: no BEGIN, no COMMIT, no session
      // held idle between them. Elsewhere a transaction (SQLite: a place in a group commit).
      if (!oneStatement || batches) return store.transaction(fn);
      return written(() => settled(d, () => fn(base)));
    },
    async ping() {
      try {
        await sql`select 1`.execute(d.db);
      } catch (error) {
        throw new StoreUnavailableError(error);
      }
    },
    async close() {
      // What this process wrote is linked before it goes (a CLI command exits right after).
      await chainer?.stop().catch(() => {});
      if (chainDb && chainDb !== d.db) await chainDb.destroy();
      await d.db.destroy();
    },
    async migrate() {
      const report = await settled(d, () => migrateToLatest(d));
      return report.applied;
    },
  };
  return store;
}
