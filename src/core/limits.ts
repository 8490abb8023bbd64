/**
 * Fixed-window counters kept in storage, so that every node shares them (SPEC 3.1, 7):
 * the daily `make` quota, and the login-failure limits against password guessing.
 */
import { DAY_MS, type Clock } from './clock.ts';
import type { CounterRepo } from './ports.ts';

export type LimitOutcome = { ok: true; count: number } | { ok: false; retryAfterSeconds: number };

function windowOf(now: number, size: number): { start: number; end: number } {
  const start = Math.floor(now / size) * size;
  return { start, end: start + size };
}

function secondsUntil(end: number, now: number): number {
  return Math.max(1, Math.ceil((end - now) / 1000));
}

/**
 * Takes one unit of a per-UTC-day quota. Atomic: with `limit - 1` used and N concurrent callers,
 * exactly one gets `ok`. Call it inside the transaction that does the counted work, so a failure
 * after it gives the unit back.
 */
export async function takeDailyQuota(counters: CounterRepo, clock: Clock, scope: string, limit: number): Promise<LimitOutcome> {
  const now = clock.now();
  const day = windowOf(now, DAY_MS);
  const count = await counters.incrementBelow(scope, day.start, limit, day.end);
  return count === null ? { ok: false, retryAfterSeconds: secondsUntil(day.end, now) } : { ok: true, count };
}

export async function dailyQuotaUsed(counters: CounterRepo, clock: Clock, scope: string): Promise<number> {
  return counters.get(scope, windowOf(clock.now(), DAY_MS).start);
}

export interface LoginGuardOptions {
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  windowMs: number;
}

/**
 * Counts failed logins per email and per client address. Only failures are counted, so a
 * client that logs in correctly never adds to them (its volume is the daily quota's business).
 * Once a limit is reached, attempts for that email (or from that address) are refused with 429
 * until the window ends, before any password is checked: guessing stops, and so does the argon2 cost.
 */
export class LoginGuard {
  readonly #counters: CounterRepo;
  readonly #clock: Clock;
  readonly #options: LoginGuardOptions;

  constructor(counters: CounterRepo, clock: Clock, options: LoginGuardOptions) {
    this.#counters = counters;
    this.#clock = clock;
    this.#options = options;
  }

  /** Seconds until attempts are accepted again, or null when not blocked. */
  async blockedFor(subject: string, address: string | null): Promise<number | null> {
    const now = this.#clock.now();
    const w = windowOf(now, this.#options.windowMs);
    const perSubject = await this.#counters.get(`login-fail:subject:${subject}`, w.start);
    const perAddress = address ? await this.#counters.get(`login-fail:addr:${address}`, w.start) : 0;
    if (perSubject >= this.#options.maxFailuresPerAccount || perAddress >= this.#options.maxFailuresPerAddress) {
      return secondsUntil(w.end, now);
    }
    return null;
  }

  async recordFailure(subject: string, address: string | null): Promise<void> {
    const w = windowOf(this.#clock.now(), this.#options.windowMs);
    await this.#counters.increment(`login-fail:subject:${subject}`, w.start, w.end);
    if (address) await this.#counters.increment(`login-fail:addr:${address}`, w.start, w.end);
  }
}
