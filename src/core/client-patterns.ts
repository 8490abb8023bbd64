/**
 * How ChatApp-scheme clients use their tokens, per app: the patterns the scheme's documentation
 * warns against, noticed as they happen and shown to the account (and the operator) with advice.
 * docs/client-advice.md explains each heuristic; in short:
 *
 * - **login_per_request**: `tokens.make` before (almost) every request. Seen as many makes against
 *   few checks of the access tokens they gave (at least 20 makes in the period, and at least half
 *   as many makes as checks).
 * - **unused_pairs**: a new pair made while the previous one of the same account and app still
 *   had an unexpired access token that was never used: the client throws pairs away instead of
 *   keeping them (at least 10 such makes in the period).
 * - **timer_refresh**: refreshes of access tokens that had not expired yet, at a regular interval
 *   (within 10 % of the same length four times in a row): a timer, where the scheme says to refresh
 *   only on ApiInvalidTokenError (at least 5 such refreshes in the period).
 *
 * A well-behaved client (make once, use the access token, refresh when it is refused as expired)
 * matches none: its makes are few, its refreshes come after expiry.
 *
 * Cost: the detector sits beside three paths. A check of a ChatApp access token does a map lookup
 * and a count in memory; a make and a refresh (which write to the database anyway) a few more.
 * Nothing is written per check: counts go through DailyCounts (batched upserts). What each node
 * remembers between requests (the last pair per account and app, the last refresh intervals per
 * session) is bounded and per node: a client spread over several nodes is seen by each in part.
 */
import type { Clock } from './clock.ts';
import { DailyCounts } from './daily-counts.ts';
import type { CounterRepo } from './ports.ts';

export type ClientPattern = 'login_per_request' | 'unused_pairs' | 'timer_refresh';
export const CLIENT_PATTERNS: readonly ClientPattern[] = ['login_per_request', 'unused_pairs', 'timer_refresh'];

/** The period the findings are computed over, in days (today included). */
export const ADVICE_DAYS = 7;
/** Thresholds of docs/client-advice.md. */
export const THRESHOLDS = {
  loginPerRequest: { minMakes: 20, makesPerCheck: 0.5 },
  unusedPairs: { min: 10 },
  timerRefresh: { min: 5, intervals: 4, tolerance: 0.1 },
} as const;

type Signal = 'makes' | 'checks' | 'unused_makes' | 'timer_refreshes' | 'early_refreshes';

/** The per-app figures behind the findings, over the period. */
export interface ClientFigures {
  makes: number;
  checks: number;
  unusedMakes: number;
  earlyRefreshes: number;
  timerRefreshes: number;
}

export interface ClientFinding {
  pattern: ClientPattern;
  /** How many times it was seen in the period. */
  count: number;
}

interface LastPair {
  sessionId: string;
  accessExpiresAt: number;
  used: boolean;
}

/** Most (account, app) pairs and sessions remembered; past that the least recently seen go. */
const MAX_REMEMBERED = 100_000;

function scope(appId: string, signal: Signal): string {
  return `client:${appId}:${signal}`;
}

/** A Map that forgets its oldest entries past a size. */
class Bounded<V> {
  readonly #map = new Map<string, V>();
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > MAX_REMEMBERED) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }
}

export class ClientPatterns {
  readonly #counts: DailyCounts;
  readonly #clock: Clock;
  /** The last pair made per `${accountId}:${appId}`. */
  readonly #lastPair = new Bounded<LastPair>();
  /** The last intervals (ms from a pair's issue to its early refresh) per session. */
  readonly #intervals = new Bounded<number[]>();

  constructor(counters: CounterRepo, clock: Clock) {
    this.#counts = new DailyCounts(counters, clock, { keepDays: ADVICE_DAYS });
    this.#clock = clock;
  }

