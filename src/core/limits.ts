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
  const day = dailyWindow(now);
  const count = await counters.incrementBelow(scope, day.start, limit, day.end);
  return count === null ? { ok: false, retryAfterSeconds: secondsUntil(day.end, now) } : { ok: true, count };
}

/** The UTC day a daily quota counts `now` in (for a write that takes its unit itself). */
export function dailyWindow(now: number): { start: number; end: number } {
  return windowOf(now, DAY_MS);
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

export interface CredentialGuardOptions {
  /** Wrong credentials per client address within a window before every credential endpoint answers 429. */
  maxFailures: number;
  windowMs: number;
  /** How long a node may answer from its memory of an address's count (the verify-cache bound); 0 reads every time. */
  staleMs: number;
  /** Addresses remembered at most (least recently seen dropped first). */
  maxEntries?: number;
}

/** A credential checked under the limit: its value, or refused (`retryAfterSeconds` set: too many attempts; null: a wrong credential). */
export type GuardedCheck<T> = { ok: true; value: T } | { ok: false; retryAfterSeconds: number | null };

/** A credential checked where no guard is configured: refused, it is a wrong credential, never throttled. */
export async function unguarded<T>(verify: () => Promise<T | null>): Promise<GuardedCheck<T>> {
  const value = await verify();
  return value === null ? { ok: false, retryAfterSeconds: null } : { ok: true, value };
}

interface SeenAddress {
  windowStart: number;
  count: number;
  readAt: number;
}

/**
 * One limit on guessing credentials, per client address, shared by every endpoint that takes an
 * admin token, an operator key or a resource-server credential (the admin API, introspection,
 * revocation, `/metrics`) and by the one-time password-reset links: a wrong credential at any of
 * them counts towards the same counter, and once it reaches the limit every one of them answers
 * "too many attempts" to that address, the right credential included, until the window ends.
 * Counting per address only: a per-credential limit would let anyone lock the operator out, and
 * these credentials (>= 128 random bits) cannot be guessed anyway; the limit stops the noise and
 * the cost of trying.
 *
 * The counters live in storage (every node shares them). Checking is on the introspection path,
 * so an address's count is read at most once per `staleMs` per node and kept in memory meanwhile
 * (like the verification cache); a failure is counted in one atomic statement that stops at the
 * limit, so of a burst of guesses sent at once, those past the limit are answered as throttled.
 */
export class CredentialGuard {
  readonly #counters: CounterRepo;
  readonly #clock: Clock;
  readonly #options: Required<CredentialGuardOptions>;
  readonly #seen = new Map<string, SeenAddress>();

  constructor(counters: CounterRepo, clock: Clock, options: CredentialGuardOptions) {
    this.#counters = counters;
    this.#clock = clock;
    this.#options = { maxEntries: 10_000, ...options };
  }

  #scope(address: string | null): string {
    return `cred-fail:addr:${address ?? 'unknown'}`;
  }

  #remember(address: string, entry: SeenAddress): void {
    this.#seen.delete(address);
    this.#seen.set(address, entry);
    if (this.#seen.size > this.#options.maxEntries) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  /** Seconds until credentials from `address` are accepted again, or null when it is not blocked. */
  async blockedFor(address: string | null): Promise<number | null> {
    const now = this.#clock.now();
    const w = windowOf(now, this.#options.windowMs);
    const key = address ?? 'unknown';
    let entry = this.#seen.get(key);
    if (!entry || entry.windowStart !== w.start || now - entry.readAt >= this.#options.staleMs || now < entry.readAt) {
      entry = { windowStart: w.start, count: await this.#counters.get(this.#scope(address), w.start), readAt: now };
      this.#remember(key, entry);
    }
    return entry.count >= this.#options.maxFailures ? secondsUntil(w.end, now) : null;
  }

  /**
   * The one way every endpoint takes a credential: a blocked address is refused before `verify`
   * runs (the right credential included); a credential `verify` refuses (null) counts as a wrong
   * one, and the one that reaches the limit is answered as too many attempts. `guessed` false: no
   * credential was offered at all, which is refused without counting.
   */
  async check<T>(address: string | null, verify: () => Promise<T | null> | T | null, guessed = true): Promise<GuardedCheck<T>> {
    const blocked = await this.blockedFor(address);
    if (blocked !== null) return { ok: false, retryAfterSeconds: blocked };
    const value = await verify();
    if (value !== null) return { ok: true, value };
    return { ok: false, retryAfterSeconds: guessed ? await this.failed(address) : null };
  }

  /**
   * Counts one wrong credential from `address`. Returns null when it was counted below the limit
   * (answer "wrong credential"), or the seconds until attempts are accepted again when the limit
   * is reached (answer "too many attempts").
   */
  async failed(address: string | null): Promise<number | null> {
    const now = this.#clock.now();
    const w = windowOf(now, this.#options.windowMs);
    const count = await this.#counters.incrementBelow(this.#scope(address), w.start, this.#options.maxFailures, w.end);
    this.#remember(address ?? 'unknown', { windowStart: w.start, count: count ?? this.#options.maxFailures, readAt: now });
    return count === null ? secondsUntil(w.end, this.#clock.now()) : null;
  }
}
