/**
 * ChatApp make (POST /v1/tokens: argon2id with the OWASP parameters, then a session) against the
 * KDF limit of this machine, measured in the same run: cores / the time of one hash. Also how a
 * token check fares while make saturates the CPU. (Whether an unknown email and a wrong password
 * take the same time is bench/login-enumeration.ts, which run.ts runs too.)
 */
import { execFile } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { compare, type Context, type ScenarioResult } from '../lib/context.ts';
import { latencyOf, probe, summarise, type Summary } from '../lib/measure.ts';
import { send, specTarget, startFloor } from '../lib/peers.ts';
import { median, percentile } from '../lib/stats.ts';
import { BENCH_PASSWORD } from '../lib/tokend.ts';
import { lowerThreadpoolPriority, THREADPOOL_NICE } from '../../src/secrets/kdf-priority.ts';
import type { WrkResult } from '../lib/wrk.ts';
import { CHECK_PATH } from './check.ts';

export const MAKE_PATH = '/v1/tokens';
const ARGON2ID = 2 as Algorithm;
/** Exactly what tokend hashes with by default (src/secrets/password.ts, OWASP). */
const OWASP = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const PROBE_RATE = 200;

/** fdatasync of a 4 KiB append, as a COMMIT does it (synchronous=FULL), in the data directory's file system. */
function fsyncLatency(dir: string, samples: number): { p50us: number; p99us: number } {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 7);
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      writeSync(fd, block);
      const t0 = performance.now();
      fdatasyncSync(fd);
      times.push((performance.now() - t0) * 1000);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return { p50us: percentile(times, 50), p99us: percentile(times, 99) };
}

