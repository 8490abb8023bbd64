/**
 * What the operator dashboard's counting (src/core/traffic.ts) costs a token check, in process:
 * the same verification path (a valid v3 API token, its lookup served by the verification cache,
 * the stored policies applied, usage and `last used` counted) built twice over one SQLite store,
 * once as tokend runs it (the dashboard told of every check: the outcome wrapper, a slot of the
 * minute's array, the account's and the token's tallies) and once without it; rounds interleaved
 * (A B A B …) so that the machine's noise falls on both. Each pair is measured with Prometheus's
 * counting off and on (tokend's default is on). Reports the median CPU time per check of each
 * and the median of the per-round differences, in µs, and the counting calls alone.
 *
 *   node bench/traffic-cost.ts [rounds, default 41] [checks per round, default 20000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { LastUsedNotes } from '../src/core/api-tokens.ts';
import { bothMetrics, type CoreMetrics } from '../src/core/metrics.ts';
import { TrafficStats } from '../src/core/traffic.ts';
import { TokenLookups, Verification, type CheckOptions } from '../src/core/verification.ts';
import { TokendMetrics } from '../src/observability/metrics.ts';
import { openServices } from '../src/services.ts';

const rounds = Number(process.argv[2] ?? 41);
const perRound = Number(process.argv[3] ?? 20_000);
const log = (line: string): void => void process.stdout.write(`${line}\n`);

const work = mkdtempSync(join(tmpdir(), 'tokend-traffic-cost-'));
const config = loadConfig({ env: {}, overrides: { dataDir: work, databaseUrl: '', port: 0, logLevel: 'warn', metrics: false } });
const services = await openServices(config, { metrics: null, backgroundCheckpoints: false });
try {
  const { core } = services;
  const store = services.db;
  const account = await core.accounts.create({ email: 'bench@example.com', password: 'bench-password-0123456789' }, { address: 'bench' });
  const tokens = await Promise.all(Array.from({ length: 64 }, () => core.apiTokens.create({ accountId: account.id, format: 'v3' }, { address: 'bench' })));
  const prometheus = new TokendMetrics({ processCollectors: false });

  /** The verification path as createCore wires it, with `metrics` and `traffic` as given. */
  function path(metrics: CoreMetrics | null, traffic: TrafficStats | null): Verification {
    const lookups = new TokenLookups({ store, clock: core.clock, changes: core.changes, cache: { ttlMs: config.verifyCacheTtl, maxEntries: config.verifyCacheSize } });
    return new Verification({
      lookups,
      clock: core.clock,
      jwt: { verify: async () => ({ ok: false, code: 'token_invalid' }) } as never,
      usage: core.usage,
      lastUsed: new LastUsedNotes(store, core.clock),
      policy: core.policies,
      clientPatterns: core.clientPatterns,
      tokenUsage: core.tokenUsage,
      revokeSession: async () => false,
      revokeApiToken: async () => false,
      ...(metrics ? { metrics } : {}),
      ...(traffic ? { traffic } : {}),
    });
  }
  const traffic = (): TrafficStats => new TrafficStats({ store, clock: core.clock, clientPatterns: core.clientPatterns, flushEveryMs: 1000 });
  const withOff = traffic();
  const withOn = traffic();
  const variants = [
    { key: 'without, prometheus off', v: path(null, null) },
    { key: 'with, prometheus off', v: path(withOff, withOff) },
    { key: 'without, prometheus on', v: path(prometheus, null) },
    { key: 'with, prometheus on', v: path(bothMetrics(prometheus, withOn), withOn) },
  ];
  const options: CheckOptions = { accept: ['api_token'], address: '192.0.2.1' };
  const values = tokens.map((t) => t.token);

  /** CPU time (user and system) of this process per check, in µs: less disturbed than wall time by other processes on a busy machine. */
  async function run(v: Verification, n: number): Promise<number> {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const outcome = await v.check(values[i & 63]!, options);
      if (!outcome.ok) throw new Error(`check refused: ${outcome.reason}`);
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  }

  for (const { v } of variants) await run(v, 20_000); // warm-up: caches filled, code optimised
  const times = new Map<string, number[]>(variants.map((x) => [x.key, []]));
  for (let r = 0; r < rounds; r++) {
    // Interleaved, and the order turned each round.
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const { key, v } of order) times.get(key)!.push(await run(v, perRound));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const { key } of variants) log(`${key.padEnd(26)} ${median(times.get(key)!).toFixed(3)} µs CPU/check (median of ${rounds} rounds of ${perRound})`);
  for (const prom of ['off', 'on']) {
    const a = times.get(`with, prometheus ${prom}`)!;
    const b = times.get(`without, prometheus ${prom}`)!;
    const diffs = a.map((x, i) => x - b[i]!);
    log(`dashboard counting, prometheus ${prom}: +${median(diffs).toFixed(3)} µs/check (median of per-round differences)`);
  }
  // The counting alone, without the check around it: what the dashboard adds per check.
  const alone = traffic();
  const ids = tokens.map((t) => t.apiToken.id);
  const calls = 2_000_000;
  const counting: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      alone.tokenCheck('api_token', 'ok');
      alone.seen(account.id, 'api_token', ids[i & 63]!, true);
    }
    const used = process.cpuUsage(start);
    counting.push((used.user + used.system) / calls);
  }
  log(`the counting alone (tokenCheck + seen): ${median(counting).toFixed(3)} µs/check (median of 5 rounds of ${calls})`);
  await withOff.flush();
  await withOn.flush();
  await alone.flush();
} finally {
  await services.close();
  rmSync(work, { recursive: true, force: true });
}
