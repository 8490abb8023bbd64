/**
 * What counting for /metrics costs a token check: the Invoicebox check (a valid v3 token, 100,000
 * stored, SQLite) against two `tokend serve` processes on the same database, one with metrics on
 * (the default) and one with TOKEND_METRICS=false, rounds interleaved (A B A B …) with wrk. Reports
 * the median ratio of throughput and the server's CPU time per check. The `check` scenario of
 * `npm run bench` has the same comparison (row `check-metrics`) beside its other baselines.
 *
 *   node bench/metrics-cost.ts [rounds, default 7] [seconds per round, default 5]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pairedRatio } from './lib/context.ts';
import { interleaved } from './lib/measure.ts';
import { send, specTarget } from './lib/peers.ts';
import { freePort } from './lib/procs.ts';
import { prepareTokend, startTokend } from './lib/tokend.ts';
import { checkRequests } from './scenarios/check.ts';

const rounds = Number(process.argv[2] ?? 7);
const durationS = Number(process.argv[3] ?? 5);
const log = (line: string): void => void process.stdout.write(`${line}\n`);

execFileSync(process.execPath, [new URL('../scripts/build-server.mjs', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'tokend-metrics-cost-'));
const servers: { child: { kill(signal: 'SIGTERM'): unknown } }[] = [];
try {
  const fixture = await prepareTokend(work, { apiTokens: 100_000, workingSet: 1000, accounts: 8, refreshPool: 0, serviceKeys: 0 });
  const on = await startTokend({ name: 'metrics-on', dir: work, port: await freePort() });
  servers.push(on);
  const off = await startTokend({ name: 'metrics-off', dir: work, port: await freePort(), env: { TOKEND_METRICS: 'false' } });
  servers.push(off);
  const requests = checkRequests(fixture.v3Tokens.slice(0, 1000));
  for (const server of [on, off]) {
    const first = await send(server.url, requests[0]!);
    if (first.status !== 200) throw new Error(`check answered ${first.status} ${first.text}`);
  }
  const metrics = await send(on.url, { method: 'GET', path: '/metrics', headers: {} });
  if (!metrics.text.includes('tokend_token_checks_total{kind="api_token",outcome="ok"}')) throw new Error('the metrics-on server counts no checks');
  const targets = [
    specTarget({ key: 'on', label: 'check, metrics on', url: on.url, specFile: join(work, 'on.spec'), requests, connections: 32, pid: on.pid }),
    specTarget({ key: 'off', label: 'check, metrics off', url: off.url, specFile: join(work, 'off.spec'), requests, connections: 32, pid: off.pid }),
  ];
  const s = await interleaved(targets, { rounds, durationS, warmupS: 3, log });
  const a = s.get('on')!;
  const b = s.get('off')!;
  log(`metrics on:  ${Math.round(a.rps)} req/s, ${a.cpuUsPerReq.toFixed(1)} µs CPU/check, p99 ${(a.p99us / 1000).toFixed(2)} ms`);
  log(`metrics off: ${Math.round(b.rps)} req/s, ${b.cpuUsPerReq.toFixed(1)} µs CPU/check, p99 ${(b.p99us / 1000).toFixed(2)} ms`);
  log(`throughput on/off (median of per-round ratios): ${pairedRatio(a, b).toFixed(3)}; CPU per check off/on: ${(b.cpuUsPerReq / a.cpuUsPerReq).toFixed(3)}`);
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
