import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256Hex } from '../secrets/hash.ts';
import { FingerprintSet } from './fingerprint-set.ts';

const fingerprintOf = (hash: string): string => hash.slice(0, 16);

/**
 * Hashes drawn from a small pool, some sharing a fingerprint and many sharing a home slot (the
 * low bits of the first word), so that probing runs, wrap-around and backward shifts all happen.
 */
const hashArb = fc
  .tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 }), fc.boolean())
  .map(([slotish, high, tail, zero]) => {
    if (zero && slotish === 0) return '0'.repeat(64);
    // First word: its low 10 bits pick the slot in a table of 1024; the high bits differ between entries of one slot.
    const first = ((high << 28) | (1023 - (slotish % 4))) >>> 0;
    const second = slotish;
    return first.toString(16).padStart(8, '0') + second.toString(16).padStart(8, '0') + String(tail).repeat(48);
  });

const opArb = fc.oneof(
  fc.record({ op: fc.constant('add' as const), hash: hashArb }),
  fc.record({ op: fc.constant('remove' as const), hash: hashArb }),
  fc.record({ op: fc.constant('has' as const), hash: hashArb }),
);

describe('FingerprintSet', () => {
  it('answers like a Set of 64-bit fingerprints under any sequence of adds, removes and lookups', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 100, maxLength: 400 }), (ops) => {
        const set = new FingerprintSet();
        const model = new Set<string>();
        for (const { op, hash } of ops) {
          const f = fingerprintOf(hash);
          if (op === 'add') assert.equal(set.add(hash), !model.has(f) && (model.add(f), true));
          else if (op === 'remove') assert.equal(set.remove(hash), model.delete(f));
          else assert.equal(set.has(hash), model.has(f));
          assert.equal(set.size, model.size);
        }
        for (const { hash } of ops) assert.equal(set.has(hash), model.has(fingerprintOf(hash)));
      }),
      { numRuns: 200 },
    );
  });

  it('grows past its load bound and keeps every fingerprint', () => {
    const set = new FingerprintSet();
    const hashes = Array.from({ length: 20_000 }, () => sha256Hex(randomBytes(16).toString('hex')));
    for (const h of hashes) set.add(h);
    assert.equal(set.size, 20_000);
    assert.ok(set.capacity >= 20_000 / 0.75, `capacity ${set.capacity}`);
    for (const h of hashes) assert.ok(set.has(h));
    // Half removed: the other half is still found, the removed half is not.
    for (const h of hashes.slice(0, 10_000)) assert.ok(set.remove(h));
    for (const h of hashes.slice(0, 10_000)) assert.equal(set.has(h), false);
    for (const h of hashes.slice(10_000)) assert.ok(set.has(h));
  });

  it('adds packed fingerprints (the load\'s pages) as it adds the hashes they come from', () => {
    const hashes = Array.from({ length: 1000 }, () => sha256Hex(randomBytes(16).toString('hex')));
    const set = new FingerprintSet();
    assert.equal(set.addPacked(hashes.map((h) => h.slice(0, 16)).join('')), 1000);
    assert.equal(set.addPacked(hashes.slice(0, 10).map((h) => h.slice(0, 16)).join('')), 0, 'a fingerprint stored already is not new');
    assert.equal(set.addPacked(''), 0);
    assert.equal(set.size, 1000);
    for (const h of hashes) assert.ok(set.has(h));
    assert.throws(() => set.addPacked(hashes[0]!.slice(0, 15)), /16-character fingerprints/);
    assert.throws(() => set.addPacked('x'.repeat(16)), /not a hex digest/);
  });

  it('refuses random hashes (64-bit fingerprints: a false positive is about n / 2^64)', () => {
    const set = new FingerprintSet(100_000);
    for (let i = 0; i < 100_000; i++) set.add(sha256Hex(`stored-${i}`));
    let matches = 0;
    for (let i = 0; i < 100_000; i++) if (set.has(sha256Hex(`random-${i}`))) matches++;
    assert.equal(matches, 0);
  });

  it('stores the all-zero fingerprint (the empty slot) without losing it', () => {
    const set = new FingerprintSet();
    const zero = '0'.repeat(64);
    assert.equal(set.has(zero), false);
    assert.ok(set.add(zero));
    assert.ok(set.has(zero));
    assert.ok(set.remove(zero));
    assert.equal(set.has(zero), false);
  });

  it('sizes for an expected count up front: 8 bytes a slot, at most 3/4 full', () => {
    const set = new FingerprintSet(1_000_000);
    assert.equal(set.capacity, 2 ** 21);
    assert.equal(set.bytes, 2 ** 21 * 8);
  });
});
