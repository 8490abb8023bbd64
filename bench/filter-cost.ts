/**
 * What the API-token filter (src/core/token-filter.ts) costs: memory per million stored tokens,
 * the time to add them, and the time of one lookup (present, absent), next to the SHA-256 every
 * check computes anyway. `node bench/filter-cost.ts [tokens]` (default 1,000,000).
 */
import { randomBytes } from 'node:crypto';
import { FingerprintSet } from '../src/core/fingerprint-set.ts';
import { sha256Hex } from '../src/secrets/hash.ts';

const n = Number(process.argv[2] ?? 1_000_000);
const stored = Array.from({ length: n }, () => sha256Hex(randomBytes(16).toString('hex')));
const absent = Array.from({ length: 200_000 }, () => sha256Hex(randomBytes(16).toString('hex')));
globalThis.gc?.();
const before = process.memoryUsage();
let t = performance.now();
const set = new FingerprintSet();
for (const h of stored) set.add(h);
const addMs = performance.now() - t;
globalThis.gc?.();
const after = process.memoryUsage();

function perOp(label: string, hashes: readonly string[], expect: boolean): void {
  const rounds = 5;
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    let found = 0;
    for (const h of hashes) if (set.has(h)) found++;
    const ns = ((performance.now() - start) * 1e6) / hashes.length;
    if (found !== (expect ? hashes.length : 0)) throw new Error(`${label}: ${found} of ${hashes.length} found`);
    best = Math.min(best, ns);
  }
  console.log(`  has(), ${label}: ${best.toFixed(0)} ns (best of ${rounds} passes over ${hashes.length.toLocaleString('en-US')})`);
}

console.log(`FingerprintSet, ${n.toLocaleString('en-US')} tokens:`);
console.log(`  table: ${set.capacity.toLocaleString('en-US')} slots x 8 bytes = ${(set.bytes / 2 ** 20).toFixed(1)} MiB (${(set.bytes / n).toFixed(1)} bytes a token)`);
console.log(`  measured: arrayBuffers +${((after.arrayBuffers - before.arrayBuffers) / 2 ** 20).toFixed(1)} MiB, heapUsed +${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)} MiB (the hex strings of this script excluded: they exist before)`);
console.log(`  adding all (with the doublings): ${addMs.toFixed(0)} ms`);
perOp('stored', stored.slice(0, 200_000), true);
perOp('absent', absent, false);
t = performance.now();
for (const h of absent) sha256Hex(h);
console.log(`  for scale, the SHA-256 a check computes anyway: ${(((performance.now() - t) * 1e6) / absent.length).toFixed(0)} ns`);
console.log(`  false-positive rate: n / 2^64 = ${(n / 2 ** 64).toExponential(1)} a random candidate`);
