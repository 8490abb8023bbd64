/**
 * argon2id and nothing else, in a process of its own: `node bench/peers/hasher.ts <in flight> <ms>`
 * verifies a password with tokend's parameters (OWASP: m=19456 KiB, t=2, p=1), that many at a
 * time, for that long, on libuv's pool threads lowered to the priority tokend gives them
 * (src/secrets/kdf-priority.ts). Prints `{"perS": …}` when done.
 *
 * The make scenario runs it beside the bare Fastify route: how far a server that does no hashing
 * at all sees its check latency rise while the machine hashes as tokend's make load makes it hash.
 */
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { lowerThreadpoolPriority, THREADPOOL_NICE } from '../../src/secrets/kdf-priority.ts';

const [inFlight, durationMs] = process.argv.slice(2).map(Number);
if (!Number.isInteger(inFlight) || inFlight! < 1 || !(durationMs! > 0)) {
  process.stderr.write('usage: node bench/peers/hasher.ts <in flight> <ms>\n');
  process.exit(2);
}
const OWASP = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const stored = await hash('bench-kdf-password', OWASP);
// The pool has started (the hash above): its threads exist now.
lowerThreadpoolPriority(THREADPOOL_NICE);
const end = performance.now() + durationMs!;
let done = 0;
await Promise.all(
  Array.from({ length: inFlight! }, async () => {
    while (performance.now() < end) {
      await verify(stored, 'bench-kdf-password');
      done++;
    }
  }),
);
process.stdout.write(`${JSON.stringify({ perS: done / (durationMs! / 1000) })}\n`);