  /** A `tokens.make` succeeded: a new session and pair for the account's app. */
  made(accountId: number, appId: string, sessionId: string, accessExpiresAt: number): void {
    const key = `${accountId}:${appId}`;
    const previous = this.#lastPair.get(key);
    this.#counts.add(scope(appId, 'makes'));
    if (previous && !previous.used && previous.accessExpiresAt > this.#clock.now()) this.#counts.add(scope(appId, 'unused_makes'));
    this.#lastPair.set(key, { sessionId, accessExpiresAt, used: false });
  }

  /** A ChatApp access token passed a check (the hot path: a lookup and a count). */
  checked(accountId: number, appId: string, sessionId: string): void {
    this.#counts.add(scope(appId, 'checks'));
    const last = this.#lastPair.get(`${accountId}:${appId}`);
    if (last !== undefined && !last.used && last.sessionId === sessionId) last.used = true;
  }

  /**
   * A ChatApp refresh succeeded. `issuedAt` is when the replaced pair was issued, `accessExpiresAt`
   * when its access token would have expired: a refresh before that is early, and early refreshes
   * at a steady interval are a timer.
   */
  refreshed(appId: string, sessionId: string, issuedAt: number, accessExpiresAt: number): void {
    const now = this.#clock.now();
    if (now >= accessExpiresAt) {
      this.#intervals.set(sessionId, []);
      return;
    }
    this.#counts.add(scope(appId, 'early_refreshes'));
    const t = THRESHOLDS.timerRefresh;
    const intervals = [...(this.#intervals.get(sessionId) ?? []), now - issuedAt].slice(-t.intervals);
    this.#intervals.set(sessionId, intervals);
    if (intervals.length < t.intervals) return;
    const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
    if (mean > 0 && intervals.every((i) => Math.abs(i - mean) <= mean * t.tolerance)) this.#counts.add(scope(appId, 'timer_refreshes'));
  }

  /** The app's figures over the period (stored plus not yet flushed). */
  async figures(appId: string): Promise<ClientFigures> {
    const total = (signal: Signal): Promise<number> => this.#counts.total(scope(appId, signal), ADVICE_DAYS);
    const [makes, checks, unusedMakes, earlyRefreshes, timerRefreshes] = await Promise.all([
      total('makes'),
      total('checks'),
      total('unused_makes'),
      total('early_refreshes'),
      total('timer_refreshes'),
    ]);
    return { makes, checks, unusedMakes, earlyRefreshes, timerRefreshes };
  }

  /** What the figures say, worst first; empty for a well-behaved client. */
  static findings(f: ClientFigures): ClientFinding[] {
    const out: ClientFinding[] = [];
    const lp = THRESHOLDS.loginPerRequest;
    if (f.makes >= lp.minMakes && f.makes >= lp.makesPerCheck * f.checks) out.push({ pattern: 'login_per_request', count: f.makes });
    if (f.unusedMakes >= THRESHOLDS.unusedPairs.min) out.push({ pattern: 'unused_pairs', count: f.unusedMakes });
    if (f.timerRefreshes >= THRESHOLDS.timerRefresh.min) out.push({ pattern: 'timer_refresh', count: f.timerRefreshes });
    return out;
  }

  /**
   * Every app with a finding over the period, across all accounts (the operator's dashboard),
   * worst first (most occurrences), at most `limit`.
   */
  async flagged(limit: number): Promise<{ appId: string; figures: ClientFigures; findings: ClientFinding[] }[]> {
    const totals = await this.#counts.totalsByPrefix('client:', ADVICE_DAYS);
    const byApp = new Map<string, ClientFigures>();
    const field: Record<Signal, keyof ClientFigures> = {
      makes: 'makes',
      checks: 'checks',
      unused_makes: 'unusedMakes',
      early_refreshes: 'earlyRefreshes',
      timer_refreshes: 'timerRefreshes',
    };
    for (const [scope, count] of totals) {
      // `client:${appId}:${signal}`: an app id may hold a colon, a signal does not.
      const cut = scope.lastIndexOf(':');
      const signal = scope.slice(cut + 1) as Signal;
      if (cut <= 'client:'.length || !(signal in field)) continue;
      const appId = scope.slice('client:'.length, cut);
      let figures = byApp.get(appId);
      if (!figures) byApp.set(appId, (figures = { makes: 0, checks: 0, unusedMakes: 0, earlyRefreshes: 0, timerRefreshes: 0 }));
      figures[field[signal]] += count;
    }
    const out: { appId: string; figures: ClientFigures; findings: ClientFinding[] }[] = [];
    for (const [appId, figures] of byApp) {
      const findings = ClientPatterns.findings(figures);
      if (findings.length > 0) out.push({ appId, figures, findings });
    }
    const weight = (f: { findings: ClientFinding[] }): number => f.findings.reduce((s, x) => s + x.count, 0);
    return out.sort((a, b) => weight(b) - weight(a) || (a.appId < b.appId ? -1 : 1)).slice(0, limit);
  }

  flush(): Promise<void> {
    return this.#counts.flush();
  }

  close(): Promise<void> {
    return this.#counts.close();
  }
}
