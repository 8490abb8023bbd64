/**
 * Checks of each API token per UTC day, by outcome: passed, or refused for a reason the token's
 * owner can act on (its policy's rate limit, credits, allow-list or scope; or the token revoked or
 * expired). The console's API token page charts them beside the credits left.
 *
 * The hot path only counts in memory (DailyCounts: batched upserts every few seconds, shared by
 * every node); a token tokend does not know is never counted (it has no page to show it on).
 */
import type { Clock } from './clock.ts';
import { DailyCounts } from './daily-counts.ts';
import type { CounterRepo } from './ports.ts';

/** What a check of a known API token can end in, as the chart shows it. */
export const TOKEN_OUTCOMES = ['ok', 'rate_limited', 'credits_exhausted', 'ip_denied', 'scope_missing', 'revoked', 'expired', 'account_disabled'] as const;
export type TokenOutcome = (typeof TOKEN_OUTCOMES)[number];

/** How many days of per-token figures are kept. */
export const TOKEN_USAGE_DAYS = 31;

export interface TokenDay {
  day: number;
  counts: Record<TokenOutcome, number>;
}

const SLOT = new Map<string, number>(TOKEN_OUTCOMES.map((o, i) => [o, i]));
/** Tokens whose scope strings are kept between checks; past that the cache starts afresh. */
const MAX_CACHED = 100_000;

export class TokenUsage {
  readonly #counts: DailyCounts;
  /**
   * The scope strings of a token's counters, made once per token and outcome: the hot path then
   * hands DailyCounts the same string each time (its hash is computed once), not a new one.
   */
  #scopes = new Map<string, (string | undefined)[]>();

  constructor(counters: CounterRepo, clock: Clock) {
    this.#counts = new DailyCounts(counters, clock, { keepDays: TOKEN_USAGE_DAYS });
  }

  /** Counts one check of API token `id` (synchronous, no I/O); outcomes outside the chart's are ignored. */
  record(id: string, outcome: string): void {
    const slot = SLOT.get(outcome);
    if (slot === undefined) return;
    let scopes = this.#scopes.get(id);
    if (scopes === undefined) {
      if (this.#scopes.size >= MAX_CACHED) this.#scopes = new Map();
      this.#scopes.set(id, (scopes = []));
    }
    const scope = (scopes[slot] ??= `token:${id}:${outcome}`);
    this.#counts.add(scope);
  }

  /** The last `days` days (today included, oldest first), stored plus not yet flushed. */
  async perDay(id: string, days: number): Promise<TokenDay[]> {
    const series = await Promise.all(TOKEN_OUTCOMES.map((o) => this.#counts.perDay(`token:${id}:${o}`, days)));
    return series[0]!.map((d, i) => ({
      day: d.day,
      counts: Object.fromEntries(TOKEN_OUTCOMES.map((o, k) => [o, series[k]![i]!.count])) as Record<TokenOutcome, number>,
    }));
  }

  flush(): Promise<void> {
    return this.#counts.flush();
  }

  close(): Promise<void> {
    return this.#counts.close();
  }
}
