/**
 * Counts per (scope, UTC day) kept in memory and added to the shared counters table in batches:
 * the model for every figure a hot path feeds (token checks per account, the client patterns of
 * src/core/client-patterns.ts). `add` is synchronous and never does I/O; `flush` (on a timer
 * started by the first count, and at shutdown) writes one upsert per pending (scope, day). Several
 * nodes add to the same rows, so the figures are cluster-wide; a node that crashes loses at most
 * one interval of counts, which is fine for figures that never decide a limit.
 */
import { DAY_MS, type Clock } from './clock.ts';
import type { CounterRepo } from './ports.ts';
import { FlushSchedule } from './write-behind.ts';

export interface DailyCountsOptions {
  /** How many days a stored count is kept (its row expires after that). */
  keepDays: number;
  /** Bound on distinct (scope, day) entries held between flushes, whatever the database does. */
  maxPending?: number;
  /** How often pending counts are written (the figures are at most this stale for other nodes). */
  flushEveryMs?: number;
}

/** Counters written by one statement of a flush. */
const FLUSH_CHUNK = 200;

interface Pending {
  scope: string;
  day: number;
  count: number;
}

export class DailyCounts {
  readonly #counters: CounterRepo;
  readonly #clock: Clock;
  readonly #keepDays: number;
  readonly #maxPending: number;
  /** Counts of earlier days not yet written, by `${scope}@${day}`. */
  #pending = new Map<string, Pending>();
  /** Today's counts by scope: the hot path's map (no key string to build). */
  #today = new Map<string, Pending>();
  #day = 0;
  #dayEnd = 0;
  /** Its count of flushes started: a read during which one started reads again (see #read). */
  readonly #schedule: FlushSchedule;

  constructor(counters: CounterRepo, clock: Clock, options: DailyCountsOptions) {
    this.#counters = counters;
    this.#clock = clock;
    this.#keepDays = options.keepDays;
    this.#maxPending = options.maxPending ?? 50_000;
    this.#schedule = new FlushSchedule(options.flushEveryMs ?? 10_000, () => this.flush());
  }

  /** Adds `n` to today's count of `scope`. Synchronous, no I/O, no string built. */
  add(scope: string, n = 1): void {
    const now = this.#clock.now();
    if (now >= this.#dayEnd) this.#rollDay(now);
    const entry = this.#today.get(scope);
    if (entry) entry.count += n;
    else if (this.#today.size + this.#pending.size < this.#maxPending) this.#today.set(scope, { scope, day: this.#day, count: n });
    this.#schedule.arm();
  }

  /** A new UTC day: yesterday's counts join the other pending days. */
  #rollDay(now: number): void {
    this.#moveTodayToPending();
    this.#day = Math.floor(now / DAY_MS) * DAY_MS;
    this.#dayEnd = this.#day + DAY_MS;
  }

  #moveTodayToPending(): void {
    for (const entry of this.#today.values()) {
      const key = `${entry.scope}@${entry.day}`;
      const held = this.#pending.get(key);
      if (held) held.count += entry.count;
      else this.#pending.set(key, entry);
    }
    this.#today = new Map();
  }

  /** Stops the timer and writes what is pending (shutdown). */
  close(): Promise<void> {
    return this.#schedule.close();
  }

