/**
 * A multiset of 64-bit fingerprints in one typed array: the membership structure of the API-token
 * filter (src/core/token-filter.ts). A fingerprint is the first 16 hex characters (64 bits) of a
 * token's SHA-256, the hash storage keeps; SHA-256 spreads them uniformly, so they index the table
 * directly.
 *
 * - Open addressing, linear probing, two 32-bit words a slot (8 bytes), the all-zero slot empty
 *   (the one fingerprint that is zero is stored as 1: a false positive more, never a false negative).
 * - At most 3/4 full, doubled when more: 8 bytes x 1.33 to 2.67 slots a fingerprint (11 to 21
 *   bytes a token; 16 MiB from 786,433 to 1,572,864 tokens).
 * - A set: adding a stored fingerprint again changes nothing. Two different tokens of equal
 *   fingerprints (about n^2 / 2^65 pairs at n tokens: 2.7e-8 at a million) share one entry, so
 *   removing one would hide the other; the filter therefore never removes a fingerprint it may
 *   still need (src/core/token-filter.ts).
 * - Removal shifts the following run back (no tombstones), so a table that sees many removals
 *   stays as fast as a fresh one.
 *
 * `has` answers "possibly present" for a hash whose fingerprint is stored: a random hash matches
 * one of n stored fingerprints with probability n / 2^64 (5.4e-14 at a million).
 */

const MIN_CAPACITY = 1024;

/** The fingerprint of a SHA-256 hex digest: its first 64 bits, as two unsigned 32-bit words. */
function high(hash: string): number {
  return word(hash, 0);
}
function low(hash: string): number {
  return word(hash, 8);
}

/** Eight hex characters from `at` as an unsigned 32-bit word, without building a substring (the hot path). */
function word(hash: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = hash.charCodeAt(i);
    // '0'-'9' -> 0-9, 'a'-'f' -> 10-15, 'A'-'F' -> 10-15; anything else is not a hex digest.
    const d = c <= 57 ? c - 48 : (c | 32) - 87;
    if (d < 0 || d > 15) throw new Error('not a hex digest');
    v = (v << 4) | d;
  }
  return v >>> 0;
}

export class FingerprintSet {
  #slots: Uint32Array;
  #mask: number;
  #size = 0;

  constructor(expected = 0) {
    let capacity = MIN_CAPACITY;
    while (capacity * 0.75 < expected) capacity *= 2;
    this.#slots = new Uint32Array(capacity * 2);
    this.#mask = capacity - 1;
  }

  /** Fingerprints stored. */
  get size(): number {
    return this.#size;
  }

  /** Slots in the table. */
  get capacity(): number {
    return this.#mask + 1;
  }

  /** Memory the table holds, bytes. */
  get bytes(): number {
    return this.#slots.byteLength;
  }

  /** Adds the fingerprint of a SHA-256 hex digest (at least 16 hex characters); false when it was there already. */
  add(hash: string): boolean {
    return this.#add(high(hash), low(hash));
  }

  /** Adds every fingerprint of `packed`: fingerprints of 16 hex characters, one after another. Returns how many were new. */
  addPacked(packed: string): number {
    if (packed.length % 16 !== 0) throw new Error('not a string of 16-character fingerprints');
    let added = 0;
    for (let at = 0; at < packed.length; at += 16) if (this.#add(word(packed, at), word(packed, at + 8))) added++;
    return added;
  }

  /** True when the fingerprint of `hash` is stored (possibly another hash's of the same 64 bits). */
  has(hash: string): boolean {
    return this.#find(high(hash), low(hash)) >= 0;
  }

  /** Removes the fingerprint of `hash`; false when it is not stored. */
  remove(hash: string): boolean {
    const at = this.#find(high(hash), low(hash));
    if (at < 0) return false;
    this.#removeAt(at);
    return true;
  }

  /** Empties the set (and gives its memory back down to what `expected` needs). */
  clear(expected = 0): void {
    const fresh = new FingerprintSet(expected);
    this.#slots = fresh.#slots;
    this.#mask = fresh.#mask;
    this.#size = 0;
  }

  #add(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    if ((this.#size + 1) * 4 > this.capacity * 3) this.#grow();
    const i = this.#probe(hi, lo);
    const slots = this.#slots;
    if (slots[2 * i] === hi && slots[2 * i + 1] === lo) return false;
    slots[2 * i] = hi;
    slots[2 * i + 1] = lo;
    this.#size++;
    return true;
  }

  #find(hi: number, lo: number): number {
    if (hi === 0 && lo === 0) lo = 1;
    const i = this.#probe(hi, lo);
    return this.#slots[2 * i] === hi && this.#slots[2 * i + 1] === lo ? i : -1;
  }

  /** The slot holding (hi, lo), or the empty one where it would go; (0, 0) marks an empty slot, so callers pass (0, 1) for it. */
  #probe(hi: number, lo: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hi & mask;
    for (;;) {
      const h = slots[2 * i]!;
      const l = slots[2 * i + 1]!;
      if ((h === hi && l === lo) || (h === 0 && l === 0)) return i;
      i = (i + 1) & mask;
    }
  }

  /** Empties slot `at`, then moves back every entry of the run after it that may move (backward shift). */
  #removeAt(at: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let hole = at;
    let i = at;
    for (;;) {
      i = (i + 1) & mask;
      const h = slots[2 * i]!;
      const l = slots[2 * i + 1]!;
      if (h === 0 && l === 0) break;
      const home = h & mask;
      // The entry at i may fill the hole when its home is not inside the (cyclic) range (hole, i].
      const between = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (!between) {
        slots[2 * hole] = h;
        slots[2 * hole + 1] = l;
        hole = i;
      }
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = 0;
    this.#size--;
  }

  #grow(): void {
    const old = this.#slots;
    const capacity = (this.#mask + 1) * 2;
    this.#slots = new Uint32Array(capacity * 2);
    this.#mask = capacity - 1;
    this.#size = 0;
    for (let i = 0; i < old.length; i += 2) {
      const h = old[i]!;
      const l = old[i + 1]!;
      if (h !== 0 || l !== 0) this.#add(h, l);
    }
  }
}
