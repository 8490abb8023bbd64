/**
 * Credits: a number of remaining uses per subject, each check costing 1 (or what the resource
 * server asks), optionally refilled at the start of each UTC day or month.
 *
 * Exact per node, never below zero: a check compares and subtracts in one synchronous step (no
 * await in between), so 200 concurrent checks on a node see 200 distinct balances. Nothing is
 * written per check: spent credits accumulate in memory and `flush` subtracts them in the database
 * with a conditional UPDATE (clamped at zero, refills applied by period) that covers a chunk of
 * subjects in one statement and one transaction, every
 * FLUSH_EVERY_MS and as soon as FLUSH_AT uses are pending on a subject, and at shutdown.
 *
 * Bounds (docs/policies.md):
 * - A crash loses the uses spent on the node since its last flush: at most one flush interval's
 *   worth (1 s), and past FLUSH_AT pending uses a flush is already under way. Lost uses are given
 *   back to the customer, never charged twice.
 * - Several nodes each start from the balance they last read; a node learns what the others spent
 *   at its next flush (the UPDATE returns the shared balance). With N nodes, the worst overspend of
 *   a balance is what the other N-1 nodes spend within one flush interval.
 */
import { DAY_MS } from '../clock.ts';
import { FlushSchedule } from '../write-behind.ts';

export type RefillInterval = 'daily' | 'monthly';

export interface CreditRule {
  /** Uses left when the rule was set (the stored balance moves from there). */
  remaining: number;
  /** Cost of a check that names none: default 1. */
  cost: number;
  /** Reset the balance to `amount` at the start of each UTC day or month; null: never. */
  refill: { amount: number; interval: RefillInterval } | null;
}

/** The balance as stored, with the refill period it belongs to (0 without refill). */
export interface StoredCredits {
  remaining: number;
  period: number;
}

/** One subject's uses of one refill period, as a flush hands them to the sink. */
export interface PendingSpend {
  subject: string;
  period: number;
  used: number;
  refillAmount: number | null;
}

/**
 * Where spent credits go: the store's conditional UPDATE for a batch of subjects (one statement
 * per few hundred), returning each shared balance in the order given (null: no credits stored).
 */
export interface CreditSink {
  spend(batch: readonly PendingSpend[]): Promise<(StoredCredits | null)[]>;
}

export type CreditDecision = { ok: true; left: number } | { ok: false; retryAfterSeconds: number };

/**
 * Retry-After of a refusal for credits that never refill: every 429 carries one, and a balance
 * without refill comes back only when an operator adds credits. A day keeps a client that honours
 * it from retrying in a loop meanwhile.
 */
export const NO_REFILL_RETRY_AFTER_S = 86_400;

/** How often spent credits are written. */
export const FLUSH_EVERY_MS = 1_000;
/** Pending uses on one subject that start a flush at once. */
export const FLUSH_AT = 1_000;

interface Balance {
  stored: number;
  period: number;
  /** Spent since `stored` was read, per period (a refill starts a new one). */
  pending: Map<number, number>;
  refillAmount: number | null;
}

