/**
 * Fixed-window counters kept in storage, so that every node shares them:
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

  /**
   * A password attempt under the limits, exact also for a burst of guesses sent at once to one
   * node or spread over several. `blockedFor` then `recordFailure` is a check-then-act: N guesses
   * in flight together all pass the check before any failure is recorded, and each would learn
   * whether its password was right. Here the check before the (costly) password verification
   * stays, and the outcome is settled atomically afterwards:
   * - a wrong password takes one unit of each failure counter in one statement that stops at the
   *   limit (`incrementBelow`, as the daily quota); when none is left the attempt is answered as
   *   throttled, so the guesses beyond the limit learn nothing;
   * - a right password counts nothing (only failures count) but is answered as throttled too when
   *   the limit was reached meanwhile, so a burst cannot reveal a password found past the limit.
   * Correct logins never take units, so any number of them may run at once.
   */
  async begin(subject: string, address: string | null): Promise<LoginAttempt> {
    const now = this.#clock.now();
    const w = windowOf(now, this.#options.windowMs);
    const blocked = await this.blockedFor(subject, address);
    if (blocked !== null) return { ok: false, retryAfterSeconds: blocked };
    const subjectScope = `login-fail:subject:${subject}`;
    const addressScope = address ? `login-fail:addr:${address}` : null;
    const throttled = (): number => secondsUntil(w.end, this.#clock.now());
    return {
      ok: true,
      failed: async () => {
        const bySubject = await this.#counters.incrementBelow(subjectScope, w.start, this.#options.maxFailuresPerAccount, w.end);
        const byAddress = addressScope
          ? await this.#counters.incrementBelow(addressScope, w.start, this.#options.maxFailuresPerAddress, w.end)
          : 0;
        return bySubject === null || byAddress === null ? throttled() : null;
      },
      succeeded: async () => this.blockedFor(subject, address),
    };
  }
}

/**
 * A password attempt under the login limits: refused up front, or admitted. Once the password is
 * verified, call `failed()` or `succeeded()`; each returns null to answer with the outcome, or
 * the seconds until attempts are accepted again to answer "too many attempts" instead.
 */
export type LoginAttempt =
  | { ok: false; retryAfterSeconds: number }
  | { ok: true; failed(): Promise<number | null>; succeeded(): Promise<number | null> };