  /** Writes the pending counts; on failure they are kept for the next flush. Never runs twice at once. */
  flush(): Promise<void> {
    return this.#schedule.run(() => {
      this.#moveTodayToPending();
      if (this.#pending.size === 0) return null;
      const batch = this.#pending;
      this.#pending = new Map();
      return () => this.#write(batch);
    });
  }

  async #write(batch: Map<string, Pending>): Promise<void> {
    // A few hundred counters per statement: one write (one fsync on SQLite) per chunk, not per counter.
    const keys = [...batch.keys()];
    for (let i = 0; i < keys.length; i += FLUSH_CHUNK) {
      const chunk = keys.slice(i, i + FLUSH_CHUNK);
      try {
        await this.#counters.addMany(
          chunk.map((key) => {
            const e = batch.get(key)!;
            return { scope: e.scope, windowStart: e.day, amount: e.count, expiresAt: e.day + (this.#keepDays + 1) * DAY_MS };
          }),
        );
        for (const key of chunk) batch.delete(key);
      } catch {
        break;
      }
    }
    // Whatever did not land goes back, merged with what arrived meanwhile.
    for (const [key, entry] of batch) {
      const now = this.#pending.get(key);
      if (now) now.count += entry.count;
      else if (this.#pending.size < this.#maxPending) this.#pending.set(key, entry);
    }
  }

  /**
   * What is stored plus what is held in memory, read consistently: a flush moves counts from memory
   * to the database, so a read it overlapped could miss them (or see them twice). Such a read is
   * made again; `add` runs synchronously on what the database answered and what memory holds.
   */
  async #read<S, T>(stored: () => Promise<S>, add: (stored: S) => T): Promise<T> {
    for (;;) {
      await this.#schedule.idle();
      const seen = this.#schedule.started;
      const value = await stored();
      if (this.#schedule.started === seen && !this.#schedule.busy) return add(value);
    }
  }

  /** The last `days` UTC days, today included: today's start and the first day's. */
  #lastDays(days: number): { today: number; from: number } {
    const today = Math.floor(this.#clock.now() / DAY_MS) * DAY_MS;
    return { today, from: today - (days - 1) * DAY_MS };
  }

  /** Adds to `sums` the counts held in memory of every scope under `prefix` from day `from` on, summed by `keyOf`. */
  #addHeld<K>(sums: Map<K, number>, prefix: string, from: number, keyOf: (entry: Pending) => K): Map<K, number> {
    for (const entry of [...this.#pending.values(), ...this.#today.values()]) {
      if (entry.day < from || !entry.scope.startsWith(prefix)) continue;
      const key = keyOf(entry);
      sums.set(key, (sums.get(key) ?? 0) + entry.count);
    }
    return sums;
  }

  /** Counts per UTC day for the last `days` days (today included, oldest first): stored plus not yet flushed. */
  async perDay(scope: string, days: number): Promise<{ day: number; count: number }[]> {
    const { today, from } = this.#lastDays(days);
    return this.#read(
      () => this.#counters.series(scope, from),
      (stored) => {
        const byDay = new Map(stored.map((r) => [r.windowStart, r.count]));
        const out: { day: number; count: number }[] = [];
        const current = this.#today.get(scope);
        for (let day = from; day <= today; day += DAY_MS) {
          const pending = (this.#pending.get(`${scope}@${day}`)?.count ?? 0) + (current !== undefined && current.day === day ? current.count : 0);
          out.push({ day, count: (byDay.get(day) ?? 0) + pending });
        }
        return out;
      },
    );
  }

  /**
   * Counts per UTC day, summed over every scope that starts with `prefix` (every account's checks:
   * the instance's), for the last `days` days (today included, oldest first): stored plus not yet flushed.
   */
  async perDaySummed(prefix: string, days: number): Promise<{ day: number; count: number }[]> {
    const { today, from } = this.#lastDays(days);
    const byDay = await this.#read(
      () => this.#counters.seriesSum(prefix, from),
      (stored) => {
        return this.#addHeld(new Map(stored.map((r) => [r.windowStart, r.count])), prefix, from, (entry) => entry.day);
      },
    );
    const out: { day: number; count: number }[] = [];
    for (let day = from; day <= today; day += DAY_MS) out.push({ day, count: byDay.get(day) ?? 0 });
    return out;
  }

  /**
   * Per scope that starts with `prefix`, its sum over the last `days` days (today included):
   * stored plus not yet flushed.
   */
  async totalsByPrefix(prefix: string, days: number): Promise<Map<string, number>> {
    const { from } = this.#lastDays(days);
    return this.#read(
      () => this.#counters.sumsByScope(prefix, from),
      (stored) => {
        return this.#addHeld(new Map(stored.map((r) => [r.scope, r.count])), prefix, from, (entry) => entry.scope);
      },
    );
  }

  /** The sum over the last `days` days (today included). */
  async total(scope: string, days: number): Promise<number> {
    return (await this.perDay(scope, days)).reduce((sum, d) => sum + d.count, 0);
  }
}
