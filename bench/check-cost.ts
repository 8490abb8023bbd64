/**
 * The token-check rows of the bench, this tree against another checkout, side by side: the
 * Invoicebox check of a valid v3 token answered from the verification cache, the same with a
 * rate limit, an allow-list and credits attached to the token, and a new random token of each
 * format per request (bench/wrk/random-tokens.lua: all refused), plus the bare Fastify route
 * (the floor). Both servers serve copies of one SQLite fixture; in each round the
 * old and the new server of a row are loaded at the same moment, each by its own wrk, and each
 * reports the server's CPU time per response (/proc/<pid>/stat), the figure to read on a shared
 * machine: a change to the check path shows here as µs.
 *
 *   git worktree add --detach ../tokend-old <commit> && (cd ../tokend-old && npm run build)
 *   node bench/check-cost.ts ../tokend-old [rounds, default 5] [seconds per round, default 10] [stored tokens, default 100000]
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Target } from './lib/measure.ts';
import { send, specTarget, startFloor, withCpu } from './lib/peers.ts';
import { freePort, memoryOf, type Server } from './lib/procs.ts';
import { median } from './lib/stats.ts';
import * as newLib from './lib/tokend.ts';
import { runWrk } from './lib/wrk.ts';
import { checkRequests } from './scenarios/check.ts';

const [oldArg, roundsArg, secondsArg, storedArg] = process.argv.slice(2);
if (!oldArg) {
  process.stderr.write('usage: node bench/check-cost.ts <other tokend checkout, built> [rounds] [seconds] [stored tokens]\n');
  process.exit(2);
}
const oldRoot = resolve(oldArg);
const rounds = Number(roundsArg ?? 5);
const durationS = Number(secondsArg ?? 10);
const stored = Number(storedArg ?? 100_000);
const ROWS = ['valid', 'policy', 'random'] as const;
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const rev = (dir: string): string => execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const oldLib = (await import(pathToFileURL(join(oldRoot, 'bench/lib/tokend.ts')).href)) as typeof newLib;

execFileSync(process.execPath, [new URL('../scripts/build-server.mjs', import.meta.url).pathname, '--no-check'], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'tokend-check-cost-'));
const servers: Server[] = [];
try {
  const seedDir = join(work, 'seed');
  mkdirSync(seedDir);
  const fixture = await newLib.prepareTokend(seedDir, { apiTokens: stored, workingSet: 1000, accounts: 8, refreshPool: 0, serviceKeys: 0 });
  const checks = checkRequests(fixture.v3Tokens.slice(0, 1000));
  const sides = [
    { key: 'old', lib: oldLib, rev: rev(oldRoot) },
    { key: 'new', lib: newLib, rev: rev(new URL('..', import.meta.url).pathname) },
  ];
  const ruled = checkRequests(fixture.policyTokens.slice(0, 1000));
  const byRow = new Map<string, Target[]>([['valid', []], ['policy', []], ['random', []]]);
  for (const side of sides) {
    const dir = join(work, side.key);
    cpSync(seedDir, dir, { recursive: true });
    const server = await side.lib.startTokend({ name: `tokend-${side.key}`, dir, port: await freePort() });
    servers.push(server);
    const first = await send(server.url, checks[0]!);
    if (first.status !== 200) throw new Error(`${side.key}: the check answered ${first.status} ${first.text}`);
    await filterLoaded(server);
    const jwks = JSON.parse((await send(server.url, { method: 'GET', path: '/.well-known/jwks.json' })).text) as { keys: { kid: string; alg: string }[] };
    const key = jwks.keys[0]!;
    const jwtHeader = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })).toString('base64url');
    byRow.get('valid')!.push(specTarget({ key: `valid-${side.key}`, label: `valid cached check (${side.rev})`, url: server.url, specFile: join(work, `valid-${side.key}.spec`), requests: checks, connections: 32, pid: server.pid }));
    byRow.get('policy')!.push(specTarget({ key: `policy-${side.key}`, label: `check with rules (${side.rev})`, url: server.url, specFile: join(work, `policy-${side.key}.spec`), requests: ruled, connections: 32, pid: server.pid }));
    byRow.get('random')!.push({
      key: `random-${side.key}`,
      label: `random tokens (${side.rev})`,
      run: (seconds) => withCpu(server.pid, () => runWrk({ url: server.url, script: 'random-tokens.lua', scriptArgs: [String(fixture.accounts[0]!.id), jwtHeader], connections: 32, durationS: seconds })),
    });
  }
  const floor = await startFloor(work);
  servers.push(floor);
  const floorTarget = specTarget({ key: 'floor', label: 'bare Fastify route (floor)', url: floor.url, specFile: join(work, 'floor.spec'), requests: checks, connections: 32, pid: floor.pid });
  const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
  log(`${rounds} rounds x ${durationS} s, 32 connections each, ${fixture.storedApiTokens.toLocaleString('en-US')} stored tokens; load average before: ${load}`);
  // Old and new of a row run at the same moment, each under its own wrk: whatever else the machine
  // does then weighs on both alike (rounds one after the other moved by ±10 µs on a shared machine).
  const cpu = new Map<string, number[]>();
  const rps = new Map<string, number[]>();
  const note = (key: string, r: { cpuUsPerReq?: number; rps: number }): void => {
    cpu.set(key, [...(cpu.get(key) ?? []), r.cpuUsPerReq ?? Number.NaN]);
    rps.set(key, [...(rps.get(key) ?? []), r.rps]);
  };
  for (let round = 0; round <= rounds; round++) {
    // Round 0 is the warm-up, not counted.
    const seconds = round === 0 ? 3 : durationS;
    for (const row of ROWS) {
      const [o, n] = byRow.get(row)!;
      const [ro, rn] = await Promise.all([o!.run(seconds), n!.run(seconds)]);
      if (round === 0) continue;
      note(o!.key, ro);
      note(n!.key, rn);
      log(`  round ${round}/${rounds} ${row}: old ${ro.cpuUsPerReq?.toFixed(1)} µs (${Math.round(ro.rps)}/s), new ${rn.cpuUsPerReq?.toFixed(1)} µs (${Math.round(rn.rps)}/s)`);
    }
    const f = await floorTarget.run(seconds);
    if (round > 0) {
      note('floor', f);
      log(`  round ${round}/${rounds} floor alone: ${f.cpuUsPerReq?.toFixed(1)} µs (${Math.round(f.rps)}/s)`);
    }
  }
  log(`load average after: ${loadavg().map((x) => x.toFixed(1)).join(' / ')}`);
  // After the same load on each: RSS now and at its peak (a change that keeps memory per request shows here).
  for (const [i, side] of sides.entries()) {
    const m = memoryOf(servers[i]!.pid);
    log(`RSS after the rounds, ${side.rev}: ${m ? `${m.rssMiB.toFixed(0)} MiB (peak ${m.peakMiB.toFixed(0)})` : 'not readable'}`);
  }
  log('');
  log(`| row | ${sides[0]!.rev} µs CPU/response | ${sides[1]!.rev} µs CPU/response | new - old, median of per-round differences (min, max) |`);
  log('|---|---:|---:|---:|');
  for (const row of ROWS) {
    const o = cpu.get(`${row}-old`)!;
    const n = cpu.get(`${row}-new`)!;
    const d = n.map((x, i) => x - o[i]!);
    log(`| ${row} | ${median(o).toFixed(1)} | ${median(n).toFixed(1)} | ${median(d).toFixed(1)} (${Math.min(...d).toFixed(1)}, ${Math.max(...d).toFixed(1)}) |`);
  }
  log(`| floor (alone) | ${median(cpu.get('floor')!).toFixed(1)} | | |`);
  log('');
  const fl = median(cpu.get('floor')!);
  log("The floor's CPU per response over each (the targets are throughput: valid >= 0.75 of the floor's, random >= 0.8):");
  for (const key of ROWS.flatMap((row) => [`${row}-old`, `${row}-new`])) log(`  ${key}: ${(fl / median(cpu.get(key)!)).toFixed(2)}`);
} finally {
  for (const srv of servers) srv.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}

/** Waits for a server's API-token filter (unknown API tokens are refused before storage once it has loaded). */
async function filterLoaded(server: Server): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (!readFileSync(server.logFile, 'utf8').includes('API-token filter loaded')) {
    if (Date.now() > deadline) throw new Error(`${server.url}: the API-token filter did not load within 5 minutes`);
    await sleep(200);
  }
}
