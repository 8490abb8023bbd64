/**
 * Rate limits: one or more windows per subject ("100 per second and 10,000 per day"), counted in
 * this node's memory with GCRA (the generic cell rate algorithm).
 *
 * Why GCRA rather than fixed windows or a sliding log: a fixed window lets twice the limit through
 * around a window boundary; a sliding log keeps one timestamp per request. GCRA keeps one number
 * per window (the theoretical arrival time, TAT) and is exact: a limit of L per W lets a burst of
 * at most L through, then one request every W/L, and it answers `remaining` and `reset` for the
 * IETF RateLimit headers directly. It is also synchronous and allocation-free on the hot path.
 * Libraries were weighed: rate-limiter-flexible (the well-kept one) is promise-based and counts
 * one window per limiter; checking several windows all-or-nothing (a request refused by the daily
 * window must not use up the per-second one) would take several limiters and a rollback, so the
 * 40 lines below are simpler and faster than the glue.
 *
 * Memory is bounded: at most `maxSubjects` subjects are held. A subject whose every window is full
 * again (TAT in the past) carries no information and is dropped first; past that, the least
 * recently seen go, which can only let a dropped subject through early, never refuse wrongly.
 */

export interface RateWindowRule {
  /** Checks allowed per window: at least 1. */
  limit: number;
  /** Window length in seconds: at least 1. */
  windowSeconds: number;
  /**
   * Counted by the database, exactly across nodes, in fixed windows aligned to the window length
   * (one conditional UPDATE per check); absent or false: in this node's memory (GCRA).
   */
  exact?: boolean;
}

/** One window as the IETF RateLimit headers report it. */
export interface WindowStatus {
  limit: number;
  windowSeconds: number;
  /** Checks still allowed right now. */
  remaining: number;
  /** Seconds until the window is full again (all `limit` available). */
  resetSeconds: number;
}

export type RateDecision =
  | { ok: true; windows: WindowStatus[] }
  | { ok: false; retryAfterSeconds: number; window: WindowStatus; windows: WindowStatus[] };

interface State {
  /** The rules the TATs were counted under: new rules start afresh. */
  rules: readonly RateWindowRule[];
  tat: number[];
  /** When the subject was last counted (the limiter's own sequence): the least recent go first. */
  seen: number;
}

/**
 * Float noise in TAT sums (W/L added L times) must not refuse the L-th request of a burst: times
 * are kept relative to the limiter's first check (small numbers, fine resolution), and a
 * thousandth of the interval (at most a microsecond) is tolerated, far short of one more request.
 */
const TOLERANCE = 1e-3;

export class RateLimiter {
  readonly #maxSubjects: number;
  readonly #state = new Map<string, State>();
  #origin: number | null = null;
  #seq = 0;

  constructor(options: { maxSubjects: number }) {
    this.#maxSubjects = options.maxSubjects;
  }

  get size(): number {
    return this.#state.size;
  }

  /**
   * Decides one check of `key` against every window, without consuming anything: `commit`
   * consumes (so that a check refused later, by credits say, uses up no rate).
   */
  peek(key: string, rules: readonly RateWindowRule[], at: number): RateDecision & { next: number[] } {
    this.#origin ??= at;
    const now = at - this.#origin;
    const state = this.#state.get(key);
    const tats = state && state.rules === rules ? state.tat : null;
    const windows: WindowStatus[] = [];
    const next: number[] = [];
    let refused: { retryAfterSeconds: number; window: WindowStatus } | null = null;
    for (let i = 0; i < rules.length; i++) {
      const { limit, windowSeconds } = rules[i]!;
      const windowMs = windowSeconds * 1000;
      const interval = windowMs / limit;
      const epsilon = Math.min(interval * TOLERANCE, TOLERANCE);
      const tat = Math.max(tats?.[i] ?? now, now);
      const after = tat + interval;
      if (after - now > windowMs + epsilon) {
        const status: WindowStatus = { limit, windowSeconds, remaining: 0, resetSeconds: Math.ceil((tat - now) / 1000) };
        windows.push(status);
        next.push(tat);
        const wait = Math.max(1, Math.ceil((after - windowMs - now) / 1000));
        if (!refused || wait > refused.retryAfterSeconds) refused = { retryAfterSeconds: wait, window: status };
        continue;
      }
      const remaining = Math.max(0, Math.floor((now + windowMs - after + epsilon) / interval));
      windows.push({ limit, windowSeconds, remaining, resetSeconds: Math.ceil((after - now) / 1000) });
      next.push(after);
    }
    if (refused) return { ok: false, ...refused, windows, next };
    return { ok: true, windows, next };
  }

  /** Consumes what an allowed `peek` computed. */
  commit(key: string, rules: readonly RateWindowRule[], next: number[], at: number): void {
    const now = at - (this.#origin ?? at);
    const state = this.#state.get(key);
    if (state) {
      // Updated in place: no Map insertion per check.
      state.rules = rules;
      state.tat = next;
      state.seen = ++this.#seq;
      return;
    }
    this.#state.set(key, { rules, tat: next, seen: ++this.#seq });
    if (this.#state.size > this.#maxSubjects) this.#evict(now);
  }

  /** Forgets a subject (its rules changed or were removed). */
  forget(key: string): void {
    this.#state.delete(key);
  }

  #evict(now: number): void {
    for (const [key, state] of this.#state) {
      if (state.tat.every((t) => t <= now)) this.#state.delete(key);
    }
    const excess = this.#state.size - Math.floor(this.#maxSubjects * 0.9);
    if (excess <= 0) return;
    // The least recently counted go (rare: only when the bound is reached).
    const byAge = [...this.#state].sort((a, b) => a[1].seen - b[1].seen);
    for (let i = 0; i < excess; i++) this.#state.delete(byAge[i]![0]);
  }
}
