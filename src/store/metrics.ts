/**
 * What the store tells an observer: transaction latency and group-commit batch sizes (as they
 * happen), and, read when metrics are scraped, the PostgreSQL pool's use. `NO_STORE_METRICS` is the
 * disabled implementation.
 */
export interface StoreMetrics {
  /** A write transaction (with its retries) finished after `seconds`, committed or failed. */
  transaction(seconds: number, ok: boolean): void;
  /** SQLite: one COMMIT covered `size` transactions (src/store/group-commit.ts). */
  groupCommitBatch(size: number): void;
}

export const NO_STORE_METRICS: StoreMetrics = {
  transaction: () => {},
  groupCommitBatch: () => {},
};

/** The PostgreSQL pool at one moment: connections open, idle, and requests waiting for one. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}
