/**
 * `npm run bench -- --soak`: does tokend's memory settle under a steady check load?
 *
 * tokend with a million API tokens stored, a steady load at a fixed rate (3,000 checks/s of one
 * valid v3 token, over a few keep-alive connections) for 30 minutes, then a minute without load.
 * The server's resident memory is read every few seconds, its V8 heap (used and committed) from
 * its own `/metrics`; the report gives RSS at 5, 10, 20 and 30 minutes (each the median of the
 * readings of the minute before that mark, so a single collection does not decide it), a minute
 * after the load stopped, and RSS at the end over RSS at 5 minutes (target: within 10 %).
 * Writes bench/RESULTS.soak.md, or with --soak-minutes below 30 bench/RESULTS.soak-short.md.
 *
 * Options (after `npm run bench --`):
 *   --soak-minutes N     load for N minutes instead of 30 (marks past N are left out)
 *   --soak-rate R        checks per second (default 3000)
 *   --soak-tokens N      API tokens stored (default 1,000,000)
 *   --soak-node-flags F  extra node flags for tokend, comma-separated (e.g. --max-semi-space-size=16)
 *   --soak-env K=V,...   extra environment for tokend (e.g. TOKEND_NODE_OPTIONS=)
 *   --soak-snapshots M,… heap snapshots of tokend at these minutes (node --heapsnapshot-signal),
 *                        kept in the work directory with --keep
 *   --keep               keep the work directory (tokend's log, snapshots, the samples as CSV)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeMachine } from './lib/machine.ts';
import { startPaced } from './lib/paced.ts';
import { freePort, memoryOf, type Server } from './lib/procs.ts';
import { prepareTokend, startTokend } from './lib/tokend.ts';
import { median } from './lib/stats.ts';
import { CHECK_PATH } from './scenarios/check.ts';

const BENCH_DIR = new URL('./', import.meta.url).pathname;
const SAMPLE_MS = 5_000;
const AFTER_S = 60;
const CONNECTIONS = 8;

interface Sample {
  /** Seconds since the load started. */
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  checks: number;
  loaded: boolean;
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return argv[i]!.includes('=') ? argv[i]!.slice(argv[i]!.indexOf('=') + 1) : argv[i + 1];
}

/** V8's heap as tokend's own /metrics reports it (prom-client's process collectors), MiB. */
async function heapOf(url: string): Promise<{ used: number; total: number; external: number }> {
  const nan = { used: Number.NaN, total: Number.NaN, external: Number.NaN };
  try {
    const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) });
    const text = await r.text();
    const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
    return { used: read('tokend_nodejs_heap_size_used_bytes'), total: read('tokend_nodejs_heap_size_total_bytes'), external: read('tokend_nodejs_external_memory_bytes') };
  } catch {
    return nan;
  }
}

