/**
 * Durable SQLite commits without holding the event loop for the disk.
 *
 * node:sqlite is synchronous: with `synchronous=FULL` every COMMIT waits, on the thread that serves
 * HTTP, for the fdatasync of the write-ahead log (0.3 ms on an idle disk, several ms on a busy one;
 * bench/RESULTS.md). In WAL mode that sync is the only thing FULL adds to NORMAL at a commit
 * (SQLite's wal.c: "Padding and syncing only occur if this set of frames complete a transaction and
 * if PRAGMA synchronous=FULL"; with powersafe overwrite, SQLite's default on Unix, there is no
 * padding). So the writer's connection runs with NORMAL, and this class makes the same fdatasync
 * of the same file on a thread of its own, after the COMMIT returned; whoever waits for that
 * commit (the group commit's callers, a statement run outside a transaction) is answered only
 * once a sync that started after the commit has returned (docs/operations.md, durability).
 *
 * Syncs are coalesced: while one is running, commits keep going; the next sync covers every
 * commit made meanwhile, and each waiter is released by the first sync that started after its
 * commit. A sync that fails poisons the store: the kernel may have dropped the pages it could not
 * write, so no later commit can be called durable either, and every write waiting or to come fails
 * (503) until the process restarts.
 */
import type { Worker } from 'node:worker_threads';
import { startStoreThread, stopStoreThread, type StoreThread } from './store-thread.ts';

export interface WalSyncOptions {
  /**
   * Runs around every sync of the log; must call `sync` once and settle as it does. Tests use it to
   * watch the order of commits, syncs and answers, or to hold a sync back.
   */
  around?: (sync: () => Promise<void>) => Promise<void>;
}

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** What the failure of a sync becomes: SQLite's own name for it, so that callers answer 503. */
function syncFailure(cause: { message: string; code: string }): Error {
  return Object.assign(
    new Error(`the SQLite write-ahead log could not be synced to disk (${cause.code}: ${cause.message}); no write is acknowledged until tokend restarts`),
    { code: 'SQLITE_IOERR_FSYNC' },
  );
}

export class WalSync {
  readonly #thread: StoreThread;
  readonly #worker: Worker;
  readonly #around: WalSyncOptions['around'];
  /** Commits made on the connection, as counted by noteCommit. */
  #committed = 0;
  /** Commits a completed sync covers. */
  #synced = 0;
  /** Syncs started. */
  #syncs = 0;
  #inFlight = false;
  #waiters: Waiter[] = [];
  /** The answer of the sync in flight. */
  #settle: ((outcome: { error?: { message: string; code: string } }) => void) | null = null;
  #failed: Error | null = null;
  #stopping: Promise<void> | null = null;

  constructor(walFile: string, options: WalSyncOptions = {}) {
    this.#around = options.around;
    // Kept alive only while a sync is owed to someone (see #run).
    this.#thread = startStoreThread('store/wal-sync-worker', { wal: walFile });
    this.#worker = this.#thread.worker;
    this.#worker.on('message', (m: { synced: number; error?: { message: string; code: string } }) => {
      const settle = this.#settle;
      this.#settle = null;
      settle?.(m.error ? { error: m.error } : {});
    });
    this.#worker.on('error', (error) => this.#fail(syncFailure({ message: error.message, code: 'EWORKER' })));
    this.#worker.on('exit', () => {
      if (this.#stopping === null) this.#fail(syncFailure({ message: 'the sync thread stopped', code: 'EWORKER' }));
    });
  }

  /** A statement ended a write transaction on the connection: its pages are in the log, maybe not on disk. */
  noteCommit(): void {
    this.#committed++;
  }

  /**
   * Nothing (undefined) when every commit made so far is on disk; else a promise that resolves once
   * it is, or rejects when the sync failed. Cheap when nothing is pending: callers may ask often.
   */
  durable(): Promise<void> | undefined {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#synced >= this.#committed) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ upTo: this.#committed, resolve, reject });
      this.#run();
    });
  }

  /** Syncs and commits counted so far (tests, metrics). */
  get stats(): { syncs: number; committed: number; synced: number } {
    return { syncs: this.#syncs, committed: this.#committed, synced: this.#synced };
  }

  #run(): void {
    if (this.#inFlight || this.#waiters.length === 0 || this.#failed) return;
    this.#inFlight = true;
    // Everything committed before this point is in the log (COMMIT returned): the sync covers it.
    const target = this.#committed;
    this.#syncs++;
    this.#worker.ref();
    const sync = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        this.#settle = (outcome) => (outcome.error ? reject(syncFailure(outcome.error)) : resolve());
        this.#worker.postMessage({ sync: target });
      });
    const done = this.#around ? this.#around(sync) : sync();
    done.then(
      () => {
        this.#inFlight = false;
        this.#worker.unref();
        if (target > this.#synced) this.#synced = target;
        let n = 0;
        while (n < this.#waiters.length && this.#waiters[n]!.upTo <= this.#synced) this.#waiters[n++]!.resolve();
        this.#waiters.splice(0, n);
        this.#run();
      },
      (error: unknown) => {
        this.#inFlight = false;
        this.#worker.unref();
        const e = error as { message?: unknown; code?: unknown } | null;
        const failure = e?.code === 'SQLITE_IOERR_FSYNC' ? (error as Error) : syncFailure({ message: String(e?.message ?? error), code: String(e?.code ?? 'EIO') });
        this.#fail(failure);
      },
    );
  }

  #fail(error: Error): void {
    this.#failed ??= error;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(this.#failed);
  }

  /**
   * Waits for the commits made so far to be on disk (or to fail), then stops the thread and
   * resolves once it has exited.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.durable()?.catch(() => {});
      this.#worker.ref();
      await stopStoreThread(this.#thread);
    })();
    return this.#stopping;
  }
}
