import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DAY_MS, ManualClock } from './clock.ts';
import { DailyCounts } from './daily-counts.ts';
import type { CounterRepo } from './ports.ts';

/** The counters table in memory: what `add` and `series` of the real repository do. */
function memoryCounters(): CounterRepo & { rows: Map<string, number>; failNext: boolean } {
  const rows = new Map<string, number>();
  const repo = {
    rows,
    failNext: false,
    async add(scope: string, windowStart: number, amount: number) {
      if (repo.failNext) {
        repo.failNext = false;
        throw new Error('database away');
      }
      const key = `${scope}|${windowStart}`;
      rows.set(key, (rows.get(key) ?? 0) + amount);
      return rows.get(key)!;
    },
    async addMany(batch: { scope: string; windowStart: number; amount: number }[]) {
      if (repo.failNext) {
        repo.failNext = false;
        throw new Error('database away');
      }
      for (const r of batch) rows.set(`${r.scope}|${r.windowStart}`, (rows.get(`${r.scope}|${r.windowStart}`) ?? 0) + r.amount);
    },
    async series(scope: string, from: number) {
      return [...rows.entries()]
        .map(([k, count]) => ({ scope: k.split('|')[0]!, windowStart: Number(k.split('|')[1]), count }))
        .filter((r) => r.scope === scope && r.windowStart >= from)
        .sort((a, b) => a.windowStart - b.windowStart)
        .map(({ windowStart, count }) => ({ windowStart, count }));
    },
    async seriesSum(prefix: string, from: number) {
      const sums = new Map<number, number>();
      for (const [k, count] of rows) {
        const [scope, start] = [k.split('|')[0]!, Number(k.split('|')[1])];
        if (scope.startsWith(prefix) && start >= from) sums.set(start, (sums.get(start) ?? 0) + count);
      }
      return [...sums].sort((a, b) => a[0] - b[0]).map(([windowStart, count]) => ({ windowStart, count }));
    },
  };
  return repo as unknown as CounterRepo & { rows: Map<string, number>; failNext: boolean };
}

describe('DailyCounts', () => {
  it('perDaySummed adds every scope of a prefix, stored, pending from earlier days and today\'s alike', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 23, 59, 0));
    const repo = memoryCounters();
    const counts = new DailyCounts(repo, clock, { keepDays: 7 });
    const day1 = Date.UTC(2026, 0, 15);
    counts.add('checks:1', 2);
    counts.add('checks:2', 3);
    counts.add('other:1', 100);
    await counts.flush();
    counts.add('checks:1'); // pending, of day 1
    clock.advance(2 * 60_000); // past midnight
    counts.add('checks:3', 4); // today's
    counts.add('checksum', 50); // another prefix that merely starts alike
    assert.deepEqual(await counts.perDaySummed('checks:', 3), [
      { day: day1 - DAY_MS, count: 0 },
      { day: day1, count: 6 },
      { day: day1 + DAY_MS, count: 4 },
    ]);
    await counts.flush();
    assert.deepEqual((await counts.perDaySummed('checks:', 2)).map((d) => d.count), [6, 4], 'the same once written');
  });

  it('counts per day across a midnight, shows pending and stored counts alike, and writes each (scope, day) once per flush', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 23, 59, 0));
    const repo = memoryCounters();
    const counts = new DailyCounts(repo, clock, { keepDays: 7 });
    counts.add('a');
    counts.add('a', 2);
    clock.advance(2 * 60_000); // past midnight
    counts.add('a');
    counts.add('b');
    const day1 = Date.UTC(2026, 0, 15);
    assert.deepEqual(await counts.perDay('a', 2), [{ day: day1, count: 3 }, { day: day1 + DAY_MS, count: 1 }]);
    await counts.flush();
    assert.equal(repo.rows.get(`a|${day1}`), 3);
    assert.equal(repo.rows.get(`a|${day1 + DAY_MS}`), 1);
    counts.add('a');
    assert.deepEqual(await counts.perDay('a', 2), [{ day: day1, count: 3 }, { day: day1 + DAY_MS, count: 2 }], 'stored plus pending');
    assert.equal(await counts.total('b', 7), 1);
    await counts.close();
  });

  it('keeps what a failed flush could not write, merged with what came meanwhile', async () => {
    const clock = new ManualClock();
    const repo = memoryCounters();
    const counts = new DailyCounts(repo, clock, { keepDays: 7 });
    counts.add('x', 5);
    repo.failNext = true;
    await counts.flush();
    assert.equal(repo.rows.size, 0);
    counts.add('x');
    assert.equal(await counts.total('x', 1), 6);
    await counts.flush();
    assert.equal(await counts.total('x', 1), 6);
    assert.equal([...repo.rows.values()][0], 6);
    await counts.close();
  });

  it('a read that a flush overlaps is made again: it neither misses the counts on their way nor sees them twice', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
    const repo = memoryCounters();
    const counts = new DailyCounts(repo, clock, { keepDays: 7 });
    counts.add('client:a:makes', 22);
    // The database answers the read before the flush's write lands, the caller gets it after:
    // the counts are then neither in that answer nor in memory.
    const series = repo.series.bind(repo);
    let flushed: Promise<void> | null = null;
    let reads = 0;
    repo.series = async (scope, from) => {
      reads++;
      const answer = await series(scope, from);
      if (reads === 1) flushed = counts.flush();
      return answer;
    };
    assert.equal(await counts.total('client:a:makes', 7), 22);
    await flushed;
    assert.equal(reads, 2, 'read again after the flush');
    assert.equal(await counts.total('client:a:makes', 7), 22);
  });
});
