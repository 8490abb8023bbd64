/**
 * Usage figures for the personal cabinet and the operator: token checks per account (and for the
 * whole instance) per UTC day.
 *
 * A check is the hottest path tokend has, so it never writes: `recordCheck` bumps an in-memory
 * count, and `flush` (every few seconds, and at shutdown) adds the batch to the shared counters
 * table with one upsert per (account, day). Several nodes add to the same rows, so the figures
 * are cluster-wide; a node that crashes loses at most one interval of counts, which is fine for
 * a usage chart and never affects a limit.
 */
import type { Clock } from './clock.ts';
import { DailyCounts } from './daily-counts.ts';
import type { CounterRepo } from './ports.ts';

/** How long daily check counts are kept (the chart shows at most this many days). */
export const CHECK_HISTORY_DAYS = 31;

export interface DayCount {
  /** Start of the UTC day, unix ms. */
  day: number;
  count: number;
}

const CHECK_SCOPE_PREFIX = 'checks:';

function checkScope(accountId: number): string {
  return `${CHECK_SCOPE_PREFIX}${accountId}`;
}

export class UsageMeter {
  readonly #counts: DailyCounts;
  /** Scope strings by account, made once each (the same string every check: its hash is computed once). */
  #scopes = new Map<number, string>();

  constructor(counters: CounterRepo, clock: Clock) {
    this.#counts = new DailyCounts(counters, clock, { keepDays: CHECK_HISTORY_DAYS });
  }

  /** Counts one successful token check for the account. Synchronous, no I/O. */
  recordCheck(accountId: number): void {
    let scope = this.#scopes.get(accountId);
    if (scope === undefined) {
      if (this.#scopes.size >= 100_000) this.#scopes = new Map();
      this.#scopes.set(accountId, (scope = checkScope(accountId)));
    }
    this.#counts.add(scope);
  }

  /** Stops the timer and writes what is pending (shutdown). */
  close(): Promise<void> {
    return this.#counts.close();
  }

  /** Writes the pending counts; on failure they are kept for the next flush. Never runs twice at once. */
  flush(): Promise<void> {
    return this.#counts.flush();
  }

  /**
   * Checks per UTC day of the whole instance for the last `days` days (today included, oldest
   * first): every account's stored counts plus what this node has not flushed yet.
   */
  instanceChecksPerDay(days: number): Promise<DayCount[]> {
    return this.#counts.perDaySummed(CHECK_SCOPE_PREFIX, days);
  }

  /** Checks per UTC day for the last `days` days (today included, oldest first), stored plus not yet flushed. */
  checksPerDay(accountId: number, days: number): Promise<DayCount[]> {
    return this.#counts.perDay(checkScope(accountId), days);
  }
}
