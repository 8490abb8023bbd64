import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RateLimiter, type RateWindowRule } from './rate-limit.ts';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

/** Checks (peek + commit when allowed), as the engine does; returns how many were allowed. */
function run(limiter: RateLimiter, key: string, rules: readonly RateWindowRule[], n: number, now: number): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) {
    const d = limiter.peek(key, rules, now);
    if (d.ok) {
      limiter.commit(key, rules, d.next, now);
      allowed++;
    }
  }
  return allowed;
}

describe('RateLimiter (GCRA)', () => {
  it('lets a burst of exactly the limit through, then refuses with the wait and the window', () => {
    const limiter = new RateLimiter({ maxSubjects: 100 });
    const rules = [{ limit: 100, windowSeconds: 60 }];
    assert.equal(run(limiter, 'k', rules, 150, T0), 100);
    const refused = limiter.peek('k', rules, T0);
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    // One slot frees every 600 ms: the next check may come in 1 s (rounded up), not in a minute.
    assert.equal(refused.retryAfterSeconds, 1);
    assert.deepEqual(refused.window, { limit: 100, windowSeconds: 60, remaining: 0, resetSeconds: 60 });
  });

  it('frees one slot per window/limit; a full window later the whole limit is back', () => {
    const limiter = new RateLimiter({ maxSubjects: 100 });
    const rules = [{ limit: 10, windowSeconds: 10 }];
    assert.equal(run(limiter, 'k', rules, 10, T0), 10);
    assert.equal(run(limiter, 'k', rules, 5, T0 + 999), 0);
    assert.equal(run(limiter, 'k', rules, 5, T0 + 1000), 1);
    assert.equal(run(limiter, 'k', rules, 20, T0 + 20_000), 10);
  });

  it('no double burst at a window boundary (what fixed windows allow)', () => {
    const limiter = new RateLimiter({ maxSubjects: 100 });
    const rules = [{ limit: 100, windowSeconds: 60 }];
    assert.equal(run(limiter, 'k', rules, 100, T0 + 59_999), 100);
    // A fixed window would start afresh at T0 + 60 s and allow 100 more.
    assert.equal(run(limiter, 'k', rules, 100, T0 + 60_001), 0);
  });

  it('limits that do not divide the window evenly still allow exactly the limit (no float drift)', () => {
    for (const limit of [3, 7, 99, 100_003]) {
      const limiter = new RateLimiter({ maxSubjects: 10 });
      const rules = [{ limit, windowSeconds: 1 }];
      assert.equal(run(limiter, 'k', rules, limit + 5, T0), limit, `limit ${limit}`);
    }
  });

  it('reports remaining and reset for every window, as the RateLimit headers need', () => {
    const limiter = new RateLimiter({ maxSubjects: 100 });
    const rules = [{ limit: 5, windowSeconds: 1 }, { limit: 100, windowSeconds: 3600 }];
    const d = limiter.peek('k', rules, T0);
    assert.ok(d.ok);
    assert.deepEqual(d.windows, [
      { limit: 5, windowSeconds: 1, remaining: 4, resetSeconds: 1 },
      { limit: 100, windowSeconds: 3600, remaining: 99, resetSeconds: 36 },
    ]);
  });

  it('several windows are all-or-nothing: the window that refuses names itself, the others are not used up', () => {
    const limiter = new RateLimiter({ maxSubjects: 100 });
    const rules = [{ limit: 2, windowSeconds: 1 }, { limit: 3, windowSeconds: 3600 }];
    assert.equal(run(limiter, 'k', rules, 5, T0), 2);
    assert.equal(run(limiter, 'k', rules, 5, T0 + 1000), 1);
    const refused = limiter.peek('k', rules, T0 + 5000);
    assert.ok(!refused.ok);
    assert.equal(refused.window.windowSeconds, 3600);
    assert.ok(refused.retryAfterSeconds >= 1100, `retry after ${refused.retryAfterSeconds}`);
    // A peek that is refused (or never committed) consumes nothing.
    const again = limiter.peek('k', rules, T0 + 5000);
    assert.deepEqual(again.next, refused.next);
  });

  it('new rules start afresh; subjects are counted apart', () => {
    const limiter = new RateLimiter({ maxSubjects: 100 });
    const rules = [{ limit: 1, windowSeconds: 60 }];
    assert.equal(run(limiter, 'a', rules, 3, T0), 1);
    assert.equal(run(limiter, 'b', rules, 3, T0), 1);
    assert.equal(run(limiter, 'a', [{ limit: 1, windowSeconds: 60 }], 3, T0), 1);
  });

  it('holds at most maxSubjects, dropping idle subjects first', () => {
    const limiter = new RateLimiter({ maxSubjects: 100 });
    const rules = [{ limit: 10, windowSeconds: 1 }];
    run(limiter, 'busy', [{ limit: 1, windowSeconds: 3600 }], 1, T0);
    for (let i = 0; i < 1000; i++) run(limiter, `s${i}`, rules, 1, T0 + i * 2000);
    assert.ok(limiter.size <= 100, `size ${limiter.size}`);
  });
});
