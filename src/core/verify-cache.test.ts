import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ChangeBus } from './changes.ts';
import { ManualClock } from './clock.ts';
import { cacheTag, VerifyCache } from './verify-cache.ts';

function cache(ttlMs = 5000, maxEntries = 100): { c: VerifyCache<string>; clock: ManualClock } {
  const clock = new ManualClock();
  return { c: new VerifyCache<string>({ ttlMs, maxEntries, clock }), clock };
}

describe('VerifyCache', () => {
  it('serves an entry for less than the staleness bound, never at or after it', () => {
    const { c, clock } = cache(5000);
    c.set('h', 'v', [], c.epoch());
    clock.advance(4999);
    assert.equal(c.get('h'), 'v');
    clock.advance(1);
    assert.equal(c.get('h'), undefined);
    assert.equal(c.size, 0);
  });

  it('caches nothing with a bound of 0', () => {
    const { c } = cache(0);
    assert.equal(c.enabled, false);
    c.set('h', 'v', [], c.epoch());
    assert.equal(c.get('h'), undefined);
  });

  it('drops tagged entries on a change published on the bus', () => {
    const { c } = cache();
    const bus = new ChangeBus();
    c.follow(bus);
    c.set('a', '1', [cacheTag('api_token', 'x'), cacheTag('account', 7)], c.epoch());
    c.set('b', '2', [cacheTag('account', 7)], c.epoch());
    c.set('c', '3', [cacheTag('account', 8)], c.epoch());
    bus.publish({ kind: 'api_token', ids: ['x'] });
    assert.equal(c.get('a'), undefined);
    assert.equal(c.get('b'), '2');
    bus.publish({ kind: 'account', ids: ['7'] });
    assert.equal(c.get('b'), undefined);
    assert.equal(c.get('c'), '3');
  });

  it('does not cache a lookup that raced an invalidation', () => {
    const { c } = cache();
    const epoch = c.epoch();
    // The row was read, then revoked and announced before the reader stored it.
    c.invalidate(cacheTag('api_token', 'x'));
    c.set('a', 'stale', [cacheTag('api_token', 'x')], epoch);
    assert.equal(c.get('a'), undefined);
  });

  it('keeps at most maxEntries, dropping the least recently used (to within a quarter of the staleness bound)', () => {
    const { c, clock } = cache(5000, 3);
    for (const k of ['a', 'b', 'c']) c.set(k, k, [`t:${k}`], c.epoch());
    clock.advance(1300);
    assert.equal(c.get('a'), 'a'); // a is now the most recently used
    c.set('d', 'd', ['t:d'], c.epoch());
    assert.equal(c.size, 3);
    assert.equal(c.get('b'), undefined);
    assert.equal(c.get('a'), 'a');
    assert.equal(c.get('d'), 'd');
    // Evicted entries leave no tag behind to leak memory.
    c.invalidate('t:b');
    assert.equal(c.size, 3);
  });
});