export async function soak(argv: string[], log: (line: string) => void): Promise<number> {
  const minutes = Number(option(argv, '--soak-minutes') ?? 30);
  const rate = Number(option(argv, '--soak-rate') ?? 3000);
  const tokens = Number(option(argv, '--soak-tokens') ?? 1_000_000);
  const nodeFlags = (option(argv, '--soak-node-flags') ?? '').split(',').filter(Boolean);
  const extraEnv = Object.fromEntries(
    (option(argv, '--soak-env') ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const snapshotsAt = (option(argv, '--soak-snapshots') ?? '').split(',').filter(Boolean).map(Number);
  const keep = argv.includes('--keep');
  if (!(minutes > 0) || !(rate > 0) || !(tokens > 0)) throw new Error('--soak-minutes, --soak-rate and --soak-tokens take positive numbers');

  log('bench: npm run build:server');
  execFileSync(process.execPath, [join(BENCH_DIR, '../scripts/build-server.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const machine = describeMachine();
  const startedAt = new Date();
  const work = mkdtempSync(join(tmpdir(), 'tokend-soak-'));
  const dir = join(work, 'tokend');
  mkdirSync(dir);
  log(`soak: seeding ${tokens.toLocaleString('en-US')} API tokens in ${dir}`);
  const fixture = await prepareTokend(dir, { apiTokens: tokens, workingSet: 1, accounts: 8, refreshPool: 0, serviceKeys: 0 });
  const snapDir = join(work, 'snapshots');
  mkdirSync(snapDir);
  const flags = [...nodeFlags, ...(snapshotsAt.length ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`] : [])];
  let server: Server | null = null;
  try {
    server = await startTokend({ name: 'tokend-soak', dir, port: await freePort(), env: extraEnv, nodeFlags: flags, timeoutMs: 180_000 });
    const pid = server.pid;
    const token = fixture.v3Tokens[0]!;
    const check = await fetch(server.url + CHECK_PATH, { headers: { Authorization: `Bearer ${token}` } });
    if (check.status !== 200) throw new Error(`tokend check answered ${check.status} ${await check.text()}`);
    const atStart = memoryOf(pid);
    log(`soak: tokend pid ${pid}, RSS ${atStart?.rssMiB.toFixed(0)} MiB after start; ${rate}/s for ${minutes} min, then ${AFTER_S} s idle`);

    const samples: Sample[] = [];
    const load = startPaced({
      url: server.url,
      requests: [{ method: 'GET', path: CHECK_PATH, headers: { Authorization: `Bearer ${token}` } }],
      ratePerS: rate,
      connections: CONNECTIONS,
    });
    const t0 = performance.now();
    const loadMs = minutes * 60_000;
    const endMs = loadMs + AFTER_S * 1000;
    let stopped: ReturnType<typeof load.progress> | null = null;
    const pendingSnapshots = [...snapshotsAt].sort((a, b) => a - b);
    for (let next = 0; ; next += SAMPLE_MS) {
      const wait = t0 + next - performance.now();
      if (wait > 0) await sleep(wait);
      const elapsed = performance.now() - t0;
      if (!stopped && elapsed >= loadMs) {
        stopped = await load.stop();
        log(`soak: load stopped after ${(elapsed / 60_000).toFixed(1)} min: ${stopped.ok.toLocaleString('en-US')} checks answered, ${stopped.failed} failed`);
      }
      const m = memoryOf(pid);
      const heap = await heapOf(server.url);
      const progress = stopped ?? load.progress();
      samples.push({ t: elapsed / 1000, rssMiB: m?.rssMiB ?? Number.NaN, heapUsedMiB: heap.used, heapTotalMiB: heap.total, externalMiB: heap.external, checks: progress.ok, loaded: !stopped });
      if (pendingSnapshots.length && elapsed >= pendingSnapshots[0]! * 60_000) {
        pendingSnapshots.shift();
        process.kill(pid, 'SIGUSR2');
        log(`soak: heap snapshot at ${(elapsed / 60_000).toFixed(1)} min`);
      }
      if (samples.length % 12 === 0 || elapsed >= endMs) {
        const last = samples.at(-1)!;
        const prev = samples.at(-13) ?? samples[0]!;
        const achieved = (last.checks - prev.checks) / Math.max(1, last.t - prev.t);
        log(`soak: ${(elapsed / 60_000).toFixed(1)} min: RSS ${last.rssMiB.toFixed(0)} MiB, heap ${last.heapUsedMiB.toFixed(0)}/${last.heapTotalMiB.toFixed(0)} MiB, ${achieved.toFixed(0)} checks/s, load ${loadavg()[0]!.toFixed(2)}`);
      }
      if (elapsed >= endMs) break;
    }
    const total = stopped!;
    writeFileSync(
      join(work, 'samples.csv'),
      'seconds,rss_mib,heap_used_mib,heap_total_mib,external_mib,checks,loaded\n' +
        samples.map((s) => [s.t.toFixed(1), s.rssMiB.toFixed(1), s.heapUsedMiB.toFixed(1), s.heapTotalMiB.toFixed(1), s.externalMiB.toFixed(1), s.checks, s.loaded ? 1 : 0].join(',')).join('\n') +
        '\n',
    );

    // A mark's figure: the median of the readings in the minute before it.
    const at = (min: number, pick: (s: Sample) => number): number => median(samples.filter((s) => s.loaded && s.t > (min - 1) * 60 && s.t <= min * 60 + 1).map(pick));
    const marks = [1, 5, 10, 20, 30].filter((m) => m <= minutes);
    if (!marks.includes(minutes)) marks.push(minutes);
    const after = samples.filter((s) => !s.loaded).at(-1)!;
    const firstMark = marks.includes(5) ? 5 : marks[0]!;
    const ratio = at(minutes, (s) => s.rssMiB) / at(firstMark, (s) => s.rssMiB);
    const achieved = total.ok / (loadMs / 1000);
    const lines: string[] = [];
    lines.push(`# tokend soak${minutes < 30 ? ` (${minutes} minutes: a trial, not the published figure)` : ''}`);
    lines.push('');
    lines.push(
      `Generated by \`npm run bench -- --soak${minutes !== 30 ? ` --soak-minutes ${minutes}` : ''}\` on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC. ` +
        `tokend (\`tokend serve\`, compiled build, default settings${nodeFlags.length ? `, node ${nodeFlags.join(' ')}` : ''}${Object.keys(extraEnv).length ? `, ${Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}) ` +
        `with ${fixture.storedApiTokens.toLocaleString('en-US')} API tokens stored; a steady ${rate.toLocaleString('en-US')} checks/s (open loop, ${CONNECTIONS} keep-alive connections) of one valid v3 token ` +
        `for ${minutes} minutes, then ${AFTER_S} s without load. RSS read every ${SAMPLE_MS / 1000} s from /proc; V8's heap from tokend's own /metrics at the same moments. ` +
        `A mark's figure is the median of the readings in the minute before it.`,
    );
    lines.push('');
    lines.push(`- ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, tokend ${machine.versions.tokend ?? ''}`.trimEnd());
    lines.push(`- load average (1/5/15 min) before: ${machine.loadBefore.map((x) => x.toFixed(2)).join(' / ')}; after: ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
    lines.push(`- checks answered: ${total.ok.toLocaleString('en-US')} (${achieved.toFixed(0)}/s achieved of ${rate}/s), failed: ${total.failed}`);
    lines.push(`- RSS after start (before any load): ${atStart?.rssMiB.toFixed(0) ?? 'n/a'} MiB; peak over the run: ${memoryOf(pid)?.peakMiB.toFixed(0) ?? 'n/a'} MiB`);
    lines.push('');
    lines.push('| minute | RSS (MiB) | V8 heap used (MiB) | V8 heap committed (MiB) | outside the heap: RSS - committed (MiB) |');
    lines.push('|---|---:|---:|---:|---:|');
    for (const mark of marks) {
      const rss = at(mark, (s) => s.rssMiB);
      const tot = at(mark, (s) => s.heapTotalMiB);
      lines.push(`| ${mark} | ${rss.toFixed(0)} | ${at(mark, (s) => s.heapUsedMiB).toFixed(0)} | ${tot.toFixed(0)} | ${(rss - tot).toFixed(0)} |`);
    }
    lines.push(`| ${AFTER_S} s after the load | ${after.rssMiB.toFixed(0)} | ${after.heapUsedMiB.toFixed(0)} | ${after.heapTotalMiB.toFixed(0)} | ${(after.rssMiB - after.heapTotalMiB).toFixed(0)} |`);
    lines.push('');
    lines.push(`**RSS at ${minutes} minutes / RSS at ${firstMark} minutes: ${ratio.toFixed(3)}** (target: within 10 %, ${Math.abs(ratio - 1) <= 0.1 ? 'met' : '**missed**'}).`);
    const out = join(BENCH_DIR, minutes >= 30 ? 'RESULTS.soak.md' : 'RESULTS.soak-short.md');
    writeFileSync(out, lines.join('\n') + '\n');
    log(`bench: wrote ${out}`);
    log(lines.join('\n'));
    if (snapshotsAt.length) log(`soak: snapshots ${readdirSync(snapDir).join(', ')}`);
    return Math.abs(ratio - 1) <= 0.1 ? 0 : 1;
  } finally {
    await server?.stop();
    if (keep) log(`bench: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}
