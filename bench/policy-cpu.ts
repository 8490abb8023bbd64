/**
 * The CPU a check's rules cost, in one process and without sockets: tokend built in-process on a
 * fresh SQLite database, a thousand v3 tokens without rules and a thousand with a rate limit, an
 * allow-list and credits (as the bench's metered tokens), checked through Fastify's inject in
 * alternating batches; CPU time (process.cpuUsage) per check of each, medians over batches. Less
 * sensitive to a busy machine than the wrk rows (it counts this process's CPU, not throughput),
 * and it leaves out what both pay alike (the HTTP parser, the socket).
 *
 *   node bench/policy-cpu.ts [batches, default 21] [checks per batch, default 4000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { buildApp } from '../src/http/app.ts';
import { openServices } from '../src/services.ts';

const batches = Number(process.argv[2] ?? 21);
const perBatch = Number(process.argv[3] ?? 4000);
const dir = mkdtempSync(join(tmpdir(), 'tokend-policy-cpu-'));
const CTX = { address: 'bench' };
try {
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, port: 0, logLevel: 'warn' } });
  const logger = pino({ level: 'warn' });
  const services = await openServices(config, { logger });
  const app = await buildApp({ core: services.core, logger, metrics: services.metrics });
  await app.ready();
  const core = services.core;
  const account = await core.accounts.create({ email: 'bench@example.com', password: 'a-long-bench-password' }, CTX);
  const make = async (n: number, rules: boolean): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const created = await core.apiTokens.create({ accountId: account.id, format: 'v3' }, CTX);
      if (rules) {
        const subject = await core.policies.resolve('api_token', created.apiToken.id);
        await core.policies.put(subject!, { rateLimits: [{ limit: 1_000_000_000, windowSeconds: 60 }], ipAllowList: ['127.0.0.0/8', '::1/128'], credits: { remaining: 1_000_000_000_000, cost: 1 } }, CTX);
      }
      out.push(created.token);
    }
    return out;
  };
  const plain = await make(1000, false);
  const ruled = await make(1000, true);
  const run = async (tokens: string[]): Promise<number> => {
    const start = process.cpuUsage();
    for (let i = 0; i < perBatch; i++) {
      const res = await app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${tokens[i % tokens.length]}` }, remoteAddress: '127.0.0.1' });
      if (res.statusCode !== 200) throw new Error(`check answered ${res.statusCode} ${res.body}`);
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / perBatch;
  };
  await run(plain);
  await run(ruled);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < batches; i++) {
    a.push(await run(plain));
    b.push(await run(ruled));
  }
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const ratios = a.map((x, i) => x / b[i]!);
  process.stdout.write(`no rules: ${median(a).toFixed(1)} µs CPU/check\nrules:    ${median(b).toFixed(1)} µs CPU/check\nplain/rules (median of per-batch ratios): ${median(ratios).toFixed(3)}\n`);
  await app.close();
  await services.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
