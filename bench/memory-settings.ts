/**
 * Memory against throughput for V8's young generation: the Invoicebox check (a valid v3 token,
 * 1,000,000 stored, SQLite) against several `tokend serve` processes on the same database, each
 * with another `--max-semi-space-size` (MiB), and the bare Fastify floor; rounds interleaved with
 * wrk (32 connections), the servers' RSS read every 250 ms under load. Reports per variant the
 * median throughput, its ratio to tokend as it starts by default (paired per round), the server's
 * CPU per check, and RSS under load (median of the readings), after the load and at its peak.
 *
 *   node bench/memory-settings.ts [--tokens N] [--rounds R] [--seconds S] [--sizes 0,16,8,4,2,1]
 *
 * A size of 0 starts tokend with TOKEND_V8_SEMI_SPACE_MB=0: V8's own sizing (from the machine's memory).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pairedRatio } from './lib/context.ts';
import { interleaved, type Target } from './lib/measure.ts';
import { specTarget, startFloor } from './lib/peers.ts';
import { freePort, memoryOf, type Server } from './lib/procs.ts';
import { median } from './lib/stats.ts';
import { prepareTokend, startTokend } from './lib/tokend.ts';
import { checkRequests } from './scenarios/check.ts';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : fallback;
};
const tokens = Number(opt('--tokens', '1000000'));
const rounds = Number(opt('--rounds', '5'));
const durationS = Number(opt('--seconds', '10'));
const sizes = opt('--sizes', '0,16,8,4,2,1').split(',').map(Number);
const log = (line: string): void => void process.stdout.write(`${line}\n`);

function sampled(target: Target, pid: number, into: number[]): Target {
  return {
    ...target,
    run: async (s) => {
      const timer = setInterval(() => {
        const m = memoryOf(pid);
        if (m) into.push(m.rssMiB);
      }, 250);
      try {
        return await target.run(s);
      } finally {
        clearInterval(timer);
      }
    },
  };
}

execFileSync(process.execPath, [new URL('../scripts/build-server.mjs', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'tokend-memory-settings-'));
const servers: Server[] = [];
const loadBefore = loadavg();
try {
  log(`seeding ${tokens.toLocaleString('en-US')} API tokens`);
  const fixture = await prepareTokend(work, { apiTokens: tokens, workingSet: 1000, accounts: 8, refreshPool: 0, serviceKeys: 0 });
  const requests = checkRequests(fixture.v3Tokens.slice(0, 1000));
  const rss = new Map<string, number[]>();
  const targets: Target[] = [];
  const add = (key: string, label: string, server: Server): void => {
    servers.push(server);
    const samples: number[] = [];
    rss.set(key, samples);
    targets.push(sampled(specTarget({ key, label, url: server.url, specFile: join(work, `${key}.spec`), requests, connections: 32, pid: server.pid }), server.pid, samples));
  };
  for (const size of sizes) {
    const server = await startTokend({ name: `semi-${size}`, dir: work, port: await freePort(), env: { TOKEND_V8_SEMI_SPACE_MB: String(size) }, timeoutMs: 180_000 });
    add(`semi-${size}`, size === 0 ? "V8's default" : `--max-semi-space-size=${size}`, server);
  }
  add('floor', 'bare Fastify route (floor)', await startFloor(work));
  const s = await interleaved(targets, { rounds, durationS, warmupS: 3, log });
  const base = s.get(`semi-${sizes[0]}`)!;
  log('');
  log(`${rounds} rounds of ${durationS} s, interleaved; load average before ${loadBefore.map((x) => x.toFixed(2)).join(' / ')}, after ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
  log('');
  log(`| server | checks/s | vs ${base.label} | CPU per check (µs) | RSS under load, median (MiB) | RSS after (MiB) | peak RSS (MiB) |`);
  log('|---|---:|---:|---:|---:|---:|---:|');
  for (const t of targets) {
    const r = s.get(t.key)!;
    const pid = servers[targets.indexOf(t)]!.pid;
    const m = memoryOf(pid);
    log(
      `| ${r.label} | ${Math.round(r.rps).toLocaleString('en-US')} | ${pairedRatio(r, base).toFixed(2)} | ${r.cpuUsPerReq.toFixed(0)} | ${median(rss.get(t.key)!).toFixed(0)} | ${m?.rssMiB.toFixed(0)} | ${m?.peakMiB.toFixed(0)} |`,
    );
  }
} finally {
  for (const server of servers) await server.stop();
  rmSync(work, { recursive: true, force: true });
}