/** Start of the UTC day or month that `now` is in; 0 without refill. */
export function refillPeriod(refill: CreditRule['refill'], now: number): number {
  if (!refill) return 0;
  if (refill.interval === 'daily') return Math.floor(now / DAY_MS) * DAY_MS;
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

function nextRefill(refill: CreditRule['refill'], now: number): number | null {
  if (!refill) return null;
  if (refill.interval === 'daily') return (Math.floor(now / DAY_MS) + 1) * DAY_MS;
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}


/** Uses of one period of a subject, taken by a flush. */
interface HeldSpend {
  subject: string;
  balance: Balance;
  period: number;
  used: number;
}

/** Subjects whose spends one transaction of a flush writes. */
const FLUSH_CHUNK = 1000;
export class CreditLedger {
  readonly #sink: CreditSink;
  readonly #balances = new Map<string, Balance>();
  readonly #schedule = new FlushSchedule(FLUSH_EVERY_MS, () => this.flush());

  constructor(sink: CreditSink) {
    this.#sink = sink;
  }

  /** What the store says (on load, or when the rules were set); uses pending on this node stay pending. */
  load(subject: string, stored: StoredCredits, rule: CreditRule): void {
    const balance = this.#balances.get(subject);
    const refillAmount = rule.refill?.amount ?? null;
    if (balance) Object.assign(balance, { stored: stored.remaining, period: stored.period, refillAmount });
    else this.#balances.set(subject, { stored: stored.remaining, period: stored.period, pending: new Map(), refillAmount });
  }

  /**
   * The shared balance as read from the store (others' spending): taken only when this node has
   * nothing pending and no flush in flight for it, when the read cannot be older than its own view.
   */
  observe(subject: string, stored: StoredCredits): void {
    const balance = this.#balances.get(subject);
    if (!balance || this.#schedule.busy || balance.pending.size > 0 || stored.period < balance.period) return;
    balance.stored = stored.remaining;
    balance.period = stored.period;
  }

  /** The rule was removed: pending uses are dropped with it. */
  forget(subject: string): void {
    this.#balances.delete(subject);
  }

  /** Credits left now (after any refill due), without spending. */
  left(subject: string, rule: CreditRule, now: number): number {
    const balance = this.#balances.get(subject);
    if (!balance) return 0;
    this.#refill(balance, rule, now);
    return balance.stored - (balance.pending.get(balance.period) ?? 0);
  }

  /** Spends `cost` if that many are left: synchronous, so concurrent checks cannot both take the last one. */
  spend(subject: string, rule: CreditRule, cost: number, now: number): CreditDecision {
    const balance = this.#balances.get(subject);
    if (!balance) return { ok: false, retryAfterSeconds: NO_REFILL_RETRY_AFTER_S };
    this.#refill(balance, rule, now);
    const used = balance.pending.get(balance.period) ?? 0;
    const left = balance.stored - used;
    if (left < cost) {
      const at = nextRefill(rule.refill, now);
      return { ok: false, retryAfterSeconds: at === null ? NO_REFILL_RETRY_AFTER_S : Math.max(1, Math.ceil((at - now) / 1000)) };
    }
    if (cost > 0) {
      balance.pending.set(balance.period, used + cost);
      if (used + cost >= FLUSH_AT) void this.flush().catch(() => {});
      this.#schedule.arm();
    }
    return { ok: true, left: left - cost };
  }

  #refill(balance: Balance, rule: CreditRule, now: number): void {
    const period = refillPeriod(rule.refill, now);
    if (period > balance.period && rule.refill) {
      balance.stored = rule.refill.amount;
      balance.period = period;
    }
  }

  /** Writes the pending uses; on failure they stay pending for the next flush. Never runs twice at once. */
  flush(): Promise<void> {
    return this.#schedule.run(() => {
      const batch: HeldSpend[] = [];
      for (const [subject, balance] of this.#balances) {
        for (const [period, used] of balance.pending) if (used > 0) batch.push({ subject, balance, period, used });
      }
      return batch.length === 0 ? null : () => this.#write(batch);
    });
  }

  async #write(batch: HeldSpend[]): Promise<void> {
    // A chunk of subjects per transaction (the store writes it in as few statements as it can); a
    // chunk that fails stays pending and the flush stops there.
    for (let i = 0; i < batch.length; i += FLUSH_CHUNK) {
      const chunk = batch.slice(i, i + FLUSH_CHUNK);
      const after = await this.#sink.spend(chunk.map((c) => ({ subject: c.subject, period: c.period, used: c.used, refillAmount: c.balance.refillAmount })));
      chunk.forEach((item, j) => this.#settle(item, after[j] ?? null));
    }
  }

  /** A flushed item's uses are written: no longer pending; the balance follows the store. */
  #settle(item: { balance: Balance; period: number; used: number }, stored: StoredCredits | null): void {
    const pending = item.balance.pending;
    const now = (pending.get(item.period) ?? 0) - item.used;
    if (now > 0) pending.set(item.period, now);
    else pending.delete(item.period);
    // Older periods' uses no longer count against anything once a newer period is stored.
    for (const p of pending.keys()) if (stored && p < stored.period) pending.delete(p);
    if (stored && stored.period >= item.balance.period) {
      item.balance.stored = stored.remaining;
      item.balance.period = stored.period;
    }
  }

  /** Stops the timer and writes what is pending (shutdown). */
  close(): Promise<void> {
    return this.#schedule.close();
  }
}
