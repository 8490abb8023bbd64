/**
 * Where a durable write's CPU goes: one `tokend serve` under node --cpu-prof, the ChatApp refresh
 * (rotation chains) or the hoster.by create driven by wrk for a while, then the profile summed by
 * function: self time (the top rows), self time by area (package or source folder), and the
 * inclusive time of the parts of a write (the group commit, Kysely, the audit chain, the webhook
 * outbox, token minting, HTTP). Used to find the CPU a write does not need.
 *
 *   node bench/profile-write.ts refresh|create [seconds, default 20] [rows, default 40]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { largestProfile, readProfile, shortPath } from './lib/cpuprofile.ts';
import { send, specTarget, withCpu } from './lib/peers.ts';
import { freePort } from './lib/procs.ts';
import { issueRefreshPool, prepareTokend, startTokend } from './lib/tokend.ts';
import { runWrk, type SpecRequest } from './lib/wrk.ts';
import { CREATE_PATH, REFRESH_PATH } from './scenarios/durable.ts';

const [what = 'refresh', secondsArg, rowsArg] = process.argv.slice(2);
if (what !== 'refresh' && what !== 'create') throw new Error('usage: node bench/profile-write.ts refresh|create [seconds] [rows]');
const seconds = Number(secondsArg ?? 20);
const rows = Number(rowsArg ?? 40);

/** Inclusive time of these, by function name (a sample counts once per name on its stack). */
const PARTS: [label: string, test: (fn: string, url: string) => boolean][] = [
  ['group commit batch (all of the transactions)', (fn, url) => url.includes('group-commit') && /batch/.test(fn)],
  ['Kysely executeQuery (compile excluded)', (fn, url) => url.includes('kysely') && fn === 'executeQuery'],
  ['Kysely compile', (fn, url) => url.includes('kysely') && fn === 'compile'],
  ['Kysely query building (select/insert/update builders)', (fn, url) => url.includes('kysely') && /^(selectFrom|insertInto|updateTable|deleteFrom|where|values|set|select|onConflict|returning)$/.test(fn)],
  ['node:sqlite statement run/all', (fn, url) => url === '' && /^(run|all|get)$/.test(fn)],
  ['audit append', (fn, url) => url.includes('store/audit') && fn === 'append'],
  ['audit chain head', (fn) => fn === 'chainHead'],
  ['audit chain hash', (fn) => fn === 'chainHash'],
  ['webhook outbox', (fn) => fn === 'enqueueOutgoing'],
  ['token minting', (fn) => fn === 'newToken' || fn === '#mint'],
  ['JWT signing', (fn, url) => url.includes('jose') && /sign/i.test(fn)],
  ['sha256', (fn) => fn === 'sha256Hex'],
  ['refresh lookup outside the transaction', (fn, url) => url.includes('store/sessions') && fn === 'findRefresh'],
  ['fastify route handling', (fn, url) => url.includes('fastify/lib/route') && fn === 'routeHandler'],
  ['response serialisation', (fn, url) => url.includes('fastify') && /onSendEnd|serialize/.test(fn)],
  ['garbage collector', (fn) => fn === '(garbage collector)'],
  ['idle', (fn) => fn === '(idle)'],
];

execFileSync(process.execPath, [new URL('../scripts/build-server.mjs', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'tokend-profile-'));
try {
  const fixture = await prepareTokend(work, { apiTokens: 1000, workingSet: 1000, accounts: 8, refreshPool: 0, serviceKeys: 8 });
  const server = await startTokend({ name: 'profiled', dir: work, port: await freePort(), nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${work}`] });
  let requests: number;
  if (what === 'create') {
    const creates: SpecRequest[] = fixture.serviceKeys.map((k) => ({
      method: 'POST',
      path: CREATE_PATH,
      headers: { 'Access-Key': k.accessKey, 'Secret-Key': k.secretKey, 'Content-Type': 'application/json' },
    }));
    const first = await send(server.url, creates[0]!);
    if (first.status !== 200) throw new Error(`create answered ${first.status}`);
    const r = await specTarget({ key: 'p', label: 'create', url: server.url, specFile: join(work, 'p.spec'), requests: creates, connections: 32, pid: server.pid }).run(seconds);
    requests = r.requests - r.errors;
    process.stdout.write(`${Math.round(r.rps)} req/s, ${Math.round(r.cpuUsPerReq ?? 0)} µs CPU per request, under the profiler\n`);
  } else {
    const pool = await issueRefreshPool(work, fixture.accounts, 256);
    const file = join(work, 'chain.txt');
    writeFileSync(file, pool.join('\n') + '\n');
    const r = await withCpu(server.pid, () =>
      runWrk({ url: server.url, script: 'chain.lua', scriptArgs: [file, '1', 'POST', REFRESH_PATH, 'Refresh', 'refreshToken'], connections: 32, durationS: seconds }),
    );
    requests = r.requests - r.errors;
    process.stdout.write(`${Math.round(r.rps)} req/s, ${Math.round(r.cpuUsPerReq ?? 0)} µs CPU per request, under the profiler\n`);
  }
  server.child.kill('SIGTERM');
  await new Promise((res) => server.child.once('exit', res));
  const profile = readProfile(largestProfile(work));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const short = shortPath;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const id of profile.samples) {
    const n = byId.get(id)!;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
    if (n.callFrame.functionName !== '(idle)') busy++;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      for (const [label, test] of PARTS) if (!seen.has(label) && test(f.functionName, f.url)) seen.add(label);
    }
    for (const label of seen) inclusive.set(label, (inclusive.get(label) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const wall = (profile.endTime - profile.startTime) / 1e6;
  // µs per request: the samples' share of the profile's wall time, spread over the requests answered.
  const usPer = (count: number): string => ((((count / total) * wall) / requests) * 1e6).toFixed(0);
  process.stdout.write(`\n${total} samples; busy (not idle) ${((100 * busy) / total).toFixed(1)} %\n\nself time, top ${rows}:\n`);
  for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, rows)) process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
  const area = new Map<string, number>();
  for (const [k, v] of self) {
    const m = /\s(\S+?)(?::\d+)?$/.exec(k);
    const path = m ? m[1]! : '?';
    const a = path.startsWith('dist/') || path.startsWith('src/') ? path.split('/').slice(0, 3).join('/') : path.split('/')[0]!.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]!;
    area.set(a, (area.get(a) ?? 0) + v);
  }
  process.stdout.write('\nself time by area:\n');
  for (const [k, v] of [...area.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
  process.stdout.write('\ninclusive time of the parts of a write (% of samples, ~µs per request):\n');
  for (const [label] of PARTS) {
    const v = inclusive.get(label) ?? 0;
    process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${usPer(v).padStart(5)} µs  ${label}\n`);
  }
} finally {
  if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
}
