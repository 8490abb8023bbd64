import { strict as assert } from 'node:assert';
import { pbkdf2 } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, it } from 'node:test';
import { lowerThreadpoolPriority } from './kdf-priority.ts';

function poolThreads(): number[] {
  return readdirSync('/proc/self/task')
    .filter((t) => readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === 'libuv-worker')
    .map(Number);
}

describe('lowerThreadpoolPriority', () => {
  it('lowers every thread of the libuv pool, and only those', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
    // The pool starts on its first job.
    await new Promise((resolve, reject) => pbkdf2('p', 's', 1, 32, 'sha256', (e) => (e ? reject(e) : resolve(null))));
    const pool = poolThreads();
    assert.ok(pool.length >= 1);
    assert.equal(lowerThreadpoolPriority(7), pool.length);
    for (const tid of pool) assert.equal(getPriority(tid), 7);
    assert.equal(getPriority(), 0, 'the event loop keeps its priority');
  });
});
