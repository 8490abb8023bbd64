/**
 * Where a token check's CPU goes: one `tokend serve` under node --cpu-prof, the Invoicebox check (a
 * valid v3 token, 100,000 stored) driven by wrk for a while, then the profile summed by function
 * (self time), the top of it printed. Used to find per-request work a check does not need.
 *
 *   node bench/profile-check.ts [seconds, default 20] [rows, default 40] [--policy]
 *
 * With --policy the tokens checked carry a rate limit, an allow-list and credits (the bench's
 * "check with a rate limit, an allow-list and credits attached").
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, specTarget } from './lib/peers.ts';
import { freePort } from './lib/procs.ts';
import { prepareTokend, startTokend } from './lib/tokend.ts';
import { checkRequests } from './scenarios/check.ts';

const args = process.argv.slice(2).filter((a) => a !== '--policy');
const withPolicy = process.argv.includes('--policy');
const seconds = Number(args[0] ?? 20);
const rows = Number(args[1] ?? 40);
execFileSync(process.execPath, [new URL('../scripts/build-server.mjs', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'tokend-profile-'));
try {
  const fixture = await prepareTokend(work, { apiTokens: 100_000, workingSet: 1000, accounts: 8, refreshPool: 0, serviceKeys: 0 });
  const server = await startTokend({ name: 'profiled', dir: work, port: await freePort(), nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${work}`] });
  const requests = checkRequests((withPolicy ? fixture.policyTokens : fixture.v3Tokens).slice(0, 1000));
  const first = await send(server.url, requests[0]!);
  if (first.status !== 200) throw new Error(`check answered ${first.status}`);
  const target = specTarget({ key: 'p', label: 'check', url: server.url, specFile: join(work, 'p.spec'), requests, connections: 32, pid: server.pid });
  const r = await target.run(seconds);
  process.stdout.write(`${Math.round(r.rps)} req/s under the profiler\n`);
  server.child.kill('SIGTERM');
  await new Promise((res) => server.child.once('exit', res));
  // The largest: the main thread's (`tokend serve` writes a small one of its start before it
  // replaces itself with node's flags, and the checkpoint thread writes its own).
  const file = readdirSync(work)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(join(work, b)).size - statSync(join(work, a)).size)[0];
  if (!file) throw new Error('no profile written');
  const profile = JSON.parse(readFileSync(join(work, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const n = byId.get(id)!;
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '').replace(/^.*\/(dist|src)\//, '$1/');
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
} finally {
  rmSync(work, { recursive: true, force: true });
}