/** The sampler of fsyncBesideHashing: a thread of its own, so that a blocking fdatasync never delays the hashing loop. */
const FSYNC_SAMPLER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const fd = fs.openSync(workerData.file, 'w');
const block = Buffer.alloc(4096, 7);
const pause = new Int32Array(new SharedArrayBuffer(4));
const times = [];
const end = performance.now() + workerData.durationMs;
while (performance.now() < end) {
  fs.writeSync(fd, block);
  const t0 = performance.now();
  fs.fdatasyncSync(fd);
  times.push((performance.now() - t0) * 1000);
  Atomics.wait(pause, 0, 0, 5);
}
fs.closeSync(fd);
fs.rmSync(workerData.file, { force: true });
parentPort.postMessage(times);
`;

/**
 * fdatasync of a 4 KiB append while argon2id runs on every pool thread (as tokend's does under
 * make load), at tokend's priority for them: what each durable COMMIT costs the event loop then,
 * the wake-up after the write included. Measured apart from the make runs, so that its own writes
 * do not disturb them.
 */
async function fsyncBesideHashing(dir: string, durationMs: number): Promise<{ p50us: number; p99us: number }> {
  const stored = await hash('bench-kdf-password', OWASP);
  lowerThreadpoolPriority(THREADPOOL_NICE);
  let stop = false;
  const hashing = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!stop) await verify(stored, 'bench-kdf-password');
    }),
  );
  try {
    const times = await new Promise<number[]>((resolve, reject) => {
      const worker = new Worker(FSYNC_SAMPLER, { eval: true, workerData: { file: join(dir, 'fsync-probe-loaded'), durationMs } });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    return { p50us: percentile(times, 50), p99us: percentile(times, 99) };
  } finally {
    stop = true;
    await hashing;
    // Back to normal for the other measurements (this process runs as root here; elsewhere a
    // failure leaves them lower, which only slows its own hashing).
    lowerThreadpoolPriority(0);
  }
}

async function serialHashMs(samples: number): Promise<number> {
  const stored = await hash('bench-kdf-password', OWASP);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await verify(stored, 'bench-kdf-password');
    times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * argon2id flat out with `inFlight` hashes at a time (one per core: what the machine itself can
 * do), no HTTP, no database; also the CPU time (all threads of this process) each hash took.
 */
async function parallelHashes(inFlight: number, durationMs: number): Promise<{ perS: number; cpuMsPerHash: number }> {
  const stored = await hash('bench-kdf-password', OWASP);
  const end = performance.now() + durationMs;
  let done = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await verify(stored, 'bench-kdf-password');
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { perS: done / ((performance.now() - t0) / 1000), cpuMsPerHash: (cpu.user + cpu.system) / 1000 / done };
}

const HASHER = new URL('../peers/hasher.ts', import.meta.url).pathname;

/**
 * Raw argon2id in a process of its own (bench/peers/hasher.ts), `inFlight` at a time for
 * `durationMs`, its pool threads at tokend's priority for them. Resolves when it is done.
 */
function hashingProcess(inFlight: number, durationMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [HASHER, String(inFlight), String(durationMs)], { timeout: durationMs + 60_000 }, (error) => (error ? reject(error) : resolve()));
  });
}

/** libuv's thread pool, where tokend's hashes run: 4 threads unless UV_THREADPOOL_SIZE says otherwise. */
const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

function pseudo(key: string, label: string, rps: number): Summary {
  return { key, label, rps, p50us: Number.NaN, p99us: Number.NaN, errors: 0, requests: 0, rounds: [rps], cpuUsPerReq: Number.NaN };
}

export async function makeScenario(ctx: Context): Promise<ScenarioResult> {
  const { p } = ctx;
  const { fixture, server: tokend } = await ctx.small();
  const cores = availableParallelism();
  const makes = fixture.accounts.map((a) => ({
    method: 'POST',
    path: MAKE_PATH,
    body: JSON.stringify({ email: a.email, password: BENCH_PASSWORD, appId: a.appId }),
    headers: { 'Content-Type': 'application/json' },
  }));
  const ok = await send(tokend.url, makes[0]!);
  if (ok.status !== 200) throw new Error(`tokend make answered ${ok.status} ${ok.text}`);
  const make = specTarget({
    key: 'make',
    label: 'tokend ChatApp make',
    url: tokend.url,
    specFile: join(ctx.work, 'make.spec'),
    requests: makes,
    connections: p.makeConnections,
    timeoutS: 30,
    pid: tokend.pid,
  });
  const checkToken = fixture.v3Tokens[0]!;
  const checkProbe = (durationMs: number) =>
    probe(tokend.url, () => ({ method: 'GET', path: CHECK_PATH, headers: { Authorization: `Bearer ${checkToken}` } }), { ratePerS: PROBE_RATE, durationMs });
  // The machine's own limit for that probe: the bare Fastify route (no hashing, no database),
  // alone and beside raw argon2id in another process, as many in flight as the make load.
  const floor = await startFloor(ctx.work);
  const floorProbe = (durationMs: number) =>
    probe(floor.url, () => ({ method: 'GET', path: CHECK_PATH, headers: { Authorization: `Bearer ${checkToken}` } }), { ratePerS: PROBE_RATE, durationMs });

  ctx.log(`  make: ${p.rounds} rounds x ${p.makeDurationS} s, ${p.makeConnections} connections; KDF timed ${p.kdfSamples} times per round`);
  await make.run(Math.max(1, p.warmupS));
  const hashMs: number[] = [];
  const parallel: number[] = [];
  const parallelCpuMs: number[] = [];
  const poolWide: number[] = [];
  const makeRuns: WrkResult[] = [];
  const idleCheck: number[] = [];
  const loadedCheck: number[] = [];
  const loadedFsync: { p50us: number; p99us: number }[] = [];
  const floorIdle: number[] = [];
  const floorHashing: number[] = [];
  try {
    for (let r = 0; r < p.rounds; r++) {
      hashMs.push(await serialHashMs(p.kdfSamples));
      const raw = await parallelHashes(cores, Math.min(3000, p.makeDurationS * 500));
      parallel.push(raw.perS);
      parallelCpuMs.push(raw.cpuMsPerHash);
      // As many at once as tokend's pool runs (8 makes in flight fill its 4 threads): what
      // oversubscribing the cores costs the hashing itself.
      poolWide.push((await parallelHashes(POOL_THREADS, Math.min(3000, p.makeDurationS * 500))).perS);
      loadedFsync.push(await fsyncBesideHashing(fixture.dir, Math.min(3000, p.makeDurationS * 500)));
      idleCheck.push(...(await checkProbe(p.makeDurationS * 1000)).samplesUs);
      // The probe runs beside the make load, from its second half-second to its end.
      const [result, loaded] = await Promise.all([
        make.run(p.makeDurationS),
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, 500));
          return checkProbe(p.makeDurationS * 1000 - 1000);
        })(),
      ]);
      makeRuns.push(result);
      loadedCheck.push(...loaded.samplesUs);
      floorIdle.push(...(await floorProbe(p.makeDurationS * 1000)).samplesUs);
      const [, floorLoaded] = await Promise.all([
        hashingProcess(p.makeConnections, p.makeDurationS * 1000),
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, 500));
          return floorProbe(p.makeDurationS * 1000 - 1000);
        })(),
      ]);
      floorHashing.push(...floorLoaded.samplesUs);
      ctx.log(
        `    round ${r + 1}/${p.rounds}: one hash ${hashMs[r]!.toFixed(1)} ms (limit ${(cores * 1000 / hashMs[r]!).toFixed(1)}/s), raw parallel ${parallel[r]!.toFixed(1)}/s, make ${result.rps.toFixed(1)}/s${result.errors ? ` (${result.errors} errors)` : ''}`,
      );
    }
  } finally {
    floor.child.kill('SIGTERM');
  }
  const t1 = median(hashMs);
  const limit = (cores * 1000) / t1;
  const makeSummary = summarise('make', 'tokend ChatApp make', makeRuns);
  const idle = latencyOf(idleCheck);
  const loaded = latencyOf(loadedCheck);
  const floorAlone = latencyOf(floorIdle);
  const floorBeside = latencyOf(floorHashing);
  const fsync = fsyncLatency(fixture.dir, 200);
  const fsyncLoaded = { p50us: median(loadedFsync.map((f) => f.p50us)), p99us: median(loadedFsync.map((f) => f.p99us)) };

  const ms = (us: number): string => (us / 1000).toFixed(2);
  return {
    comparisons: [
      compare(
        'make-kdf',
        'ChatApp make (argon2id m=19456 KiB, t=2, p=1)',
        makeSummary,
        pseudo('kdf', `KDF limit: ${cores} cores / ${t1.toFixed(1)} ms`, limit),
        0.9,
        '>= 0.9 of the KDF limit',
      ),
    ],
    sections: [
      {
        title: 'ChatApp make: the KDF and the machine',
        lines: [
          '| measure | value |',
          '|---|---:|',
          `| one argon2id hash (median of ${p.kdfSamples} x ${p.rounds}, idle machine) | ${t1.toFixed(1)} ms |`,
          `| KDF limit = ${cores} cores / one hash | ${limit.toFixed(1)} /s |`,
          `| raw argon2id on ${cores} threads, no HTTP, no database (median) | ${median(parallel).toFixed(1)} /s (${(median(parallel) / limit).toFixed(2)} of the limit) |`,
          `| tokend make (median) | ${makeSummary.rps.toFixed(1)} /s (${(makeSummary.rps / limit).toFixed(2)} of the limit, ${(makeSummary.rps / median(parallel)).toFixed(2)} of raw parallel) |`,
          `| make latency p50 / p99 (${p.makeConnections} in flight) | ${ms(makeSummary.p50us)} / ${ms(makeSummary.p99us)} ms |`,
          `| raw argon2id with ${POOL_THREADS} in flight (tokend's pool threads) on ${cores} cores (median) | ${median(poolWide).toFixed(1)} /s (${(median(poolWide) / median(parallel)).toFixed(2)} of ${cores} in flight) |`,
          `| CPU time per hash, raw, ${cores} in flight (all threads) | ${median(parallelCpuMs).toFixed(1)} ms |`,
          `| CPU time per make, tokend (all threads; the probe's checks included) | ${(makeSummary.cpuUsPerReq / 1000).toFixed(1)} ms (${(makeSummary.cpuUsPerReq / 1000 - median(parallelCpuMs)).toFixed(1)} ms besides one hash) |`,
        ],
      },
      {
        title: 'Token check while make saturates the CPU',
        lines: [
          `Invoicebox check at a fixed ${PROBE_RATE} requests/s on one keep-alive connection, alone and beside the make load.`,
          '',
          '| check | samples | p50 (ms) | p99 (ms) |',
          '|---|---:|---:|---:|',
          `| unloaded | ${idle.n} | ${ms(idle.p50us)} | ${ms(idle.p99us)} |`,
          `| during make load | ${loaded.n} | ${ms(loaded.p50us)} | ${ms(loaded.p99us)} |`,
          `| ratio (target p99 <= 2x) | | ${(loaded.p50us / idle.p50us).toFixed(2)} | ${(loaded.p99us / idle.p99us).toFixed(2)} |`,
          `| bare Fastify route, unloaded | ${floorAlone.n} | ${ms(floorAlone.p50us)} | ${ms(floorAlone.p99us)} |`,
          `| bare Fastify route beside raw argon2id (${p.makeConnections} in flight, another process, no make) | ${floorBeside.n} | ${ms(floorBeside.p50us)} | ${ms(floorBeside.p99us)} |`,
          `| ratio of the bare route: the machine's own | | ${(floorBeside.p50us / floorAlone.p50us).toFixed(2)} | ${(floorBeside.p99us / floorAlone.p99us).toFixed(2)} |`,
          '',
          `Each make ends in a durable COMMIT, whose fdatasync the WAL sync thread makes, off the event loop (src/store/wal-sync.ts): ` +
            `fdatasync of 4 KiB in the data directory takes ${ms(fsync.p50us)} ms at p50 and ${ms(fsync.p99us)} ms at p99 on this machine when it is idle, ` +
            `and ${ms(fsyncLoaded.p50us)} ms at p50 and ${ms(fsyncLoaded.p99us)} ms at p99 while argon2id keeps both cores busy on threads at tokend's priority for them (medians over rounds).`,
        ],
      },
    ],
    facts: {
      hashMs: t1,
      cores,
      kdfLimit: limit,
      rawParallel: median(parallel),
      rawPoolWide: median(poolWide),
      rawCpuMsPerHash: median(parallelCpuMs),
      makeCpuMs: makeSummary.cpuUsPerReq / 1000,
      makeRps: makeSummary.rps,
      checkIdleP99us: idle.p99us,
      checkLoadedP99us: loaded.p99us,
      checkIdleP50us: idle.p50us,
      checkLoadedP50us: loaded.p50us,
      floorIdleP99us: floorAlone.p99us,
      floorHashingP99us: floorBeside.p99us,
      fsyncP50us: fsync.p50us,
      fsyncP99us: fsync.p99us,
      fsyncLoadedP50us: fsyncLoaded.p50us,
      fsyncLoadedP99us: fsyncLoaded.p99us,
    },
  };
}
