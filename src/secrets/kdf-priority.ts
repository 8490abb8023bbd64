/**
 * Password hashing below the event loop's priority.
 *
 * argon2id runs on libuv's thread pool (@node-rs/argon2), 19 MiB and tens of milliseconds of CPU
 * per login. A burst of logins (or a credential-stuffing run) then keeps every core busy, and the
 * event loop, which answers token checks in microseconds, waits for the scheduler behind the
 * hashing threads: check latency rises tenfold (bench/RESULTS.md). Lowering the pool threads'
 * priority (Linux `nice`) lets the event loop run first whenever it has work, while the hashing
 * still gets every cycle the event loop does not use, so login throughput is unchanged.
 *
 * The pool is shared: file I/O and WebCrypto jobs (JWT signing and verification) run on the same
 * threads and are deprioritised too, which matters only when the CPU is saturated. Linux only; a
 * no-op elsewhere or when /proc is not readable. Best effort: a failure changes nothing else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * The lowest. Measured on Linux 6.18 (EEVDF scheduler), 2 cores, four argon2id hashes running flat
 * out: the event loop woke from a 5 ms timer with a p99 delay of 5.1 ms with the pool at nice 0,
 * 4.2 ms at nice 10 (too mild to matter), and 1.0-1.7 ms at nice 19 (SCHED_IDLE, which Node cannot
 * set, did no better). JWT signing shares the pool and did not slow down: hoster create ran at
 * the same rate at nice 10 and 19, interleaved. The pool still gets every cycle the event loop
 * and the rest of the machine leave.
 */
export const THREADPOOL_NICE = 19;

/**
 * Lowers the priority of libuv's pool threads of this process (named `libuv-worker`). The pool
 * starts on its first job, so call this after one (openServices computes a dummy hash). Returns
 * how many threads were changed.
 */
export function lowerThreadpoolPriority(nice: number = THREADPOOL_NICE): number {
  if (process.platform !== 'linux') return 0;
  let changed = 0;
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      let name: string;
      try {
        name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (name !== 'libuv-worker') continue;
      try {
        // On Linux, setpriority() on a thread id changes that thread only.
        setPriority(Number(tid), nice);
        changed++;
      } catch {
        // Not permitted (a sandbox): leave it.
      }
    }
  } catch {
    return changed;
  }
  return changed;
}
