import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MAX_RECORD_ID, RECORD_ID_PATTERN } from './ids.ts';

describe('record id pattern', () => {
  const re = new RegExp(RECORD_ID_PATTERN);
  it('takes exactly 1 to 2^31 - 1', () => {
    for (const n of [1, 9, 10, 29078, 999_999_999, 1_000_000_000, 1_999_999_999, 2_000_000_000, 2_147_483_639, MAX_RECORD_ID]) {
      assert.ok(re.test(String(n)), String(n));
    }
    for (const s of ['0', '01', '-1', '1.0', '1e3', '', ' 1', String(MAX_RECORD_ID + 1), '2147483650', '2147483700', '2148000000', '2200000000', '3000000000', '9999999999', '10000000000']) {
      assert.ok(!re.test(s), s);
    }
  });
  it('agrees with MAX_RECORD_ID around every digit boundary', () => {
    // Every number that differs from the maximum in one digit, and its neighbours.
    const max = String(MAX_RECORD_ID);
    for (let i = 0; i < max.length; i++) {
      for (let d = 0; d <= 9; d++) {
        const s = max.slice(0, i) + d + max.slice(i + 1);
        if (s.startsWith('0')) continue;
        assert.equal(re.test(s), Number(s) <= MAX_RECORD_ID, s);
      }
    }
  });
});
