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

const OUTCOMES = new Set<string>(TOKEN_OUTCOMES);

export class TokenUsage {
  readonly #counts: DailyCounts;

  constructor(counters: CounterRepo, clock: Clock) {
    this.#counts = new DailyCounts(counters, clock, { keepDays: TOKEN_USAGE_DAYS });
  }

  /** Counts one check of API token `id` (synchronous, no I/O); outcomes outside the chart's are ignored. */
  record(id: string, outcome: string): void {
    if (outcome === 'ok' || OUTCOMES.has(outcome)) this.#counts.add(`token:${id}:${outcome}`);
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
