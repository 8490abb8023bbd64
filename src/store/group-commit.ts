/**
 * Group commit for the embedded SQLite store: one fsync for many write transactions.
 *
 * With `synchronous=FULL` every COMMIT waits for the disk, and SQLite has one writer: so
 * durable writes (token issuance, refresh, revocation) were capped at one per fsync, a few hundred
 * per second on an ordinary disk, whatever the CPU. Here the transactions that are waiting when
 * one starts (and those that arrive while it runs) are executed one after another inside one
 * physical `BEGIN IMMEDIATE … COMMIT`, each in its own savepoint, and all are acknowledged after
 * that single COMMIT, so one fsync covers the whole batch.
 *
 * What each caller sees is unchanged:
 * - isolation: the transactions of a batch run strictly one after another on the one connection,
 *   each seeing the effects of those before it (a serial order, as before);
 * - atomicity: a transaction that throws (or returns `rollback(value)`) is rolled back to its savepoint alone, and its caller
 *   gets its error; the others of the batch commit;
 * - durability: no caller hears of success before the COMMIT that contains its writes is on disk:
 *   with `durable` (the WAL sync, src/store/wal-sync.ts), once the sync that followed the COMMIT
 *   returned; without it, once the COMMIT returned (synchronous=FULL). If that COMMIT or its sync
 *   fails, every transaction of the batch fails with its error (the store's retry wrapper runs
 *   transient failures again, as it always did);
 * - no waiting for company: a batch starts on the next turn of the event loop, with whatever has
 *   queued by then; a lone transaction is a batch of one.
 *
 * A batch is bounded in count and time so that reads queued behind it on the connection wait
 * little longer than they did behind a single commit.
 *
 * With `durable`, the next batch starts as soon as a COMMIT returned, while the sync of the last
 * one runs on its thread: its transactions see what the batches before wrote (committed, maybe not
 * yet on disk), and are answered after a later sync, which covers those batches too (the log is
 * written in order). So no answer rests on a write that is not on disk.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { isRollback, type Repos, type Rollback } from '../core/ports.ts';
import { runPreparedDirectly, type DirectRunner } from './prepared.ts';
import type { DB } from './schema.ts';

export interface GroupCommitOptions {
  /** Most transactions one COMMIT covers. */
  maxBatch?: number;
  /** No transaction joins a batch that has run this long (ms); the next batch takes it. */
  maxBatchMs?: number;
  /** Told the size of every batch that committed (metrics). */
  onBatch?: (size: number) => void;
  /**
   * After a COMMIT returned: nothing when it is on disk already, else a promise that resolves
   * once it is (SqlDialect.durable). The batch's callers are answered after it.
   */
  durable?: () => Promise<void> | undefined;
  /**
   * Runs a statement at once on the connection a batch holds (SqlDialect.direct): the batch's
   * savepoint statements and its transactions' prepared queries go through it, not through Kysely.
   */
  direct?: DirectRunner;
}

interface Pending {
  fn: (tx: Repos) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

// Three statements per transaction of a batch: compiled once, not built by Kysely each time.
const SAVEPOINT = CompiledQuery.raw('savepoint tokend_batch');
const ROLLBACK_TO = CompiledQuery.raw('rollback to tokend_batch');
const RELEASE = CompiledQuery.raw('release tokend_batch');

export class GroupCommit {
  readonly #db: Kysely<DB>;
  readonly #repos: (trx: Transaction<DB>) => Repos;
  readonly #maxBatch: number;
  readonly #maxBatchMs: number;
  readonly #onBatch: ((size: number) => void) | undefined;
  readonly #durable: (() => Promise<void> | undefined) | undefined;
  readonly #direct: DirectRunner | undefined;
  #queue: Pending[] = [];
  #running = false;
  #batches = 0;
  #transactions = 0;

  constructor(db: Kysely<DB>, repos: (trx: Transaction<DB>) => Repos, options: GroupCommitOptions = {}) {
    this.#db = db;
    this.#repos = repos;
    this.#maxBatch = options.maxBatch ?? 128;
    this.#maxBatchMs = options.maxBatchMs ?? 20;
    this.#onBatch = options.onBatch;
    this.#durable = options.durable;
    this.#direct = options.direct;
  }

  /** Physical COMMITs attempted and logical transactions run so far (for tests and metrics). */
  get stats(): { batches: number; transactions: number } {
    return { batches: this.#batches, transactions: this.#transactions };
  }

  /** Runs `fn` in a write transaction; resolves after the COMMIT that made it durable. */
  run<T>(fn: (tx: Repos) => Promise<T | Rollback<T>>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /**
   * A batch starts on the next turn of the event loop, not at once: requests whose bytes arrived
   * while the last COMMIT held the thread are read in this turn's I/O phase and queue up first.
   * Started at once, each would find an empty queue and pay a COMMIT of its own.
   */
  #schedule(): void {
    if (this.#running || this.#queue.length === 0) return;
    this.#running = true;
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      await this.#batch();
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  async #batch(): Promise<void> {
    const batch: { item: Pending; outcome: Outcome | null }[] = [];
    this.#batches++;
    try {
      await this.#db.transaction().execute(async (trx) => {
        const direct = this.#direct;
        // The batch holds the connection until its COMMIT, and runs its transactions one at a time.
        if (direct) runPreparedDirectly(trx, direct);
        const exec = direct ? (q: CompiledQuery) => direct(q.sql, q.parameters) : (q: CompiledQuery) => trx.executeQuery(q);
        const repos = this.#repos(trx);
        const started = performance.now();
        while (this.#queue.length > 0 && batch.length < this.#maxBatch && performance.now() - started < this.#maxBatchMs) {
          const entry: { item: Pending; outcome: Outcome | null } = { item: this.#queue.shift()!, outcome: null };
          batch.push(entry);
          this.#transactions++;
          await exec(SAVEPOINT);
          try {
            const value = await entry.item.fn(repos);
            // A returned rollback(value): undo this transaction's writes, answer with the value.
            if (isRollback(value)) await exec(ROLLBACK_TO);
            await exec(RELEASE);
            entry.outcome = { ok: true, value: isRollback(value) ? value.value : value };
          } catch (error) {
            // Undo this transaction's writes only; the batch goes on.
            await exec(ROLLBACK_TO);
            await exec(RELEASE);
            entry.outcome = { ok: false, error };
          }
        }
      });
    } catch (error) {
      // BEGIN, COMMIT or a savepoint statement failed: nothing of the batch is durable. When not
      // even BEGIN went through, every waiting transaction gets the error (the store's retry
      // wrapper backs off and queues the transient ones again), so a locked database cannot
      // turn this loop into a spin.
      const failed = batch.length > 0 ? batch.map((b) => b.item) : this.#queue.splice(0);
      for (const item of failed) item.reject(error);
      return;
    }
    this.#onBatch?.(batch.length);
    const answer = (): void => {
      for (const { item, outcome } of batch) {
        if (outcome!.ok) item.resolve(outcome!.value);
        else item.reject(outcome!.error);
      }
    };
    const pending = this.#durable?.();
    if (pending === undefined) return answer();
    // Not awaited: the next batch may run while this one's sync does. A failed sync fails the
    // batch; what its transactions wrote may or may not be on disk, and no caller is told it is.
    pending.then(answer, (error: unknown) => {
      for (const { item } of batch) item.reject(error);
    });
  }
}
