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
import { DAY_MS, type Clock } from './clock.ts';
import type { CounterRepo } from './ports.ts';

/** How long daily check counts are kept (the chart shows at most this many days). */
export const CHECK_HISTORY_DAYS = 31;
/** Bound on distinct (account, day) entries held between flushes, whatever the database does. */
const MAX_PENDING = 50_000;
/** How often pending counts are written (the chart is at most this stale for other nodes). */
const FLUSH_EVERY_MS = 10_000;

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
  readonly #counters: CounterRepo;
  readonly #clock: Clock;
  #pending = new Map<string, { accountId: number; day: number; count: number }>();
  #flushing: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(counters: CounterRepo, clock: Clock) {
    this.#counters = counters;
    this.#clock = clock;
  }

  /** Counts one successful token check for the account. Synchronous, no I/O. */
  recordCheck(accountId: number): void {
    const day = Math.floor(this.#clock.now() / DAY_MS) * DAY_MS;
    const key = `${accountId}:${day}`;
    const entry = this.#pending.get(key);
    if (entry) entry.count++;
    else if (this.#pending.size < MAX_PENDING) this.#pending.set(key, { accountId, day, count: 1 });
    if (!this.#timer) {
      // Started by the first check, so CLI commands (which check nothing) never hold a timer.
      this.#timer = setInterval(() => void this.flush().catch(() => {}), FLUSH_EVERY_MS);
      this.#timer.unref();
    }
  }

  /** Stops the timer and writes what is pending (shutdown). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
  }

  /** Writes the pending counts; on failure they are kept for the next flush. Never runs twice at once. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#flushing = (async () => {
      for (const [key, entry] of batch) {
        try {
          await this.#counters.add(checkScope(entry.accountId), entry.day, entry.count, entry.day + (CHECK_HISTORY_DAYS + 1) * DAY_MS);
          batch.delete(key);
        } catch {
          break;
        }
      }
      // Whatever did not land goes back, merged with what arrived meanwhile.
      for (const [key, entry] of batch) {
        const now = this.#pending.get(key);
        if (now) now.count += entry.count;
        else if (this.#pending.size < MAX_PENDING) this.#pending.set(key, entry);
      }
    })();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
  }

  /**
   * Checks per UTC day of the whole instance for the last `days` days (today included, oldest
   * first): every account's stored counts plus what this node has not flushed yet.
   */
  async instanceChecksPerDay(days: number): Promise<DayCount[]> {
    const today = Math.floor(this.#clock.now() / DAY_MS) * DAY_MS;
    const from = today - (days - 1) * DAY_MS;
    const byDay = new Map((await this.#counters.seriesSum(CHECK_SCOPE_PREFIX, from)).map((r) => [r.windowStart, r.count]));
    for (const entry of this.#pending.values()) {
      if (entry.day >= from) byDay.set(entry.day, (byDay.get(entry.day) ?? 0) + entry.count);
    }
    const out: DayCount[] = [];
    for (let day = from; day <= today; day += DAY_MS) out.push({ day, count: byDay.get(day) ?? 0 });
    return out;
  }

  /** Checks per UTC day for the last `days` days (today included, oldest first), stored plus not yet flushed. */
  async checksPerDay(accountId: number, days: number): Promise<DayCount[]> {
    const today = Math.floor(this.#clock.now() / DAY_MS) * DAY_MS;
    const from = today - (days - 1) * DAY_MS;
    const stored = await this.#counters.series(checkScope(accountId), from);
    const byDay = new Map(stored.map((r) => [r.windowStart, r.count]));
    const out: DayCount[] = [];
    for (let day = from; day <= today; day += DAY_MS) {
      const pending = this.#pending.get(`${accountId}:${day}`)?.count ?? 0;
      out.push({ day, count: (byDay.get(day) ?? 0) + pending });
    }
    return out;
  }
}
