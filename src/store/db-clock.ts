/**
 * A clock that follows the database server's (expiry and day boundaries use the
 * database clock). Several nodes sharing one PostgreSQL then agree on when a token expires and
 * when the quota day rolls over, whatever their own system clocks say.
 *
 * `now()` must stay synchronous and cheap (it is called on every request), so the clock does not
 * ask the database each time: it measures the offset between the database clock and this
 * process's clock at start and then periodically, and adds it to `Date.now()`.
 */
import type { Clock } from '../core/clock.ts';

export interface StoreLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ClockHandle {
  readonly clock: Clock;
  /** Stops the periodic sync (its timer never keeps the process alive anyway). */
  stop(): void;
}

export interface DatabaseClockOptions {
  /** Reads the database's current time in unix milliseconds. */
  read(): Promise<number>;
  /** How often the offset is measured again (drift of either clock, NTP steps on the server). */
  syncIntervalMs?: number;
  /**
   * Samples whose round trip took longer than this are discarded: the offset is taken at the
   * midpoint of the round trip, so its error is at most half the round trip.
   */
  maxRoundTripMs?: number;
  log?: StoreLog;
  /** The local clock; injectable for tests. */
  local?: () => number;
}

export const DEFAULT_CLOCK_SYNC_MS = 30_000;

export class DatabaseClock implements Clock, ClockHandle {
  readonly #read: () => Promise<number>;
  readonly #local: () => number;
  readonly #interval: number;
  readonly #maxRtt: number;
  readonly #log: StoreLog | undefined;
  #offset = 0;
  #synced = false;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;

  constructor(options: DatabaseClockOptions) {
    this.#read = options.read;
    this.#local = options.local ?? Date.now;
    this.#interval = options.syncIntervalMs ?? DEFAULT_CLOCK_SYNC_MS;
    this.#maxRtt = options.maxRoundTripMs ?? 1000;
    this.#log = options.log;
  }

  get clock(): Clock {
    return this;
  }

  now(): number {
    return Math.round(this.#local() + this.#offset);
  }

  /** Database time minus local time, in milliseconds, as last measured. */
  get offsetMs(): number {
    return this.#offset;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /**
   * Takes up to `samples` measurements and keeps the one with the shortest round trip (the
   * tightest bound). Throws when the database cannot be read at all.
   */
  async sync(samples = 1): Promise<void> {
    let best: { rtt: number; offset: number } | null = null;
    for (let i = 0; i < samples; i++) {
      const before = this.#local();
      const server = await this.#read();
      const after = this.#local();
      const rtt = after - before;
      const offset = server - (before + after) / 2;
      if (!best || rtt < best.rtt) best = { rtt, offset };
    }
    if (!best) return;
    // A slow sample (a busy pool, a GC pause) would move the clock by up to half its round trip;
    // keep the previous offset then, unless there is none yet.
    if (this.#synced && best.rtt > this.#maxRtt) return;
    const moved = Math.abs(best.offset - this.#offset);
    this.#offset = best.offset;
    if (!this.#synced || moved > 1000) {
      this.#log?.info({ offsetMs: Math.round(best.offset), roundTripMs: best.rtt }, 'clock follows the database');
    }
    this.#synced = true;
  }

  /** First sync (best of 3), then a periodic one. A database that is down keeps the last offset. */
  async start(): Promise<this> {
    try {
      await this.sync(3);
    } catch (err) {
      this.#log?.warn({ err }, 'could not read the database clock; using the system clock until it answers');
    }
    this.#timer = setInterval(() => {
      this.sync().then(
        () => {
          if (this.#failing) this.#log?.info({}, 'database clock readable again');
          this.#failing = false;
        },
        (err: unknown) => {
          if (!this.#failing) this.#log?.warn({ err }, 'could not read the database clock; keeping the last offset');
          this.#failing = true;
        },
      );
    }, this.#interval);
    this.#timer.unref();
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
