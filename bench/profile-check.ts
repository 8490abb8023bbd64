/**
 * Where a token check's CPU goes: one `tokend serve` under node --cpu-prof, the Invoicebox check (a
 * valid v3 token, 100,000 stored) driven by wrk for a while, then the profile summed by function
 * (self time), the top of it printed. Used to find per-request work a check does not need.
 *
 *   node bench/profile-check.ts [seconds, default 20] [rows, default 40] [--policy | --random]
 *
 * With --policy the tokens checked carry a rate limit, an allow-list and credits (the bench's
 * "check with a rate limit, an allow-list and credits attached"). With --random every request
 * carries a new random token of each format in turn (bench/wrk/random-tokens.lua: v3, l3, native
 * API tokens, ChatApp access tokens, service JWTs with the server's real kid), each refused: the
 * bench's "check, a new random token of each format per request".
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Target } from './lib/measure.ts';
import { largestProfile, readProfile, shortPath, type Profile } from './lib/cpuprofile.ts';
import { send, specTarget, withCpu } from './lib/peers.ts';
import { freePort } from './lib/procs.ts';
import { prepareTokend, startTokend } from './lib/tokend.ts';
import { runWrk } from './lib/wrk.ts';
import { checkRequests } from './scenarios/check.ts';

const args = process.argv.slice(2).filter((a) => a !== '--policy' && a !== '--random');
const withPolicy = process.argv.includes('--policy');
const random = process.argv.includes('--random');
const seconds = Number(args[0] ?? 20);
const rows = Number(args[1] ?? 40);
execFileSync(process.execPath, [new URL('../scripts/build-server.mjs', import.meta.url).pathname, '--no-check'], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'tokend-profile-'));
try {
  const fixture = await prepareTokend(work, { apiTokens: 100_000, workingSet: 1000, accounts: 8, refreshPool: 0, serviceKeys: 0 });
  const server = await startTokend({ name: 'profiled', dir: work, port: await freePort(), nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${work}`, '--cpu-prof-interval=100'] });
  const requests = checkRequests((withPolicy ? fixture.policyTokens : fixture.v3Tokens).slice(0, 1000));
  const first = await send(server.url, requests[0]!);
  if (first.status !== 200) throw new Error(`check answered ${first.status}`);
  const target = random
    ? await randomTarget(server, fixture.accounts[0]!.id)
    : specTarget({ key: 'p', label: 'check', url: server.url, specFile: join(work, 'p.spec'), requests, connections: 32, pid: server.pid });
  const r = await target.run(seconds);
  process.stdout.write(`${Math.round(r.rps)} req/s, ${r.cpuUsPerReq?.toFixed(0)} µs CPU per response under the profiler${r.errors ? `, ${r.errors} errors (answers other than expected)` : ''}\n`);
  server.child.kill('SIGTERM');
  await new Promise((res) => server.child.once('exit', res));
  // The largest: the main thread's (`tokend serve` writes a small one of its start before it
  // replaces itself with node's flags, and the checkpoint thread writes its own).
  const file = largestProfile(work);
  const profile = readProfile(file);
  if (process.env.PROFILE_OUT) copyFileSync(file, process.env.PROFILE_OUT);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const n = byId.get(id)!;
    const url = shortPath(n.callFrame.url);
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, rows);
  for (const [k, v] of top) process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
  // By package / area: where the time goes in larger pieces.
  const area = new Map<string, number>();
  for (const [k, v] of self) {
    const m = /\s(\S+?)(?::\d+)?$/.exec(k);
    const path = m ? m[1]! : '?';
    const a = path.startsWith('dist/') || path.startsWith('src/') ? path.split('/').slice(0, 3).join('/') : path.split('/')[0]!.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]!;
    area.set(a, (area.get(a) ?? 0) + v);
  }
  process.stdout.write('\nby area:\n');
  for (const [k, v] of [...area.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
  // Inclusive: the main thread's time under each function (its callees included), per response.
  process.stdout.write(`\ninclusive, main-thread µs per response (${r.requests} responses):\n`);
  for (const [k, us] of inclusive(profile, r.requests).slice(0, rows)) process.stdout.write(`${us.toFixed(2).padStart(7)}  ${k}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}


/**
 * Each function's inclusive time (every sample with it on the stack, once per sample), in µs per
 * response: what the function and everything it called cost the main thread. Idle and program
 * samples are not under any function.
 */
function inclusive(profile: Profile, responses: number): [string, number][] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const keyOf = (id: number): string => {
    const f = byId.get(id)!.callFrame;
    const url = shortPath(f.url);
    return `${f.functionName || '(anonymous)'} ${url}:${f.lineNumber + 1}`;
  };
  const us = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const k = keyOf(id);
      if (k.startsWith('(root)') || seen.has(k)) continue;
      seen.add(k);
      us.set(k, (us.get(k) ?? 0) + dt);
    }
  }
  return [...us.entries()].filter(([k]) => !/^\((idle|program|garbage collector)\)/.test(k)).map(([k, v]): [string, number] => [k, v / responses]).sort((a, b) => b[1] - a[1]);
}

/** wrk with random-tokens.lua against the server, once its API-token filter has loaded (unknown tokens are then refused before storage). */
async function randomTarget(server: { url: string; pid: number; logFile: string }, account: number): Promise<Target> {
  const deadline = Date.now() + 120_000;
  while (!readFileSync(server.logFile, 'utf8').includes('API-token filter loaded')) {
    if (Date.now() > deadline) throw new Error('the API-token filter did not load within 2 minutes');
    await sleep(200);
  }
  const jwks = JSON.parse((await send(server.url, { method: 'GET', path: '/.well-known/jwks.json' })).text) as { keys: { kid: string; alg: string }[] };
  const key = jwks.keys[0]!;
  const jwtHeader = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })).toString('base64url');
  return {
    key: 'random',
    label: 'random tokens',
    run: (durationS) => withCpu(server.pid, () => runWrk({ url: server.url, script: 'random-tokens.lua', scriptArgs: [String(account), jwtHeader], connections: 32, durationS })),
  };
}
