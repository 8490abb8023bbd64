/**
 * What the policy rules cost a token check: one `tokend serve` (100,000 v3 tokens stored, SQLite),
 * checked with tokens that carry no rules and with tokens that carry a rate limit, an allow-list
 * and credits (the bench's metered tokens), rounds interleaved (A B A B …) with wrk. Reports the
 * median ratio of throughput and the server's CPU time per check of each. The `check` scenario of
 * `npm run bench` has the same comparison (row `check-policy`) beside its other baselines.
 *
 *   node bench/policy-cost.ts [rounds, default 7] [seconds per round, default 5] [--cpu-prof]
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

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rounds = Number(args[0] ?? 7);
const durationS = Number(args[1] ?? 5);
const log = (line: string): void => void process.stdout.write(`${line}\n`);

execFileSync(process.execPath, [new URL('../scripts/build-server.mjs', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'tokend-policy-cost-'));
let server: { child: { kill(signal: 'SIGTERM'): unknown } } | null = null;
try {
  const fixture = await prepareTokend(work, { apiTokens: 100_000, workingSet: 1000, accounts: 8, refreshPool: 0, serviceKeys: 0 });
  const tokend = await startTokend({ name: 'policy-cost', dir: work, port: await freePort() });
  server = tokend;
  const plain = checkRequests(fixture.v3Tokens.slice(0, 1000));
  const ruled = checkRequests(fixture.policyTokens.slice(0, 1000));
  for (const requests of [plain, ruled]) {
    const first = await send(tokend.url, requests[0]!);
    if (first.status !== 200) throw new Error(`check answered ${first.status} ${first.text}`);
  }
  const targets = [
    specTarget({ key: 'plain', label: 'check, no rules', url: tokend.url, specFile: join(work, 'plain.spec'), requests: plain, connections: 32, pid: tokend.pid }),
    specTarget({ key: 'policy', label: 'check, rules attached', url: tokend.url, specFile: join(work, 'policy.spec'), requests: ruled, connections: 32, pid: tokend.pid }),
  ];
  const s = await interleaved(targets, { rounds, durationS, warmupS: 3, log });
  const a = s.get('policy')!;
  const b = s.get('plain')!;
  log(`rules attached: ${Math.round(a.rps)} req/s, ${a.cpuUsPerReq.toFixed(1)} µs CPU/check, p99 ${(a.p99us / 1000).toFixed(2)} ms`);
  log(`no rules:       ${Math.round(b.rps)} req/s, ${b.cpuUsPerReq.toFixed(1)} µs CPU/check, p99 ${(b.p99us / 1000).toFixed(2)} ms`);
  log(`throughput rules/plain (median of per-round ratios): ${pairedRatio(a, b).toFixed(3)}; CPU per check plain/rules: ${(b.cpuUsPerReq / a.cpuUsPerReq).toFixed(3)}`);
} finally {
  server?.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
