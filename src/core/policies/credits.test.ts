import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { CreditLedger, NO_REFILL_RETRY_AFTER_S, refillPeriod, type CreditRule, type CreditSink, type PendingSpend, type StoredCredits } from './credits.ts';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const DAY = 86_400_000;

/**
 * The store's statement, in memory, for the ledger's own logic (the SQL itself is held to the same
 * contract on both databases by test/store.conformance.test.ts): stale periods are ignored, a newer
 * period refills, the balance never goes below zero.
 */
class MemorySink implements CreditSink {
  rows = new Map<string, StoredCredits>();
  calls = 0;
  failing = false;
  async spend(batch: readonly PendingSpend[]): Promise<(StoredCredits | null)[]> {
    this.calls++;
    await tick();
    if (this.failing) throw new Error('database down');
    return batch.map(({ subject, period, used, refillAmount }) => {
      const row = this.rows.get(subject);
      if (!row) return null;
      if (period > row.period) Object.assign(row, { remaining: Math.max(0, (refillAmount ?? 0) - used), period });
      else if (period === row.period) row.remaining = Math.max(0, row.remaining - used);
      return { ...row };
    });
  }
}

function ledgerWith(remaining: number, rule: Partial<CreditRule> = {}): { ledger: CreditLedger; sink: MemorySink; rule: CreditRule } {
  const sink = new MemorySink();
  const full: CreditRule = { remaining, cost: 1, refill: null, ...rule };
  const stored = { remaining, period: refillPeriod(full.refill, T0) };
  sink.rows.set('k', { ...stored });
  const ledger = new CreditLedger(sink);
  ledger.load('k', stored, full);
  return { ledger, sink, rule: full };
}

describe('CreditLedger', () => {
  it('spends down to zero and refuses the next, with no refill to wait for', () => {
    const { ledger, rule } = ledgerWith(3);
    assert.deepEqual(ledger.spend('k', rule, 1, T0), { ok: true, left: 2 });
    assert.deepEqual(ledger.spend('k', rule, 2, T0), { ok: true, left: 0 });
    assert.deepEqual(ledger.spend('k', rule, 1, T0), { ok: false, retryAfterSeconds: NO_REFILL_RETRY_AFTER_S });
  });

  it('a cost larger than what is left is refused whole, not half-spent; cost 0 always passes', () => {
    const { ledger, rule } = ledgerWith(5);
    assert.equal(ledger.spend('k', rule, 6, T0).ok, false);
    assert.deepEqual(ledger.spend('k', rule, 5, T0), { ok: true, left: 0 });
    assert.deepEqual(ledger.spend('k', rule, 0, T0), { ok: true, left: 0 });
  });

  it('200 concurrent checks on 100 credits: exactly 100 pass, never below zero, flushed exactly', async () => {
    const { ledger, sink, rule } = ledgerWith(100);
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        await tick();
        // Flushes run in between, as the timer would fire them under load.
        if (i % 50 === 0) void ledger.flush();
        return ledger.spend('k', rule, 1, T0);
      }),
    );
    assert.equal(results.filter((r) => r.ok).length, 100);
    for (const r of results) if (r.ok) assert.ok(r.left >= 0);
    await ledger.flush();
    assert.equal(sink.rows.get('k')!.remaining, 0);
    assert.equal(ledger.left('k', rule, T0), 0);
  });

  it('nothing is written per check: one statement per subject per flush', async () => {
    const { ledger, sink, rule } = ledgerWith(1000);
    for (let i = 0; i < 500; i++) ledger.spend('k', rule, 1, T0);
    assert.equal(sink.calls, 0);
    await ledger.flush();
    assert.equal(sink.calls, 1);
    assert.equal(sink.rows.get('k')!.remaining, 500);
  });

  it('checks during a flush are not lost or counted twice; a failed flush keeps them pending', async () => {
    const { ledger, sink, rule } = ledgerWith(100);
    for (let i = 0; i < 10; i++) ledger.spend('k', rule, 1, T0);
    const flushing = ledger.flush();
    for (let i = 0; i < 5; i++) ledger.spend('k', rule, 1, T0);
    await flushing;
    assert.equal(sink.rows.get('k')!.remaining, 90);
    assert.equal(ledger.left('k', rule, T0), 85);
    sink.failing = true;
    await assert.rejects(ledger.flush());
    assert.equal(ledger.left('k', rule, T0), 85);
    sink.failing = false;
    await ledger.flush();
    assert.equal(sink.rows.get('k')!.remaining, 85);
  });

  it('another node spent meanwhile: the flush brings the shared balance back', async () => {
    const { ledger, sink, rule } = ledgerWith(100);
    ledger.spend('k', rule, 1, T0);
    sink.rows.get('k')!.remaining -= 60;
    await ledger.flush();
    assert.equal(ledger.left('k', rule, T0), 39);
  });

  it('daily refill: the balance is reset at the start of the next UTC day, and Retry-After says when', async () => {
    const { ledger, sink, rule } = ledgerWith(2, { refill: { amount: 5, interval: 'daily' } });
    ledger.spend('k', rule, 2, T0);
    const refused = ledger.spend('k', rule, 1, T0);
    assert.deepEqual(refused, { ok: false, retryAfterSeconds: 12 * 3600 });
    const tomorrow = T0 + 12 * 3600_000;
    assert.deepEqual(ledger.spend('k', rule, 1, tomorrow), { ok: true, left: 4 });
    await ledger.flush();
    // Yesterday's 2 and today's 1 flushed with their periods: today's balance is 5 - 1.
    assert.deepEqual(sink.rows.get('k'), { remaining: 4, period: tomorrow });
  });

  it('monthly refill follows calendar months (UTC), February included', () => {
    const rule = { amount: 1, interval: 'monthly' } as const;
    assert.equal(refillPeriod(rule, Date.UTC(2026, 1, 28, 23, 59)), Date.UTC(2026, 1, 1));
    assert.equal(refillPeriod(rule, Date.UTC(2026, 2, 1)), Date.UTC(2026, 2, 1));
    const { ledger, rule: r } = ledgerWith(0, { refill: { amount: 3, interval: 'monthly' } });
    const refused = ledger.spend('k', r, 1, T0);
    assert.deepEqual(refused, { ok: false, retryAfterSeconds: (Date.UTC(2026, 1, 1) - T0) / 1000 });
    assert.deepEqual(ledger.spend('k', r, 1, Date.UTC(2026, 1, 1)), { ok: true, left: 2 });
    assert.equal(DAY, 86_400_000);
  });

  it('a subject the ledger was never told about has no credits', () => {
    const ledger = new CreditLedger(new MemorySink());
    assert.equal(ledger.spend('nobody', { remaining: 5, cost: 1, refill: null }, 1, T0).ok, false);
  });
});
