/**
 * WAL checkpoints off the event loop.
 *
 * node:sqlite is synchronous: whatever SQLite does runs on the thread that serves HTTP. By
 * default the connection that commits also checkpoints (every 1000 WAL pages it copies them into
 * the database file and syncs it), so every few group commits one request batch waited for the
 * copy of a thousand pages. bench/RESULTS.md measured a third of the time of a durable write
 * there. Here a worker thread with its own connection does that work with PASSIVE checkpoints,
 * which SQLite runs beside the writer without blocking it. The writer's own automatic checkpoint
 * stays on, at a higher mark: the backstop should the thread fall behind or die, and under
 * sustained writes the end of each WAL cycle (SQLite restarts the WAL only after a checkpoint that
 * caught up with every commit, which a thread running beside a busy writer rarely sees; by then the
 * writer's checkpoint has only the last few pages left to copy).
 *
 * Durability and isolation are SQLite's own: a checkpoint copies only committed pages, syncs the
 * file (synchronous=FULL) before the WAL is reused, and never moves past a reader's snapshot.
 */
import { startStoreThread, stopStoreThread, type StoreThread } from './store-thread.ts';

export interface CheckpointerOptions {
  /** Pause between checkpoints while the WAL still has pages to copy (ms). */
  busyMs?: number;
  /** Pause when there is nothing to copy (ms). */
  idleMs?: number;
  /** Told about a failed checkpoint (the backstop covers it; the caller may log it). */
  onError?: (message: string) => void;
}

/** WAL pages after which the writing connection checkpoints by itself (SQLite's default is 1000). */
export const BACKSTOP_WAL_PAGES = 10_000;

export class Checkpointer {
  readonly #thread: StoreThread;
  #stopping: Promise<void> | null = null;

  constructor(file: string, options: CheckpointerOptions = {}) {
    // A crashed thread leaves the backstop doing the work.
    this.#thread = startStoreThread('store/checkpoint-worker', { file, busyMs: options.busyMs ?? 2, idleMs: options.idleMs ?? 100 });
    this.#thread.worker.on('message', (m: { error?: string }) => {
      if (m.error) options.onError?.(m.error);
    });
    this.#thread.worker.on('error', (error) => options.onError?.(error.message));
  }

  /**
   * Stops the thread and resolves once it has exited, its connection closed (before the writer's
   * own close, so that the writer's is the last connection and removes the WAL). A thread that
   * does not stop within 2 s is terminated; one that already died resolves at once.
   */
  stop(): Promise<void> {
    return (this.#stopping ??= stopStoreThread(this.#thread));
  }
}
