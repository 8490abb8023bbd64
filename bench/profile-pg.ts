/**
 * Where a durable write's CPU goes on PostgreSQL: a throwaway cluster (bench/lib/pg-cluster.ts),
 * one `tokend serve` on it under node --cpu-prof, the ChatApp refresh or the hoster create driven
 * by wrk for a while, then the profile summed by function (self time) and by area.
 *
 *   node bench/profile-pg.ts [refresh|create, default refresh] [seconds, default 20] [rows, default 40]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, withCpu } from './lib/peers.ts';
import { startPgCluster } from './lib/pg-cluster.ts';
import { freePort } from './lib/procs.ts';
import { issueRefreshPool, prepareTokend, startTokend } from './lib/tokend.ts';
import { runWrk, writeSpec } from './lib/wrk.ts';
import { CREATE_PATH, REFRESH_PATH } from './scenarios/durable.ts';
import { largestProfile, readProfile, shortPath } from './lib/cpuprofile.ts';

const [what = 'refresh', secondsArg = '20', rowsArg = '40'] = process.argv.slice(2);
const seconds = Number(secondsArg);
const rows = Number(rowsArg);
execFileSync(process.execPath, [new URL('../scripts/build-server.mjs', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'tokend-profile-pg-'));
const cluster = await startPgCluster((l) => process.stderr.write(l + '\n'));
try {
  const url = await cluster.createDatabase('tokend_profile');
  const dir = join(work, 'data');
  mkdirSync(dir);
  const fixture = await prepareTokend(dir, { apiTokens: 0, workingSet: 0, accounts: 8, refreshPool: 0, serviceKeys: 8, databaseUrl: url });
  const profDir = join(work, 'prof');
  mkdirSync(profDir);
  const server = await startTokend({ name: 'profiled', dir, port: await freePort(), env: fixture.env, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  let r;
  if (what === 'create') {
    const creates = fixture.serviceKeys.map((k) => ({
      method: 'POST',
      path: CREATE_PATH,
      headers: { 'Access-Key': k.accessKey, 'Secret-Key': k.secretKey, 'Content-Type': 'application/json' },
    }));
    const first = await send(server.url, creates[0]!);
    if (first.status !== 200) throw new Error(`create answered ${first.status}`);
    const spec = writeSpec(join(work, 'create.spec'), creates);
    r = await withCpu(server.pid, () => runWrk({ url: server.url, script: 'requests.lua', scriptArgs: [spec, '1'], connections: 32, durationS: seconds }));
  } else {
    const chains = await issueRefreshPool(dir, fixture.accounts, 256, fixture.env);
    const file = join(work, 'chains.txt');
    writeFileSync(file, chains.join('\n') + '\n');
    r = await withCpu(server.pid, () =>
      runWrk({ url: server.url, script: 'chain.lua', scriptArgs: [file, '1', 'POST', REFRESH_PATH, 'Refresh', 'refreshToken'], connections: 32, durationS: seconds }),
    );
  }
  process.stdout.write(`${what}: ${Math.round(r.rps)} req/s under the profiler, ${r.cpuUsPerReq?.toFixed(0)} µs CPU per response, ${r.errors} errors\n`);
  server.child.kill('SIGTERM');
  await new Promise((res) => server.child.once('exit', res));
  const profile = readProfile(largestProfile(profDir));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const n = byId.get(id)!;
    const u = shortPath(n.callFrame.url);
    const key = `${n.callFrame.functionName || '(anonymous)'} ${u}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, rows)) process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
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
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
