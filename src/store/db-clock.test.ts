import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DatabaseClock } from './db-clock.ts';

/** A local clock that advances by `step` on every read: each read of it is a moment in a round trip. */
function steppingClock(start: number, step: number): () => number {
  let t = start;
  return () => {
    const now = t;
    t += step;
    return now;
  };
}

describe('DatabaseClock', () => {
  it('adds the measured offset to the local clock, taken at the midpoint of the round trip', async () => {
    // Local reads: 1000 before, 1010 after; the database said 61_005 at the midpoint (1005).
    const clock = new DatabaseClock({ read: async () => 61_005, local: steppingClock(1000, 10) });
    await clock.sync();
    assert.equal(clock.offsetMs, 60_000);
    assert.ok(clock.synced);
    // The next local read is 1020.
    assert.equal(clock.now(), 61_020);
  });

  it('keeps the sample with the shortest round trip', async () => {
    const rtts = [50, 4, 30];
    let i = 0;
    let local = 0;
    const clock = new DatabaseClock({
      local: () => local,
      read: async () => {
        const rtt = rtts[i++]!;
        // The server is exactly 500 ms ahead; the sample is taken rtt/2 into the trip.
        const server = local + rtt / 2 + 500 + (rtt > 10 ? 7 : 0); // slow samples are also skewed
        local += rtt;
        return server;
      },
    });
    await clock.sync(3);
    assert.equal(clock.offsetMs, 500);
  });

  it('ignores a slow sample once it has a good one', async () => {
    let answer = 10_000;
    let rtt = 2;
    let local = 0;
    const clock = new DatabaseClock({
      maxRoundTripMs: 100,
      local: () => local,
      read: async () => {
        const r = answer + local + rtt / 2;
        local += rtt;
        return r;
      },
    });
    await clock.sync();
    assert.equal(clock.offsetMs, 10_000);
    answer = 99_999;
    rtt = 5000;
    await clock.sync();
    assert.equal(clock.offsetMs, 10_000, 'a 5 s round trip does not move the clock');
    rtt = 2;
    await clock.sync();
    assert.equal(clock.offsetMs, 99_999, 'a fast sample does');
  });

  it('starts even when the database cannot be read, following the system clock until it can', async () => {
    const warnings: string[] = [];
    let up = false;
    const clock = new DatabaseClock({
      read: async () => {
        if (!up) throw new Error('connection refused');
        return Date.now() + 3_600_000;
      },
      log: { info: () => {}, warn: (_o, m) => warnings.push(m) },
      syncIntervalMs: 10,
    });
    await clock.start();
    try {
      assert.equal(clock.synced, false);
      assert.ok(Math.abs(clock.now() - Date.now()) < 1000);
      assert.equal(warnings.length, 1);
      up = true;
      const deadline = Date.now() + 5000;
      while (!clock.synced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(clock.synced, 'the periodic sync picked the database clock up');
      assert.ok(Math.abs(clock.now() - Date.now() - 3_600_000) < 1000);
    } finally {
      clock.stop();
    }
  });
});
