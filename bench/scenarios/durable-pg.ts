/**
 * Durable writes on PostgreSQL: tokend on a throwaway PostgreSQL cluster on loopback (defaults:
 * a pool of 10, synchronous_commit on), the same hoster.by create and ChatApp refresh loads as
 * the SQLite rows, each held against its ceiling measured in the same run, rounds interleaved:
 * pgbench with a transaction of the same shape on the same server, with as many clients as
 * tokend's pool has connections (bench/lib/pgbench.ts).
 *
 * With BENCH_PG_BASELINE=<an earlier checkout, built, whose bench/lib/tokend.ts takes a
 * databaseUrl> that build runs too, on a database of its own in the same cluster, in the same
 * interleaved rounds: how a change moved the figures, measured side by side.
 *
 * Beside the ratios, what the server saw per request while tokend ran: the statements it executed
 * (pg_stat_statements) and where tokend's sessions spent their time (pg_stat_activity sampled:
 * running, waiting for a lock, for the WAL flush, or idle inside a transaction while the statement
 * after it was still on its way from Node).
 */
import { join } from 'node:path';
import pg from 'pg';
import { compare, type Context, type ScenarioResult, type Section } from '../lib/context.ts';
import { interleaved, type Target } from '../lib/measure.ts';
import { send, withCpu } from '../lib/peers.ts';
import { startPgCluster } from '../lib/pg-cluster.ts';
import { CREATE_SCRIPT, preparePgbench, REFRESH_SCRIPT, runPgbench, writeScript } from '../lib/pgbench.ts';
import { freePort } from '../lib/procs.ts';
import { issueRefreshPool, prepareTokend, startTokend } from '../lib/tokend.ts';
import { runWrk, writeSpec, type SpecRequest, type WrkResult } from '../lib/wrk.ts';
import { CREATE_PATH, REFRESH_PATH } from './durable.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type * as TokendLib from '../lib/tokend.ts';

/** tokend's default pool (TOKEND_DATABASE_POOL_SIZE); the ceiling runs as many pgbench clients. */
const POOL = 10;

interface Observed {
  requests: number;
  statements: Map<string, number>;
  samples: Map<string, number>;
  sampleCount: number;
}

export async function durablePgScenario(ctx: Context): Promise<ScenarioResult> {
  const { p } = ctx;
  const cluster = await startPgCluster(ctx.log);
  try {
    const url = await cluster.createDatabase('tokend_bench');
    const dir = join(ctx.work, 'pg');
    mkdirSync(dir);
    const fixture = await prepareTokend(dir, { apiTokens: 0, workingSet: 0, accounts: 8, refreshPool: 0, serviceKeys: 8, databaseUrl: url });
    const tokend = ctx.own(await startTokend({ name: 'tokend-pg', dir, port: await freePort(), env: fixture.env, nodeFlags: ctx.nodeFlags?.('pg') ?? [], timeoutMs: 120_000 }));
    await preparePgbench(url, POOL);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const c = p.connections;
      const creates: SpecRequest[] = fixture.serviceKeys.map((k) => ({
        method: 'POST',
        path: CREATE_PATH,
        headers: { 'Access-Key': k.accessKey, 'Secret-Key': k.secretKey, 'Content-Type': 'application/json' },
      }));
      const first = await send(tokend.url, creates[0]!);
      if (first.status !== 200 || !first.text.includes('"accessToken": "eyJ')) throw new Error(`tokend (PostgreSQL) create answered ${first.status} ${first.text}`);
      const specFile = writeSpec(join(ctx.work, 'create-pg.spec'), creates);
      const observed = new Map<string, Observed>();
      /** Runs a tokend load with the server's statement counts reset before and read after, and its sessions sampled. */
      const watched = async (key: string, run: () => Promise<WrkResult>): Promise<WrkResult> => {
        if (cluster.statStatements) await admin.query('select pg_stat_statements_reset()');
        const o = observed.get(key) ?? { requests: 0, statements: new Map(), samples: new Map(), sampleCount: 0 };
        observed.set(key, o);
        let sampling = true;
        const sampler = (async () => {
          const s = new pg.Client({ connectionString: url });
          await s.connect();
          try {
            while (sampling) {
              const r = await s.query<{ w: string }>(
                `select case when state = 'active' then coalesce(wait_event_type || ':' || wait_event, 'running') else state end as w
                   from pg_stat_activity where application_name = 'tokend' and datname = current_database()`,
              );
              for (const row of r.rows) o.samples.set(row.w, (o.samples.get(row.w) ?? 0) + 1);
              o.sampleCount++;
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          } finally {
            await s.end();
          }
        })();
        const result = await run();
        sampling = false;
        await sampler;
        o.requests += result.requests - result.errors;
        if (cluster.statStatements) {
          const r = await admin.query<{ query: string; calls: string }>(
            `select query, calls::text from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = current_database()`,
          );
          for (const row of r.rows) {
            if (/pg_stat_statements|pg_stat_activity/.test(row.query)) continue;
            const q = statementKind(row.query);
            o.statements.set(q, (o.statements.get(q) ?? 0) + Number(row.calls));
          }
        }
        return result;
      };
      let chainRun = 0;
      const baseline = await startBaseline(ctx, cluster.createDatabase.bind(cluster), p.refreshPool, c);
      const targets: Target[] = [
        ...baseline.targets,
        {
          key: 'create',
          label: 'tokend hoster create (PostgreSQL)',
          run: (durationS) =>
            watched('create', () => withCpu(tokend.pid, () => runWrk({ url: tokend.url, script: 'requests.lua', scriptArgs: [specFile, '1'], connections: c, durationS }))),
        },
        {
          key: 'pgbench-create',
          label: `pgbench, create's transaction, ${POOL} clients`,
          run: (durationS) => runPgbench({ pgbench: cluster.binary('pgbench'), url, scriptFile: writeScript(join(ctx.work, 'create.sql'), CREATE_SCRIPT), clients: POOL, durationS, logDir: ctx.work }),
        },
        {
          key: 'refresh',
          label: 'tokend ChatApp refresh (PostgreSQL)',
          async run(durationS) {
            const chains = await issueRefreshPool(dir, fixture.accounts, p.refreshPool, fixture.env);
            const file = join(ctx.work, `refresh-pg-chain-${chainRun++}.txt`);
            writeFileSync(file, chains.join('\n') + '\n');
            return watched('refresh', () =>
              withCpu(tokend.pid, () => runWrk({ url: tokend.url, script: 'chain.lua', scriptArgs: [file, '1', 'POST', REFRESH_PATH, 'Refresh', 'refreshToken'], connections: c, durationS })),
            );
          },
        },
        {
          key: 'pgbench-refresh',
          label: `pgbench, refresh's transaction, ${POOL} clients`,
          run: (durationS) => runPgbench({ pgbench: cluster.binary('pgbench'), url, scriptFile: writeScript(join(ctx.work, 'refresh.sql'), REFRESH_SCRIPT), clients: POOL, durationS, logDir: ctx.work }),
        },
      ];
      ctx.log(`  durable-pg: ${p.rounds} rounds x ${p.durationS} s, ${c} connections, pool ${POOL}, pgbench ${POOL} clients`);
      const s = await interleaved(targets, { rounds: p.rounds, durationS: p.durationS, warmupS: p.warmupS, log: ctx.log });
      const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
      const ms = (us: number): string => (us / 1000).toFixed(1);
      const row = (what: string, mine: string, ceiling: string): string => {
        const a = s.get(mine)!;
        const b = s.get(ceiling)!;
        const ratio = compare('x', '', a, b, 0, '').ratio;
        return `| ${what} | ${f0(b.rps)} (p50 ${ms(b.p50us)} ms) | ${f0(a.rps)} (p50 ${ms(a.p50us)} ms, p99 ${ms(a.p99us)} ms) | **${ratio.toFixed(2)}** | ${a.cpuUsPerReq.toFixed(0)} |`;
      };
      const sections: Section[] = [
        ...(baseline.targets.length
          ? [
              {
                title: `PostgreSQL: this build against ${baseline.name}, side by side`,
                lines: [
                  '| write | earlier build (/s) | this build (/s) | this / earlier | earlier / ceiling | this / ceiling |',
                  '|---|---:|---:|---:|---:|---:|',
                  ...(['refresh', 'create'] as const).map((k) => {
                    const old = s.get(`${k}-base`)!;
                    const now = s.get(k)!;
                    const ceiling = s.get(`pgbench-${k}`)!;
                    const r = (a: typeof old, b: typeof old): string => compare('x', '', a, b, 0, '').ratio.toFixed(2);
                    return `| ${k} | ${f0(old.rps)} (p50 ${ms(old.p50us)} ms) | ${f0(now.rps)} (p50 ${ms(now.p50us)} ms) | ${r(now, old)} | ${r(old, ceiling)} | ${r(now, ceiling)} |`;
                  }),
                ],
              },
            ]
          : []),
        {
          title: 'Durable writes on PostgreSQL: tokend against pgbench',
          lines: [
            `tokend on a throwaway PostgreSQL ${cluster.bin.split('/').at(-2)} on loopback (fsync on, synchronous_commit on; tokend's defaults: a pool of ${POOL}), ` +
              `driven by wrk with ${c} connections; its ceiling: pgbench on the same server in the same run, ${POOL} clients (tokend's pool), one thread, extended protocol, ` +
              `a transaction of the statements tokend's write is made of (bench/lib/pgbench.ts; tokend sends them as one statement). The ratio is the median of the per-round ratios.`,
            '',
            '| write | pgbench ceiling (/s) | tokend (/s) | tokend / ceiling | tokend CPU per response (µs) |',
            '|---|---:|---:|---:|---:|',
            row('ChatApp refresh (find, claim, advance, 2 inserts, audit)', 'refresh', 'pgbench-refresh'),
            row('hoster create (2 claims, quota, session, 2 inserts, audit, Ed25519 signature)', 'create', 'pgbench-create'),
          ],
        },
      ];
      for (const [key, o] of observed) {
        const lines: string[] = [];
        if (o.statements.size && o.requests > 0) {
          const total = [...o.statements.values()].reduce((a, b) => a + b, 0);
          lines.push(`Statements the server executed per ${key} (pg_stat_statements over the rounds, divided by the responses): **${(total / o.requests).toFixed(2)}**`, '');
          lines.push('| statement | per response |', '|---|---:|');
          for (const [q, n] of [...o.statements].sort((x, y) => y[1] - x[1])) if (n / o.requests >= 0.005) lines.push(`| ${q} | ${(n / o.requests).toFixed(2)} |`);
          lines.push('');
        }
        if (o.sampleCount) {
          lines.push(`tokend's ${POOL} sessions, sampled every 20 ms while ${key} ran (${o.sampleCount} samples): sessions in each state, on average`, '');
          lines.push('| state | sessions |', '|---|---:|');
          for (const [w, n] of [...o.samples].sort((x, y) => y[1] - x[1])) lines.push(`| ${w} | ${(n / o.sampleCount).toFixed(2)} |`);
        }
        sections.push({ title: `PostgreSQL, ${key}: what the server saw`, lines });
      }
      return {
        comparisons: [
          compare('refresh-pg', 'ChatApp refresh on PostgreSQL', s.get('refresh')!, s.get('pgbench-refresh')!, 0.6, '>= 0.6 of pgbench (same transaction, same server)'),
          compare('create-pg', 'hoster create on PostgreSQL', s.get('create')!, s.get('pgbench-create')!, 0.6, '>= 0.6 of pgbench (same transaction, same server)'),
        ],
        sections,
        facts: { pgRefresh: s.get('refresh')!.rps, pgCreate: s.get('create')!.rps, pgbenchRefresh: s.get('pgbench-refresh')!.rps, pgbenchCreate: s.get('pgbench-create')!.rps },
      };
    } finally {
      await admin.end();
      await tokend.stop();
      await stopBaseline();
    }
  } finally {
    await cluster.stop();
  }
}

let stopBaseline = async (): Promise<void> => {};

/** The earlier build of BENCH_PG_BASELINE, when set: its create and refresh targets. */
async function startBaseline(ctx: Context, createDatabase: (name: string) => Promise<string>, refreshPool: number, connections: number): Promise<{ name: string; targets: Target[] }> {
  const root = process.env.BENCH_PG_BASELINE;
  if (!root) return { name: '', targets: [] };
  const lib = (await import(pathToFileURL(join(root, 'bench/lib/tokend.ts')).href)) as typeof TokendLib;
  const url = await createDatabase('tokend_baseline');
  const dir = join(ctx.work, 'pg-baseline');
  mkdirSync(dir);
  const fixture = await lib.prepareTokend(dir, { apiTokens: 0, workingSet: 0, accounts: 8, refreshPool: 0, serviceKeys: 8, databaseUrl: url });
  const server = ctx.own(
    await lib.startTokend({ name: 'tokend-pg-baseline', dir, port: await freePort(), env: fixture.env, nodeFlags: ctx.nodeFlags?.('pg-baseline') ?? [], timeoutMs: 120_000 }),
  );
  stopBaseline = () => server.stop();
  const creates: SpecRequest[] = fixture.serviceKeys.map((k) => ({
    method: 'POST',
    path: CREATE_PATH,
    headers: { 'Access-Key': k.accessKey, 'Secret-Key': k.secretKey, 'Content-Type': 'application/json' },
  }));
  const specFile = writeSpec(join(ctx.work, 'create-pg-baseline.spec'), creates);
  let chainRun = 0;
  ctx.log(`  durable-pg: the earlier build at ${root} runs beside this one`);
  return {
    name: `the build at ${root}`,
    targets: [
      {
        key: 'create-base',
        label: 'earlier build: hoster create (PostgreSQL)',
        run: (durationS) => withCpu(server.pid, () => runWrk({ url: server.url, script: 'requests.lua', scriptArgs: [specFile, '1'], connections, durationS })),
      },
      {
        key: 'refresh-base',
        label: 'earlier build: ChatApp refresh (PostgreSQL)',
        async run(durationS) {
          const chains = await lib.issueRefreshPool(dir, fixture.accounts, refreshPool, fixture.env);
          const file = join(ctx.work, `refresh-pg-baseline-chain-${chainRun++}.txt`);
          writeFileSync(file, chains.join('\n') + '\n');
          return withCpu(server.pid, () =>
            runWrk({ url: server.url, script: 'chain.lua', scriptArgs: [file, '1', 'POST', REFRESH_PATH, 'Refresh', 'refreshToken'], connections, durationS }),
          );
        },
      },
    ],
  };
}

/** A statement named by its verb and first table (pg_stat_statements' normalised text is long). */
function statementKind(query: string): string {
  const q = query.replace(/\s+/g, ' ').trim();
  const verb = q.split(' ')[0]!.toLowerCase();
  if (verb === 'begin' || verb === 'commit' || verb === 'rollback' || verb === 'set') return verb;
  const fn = /^select (pg_\w+)\(/i.exec(q);
  if (fn) return `select ${fn[1]}()`;
  const table = /\b(?:from|into|update)\s+"?(\w+)"?/i.exec(q);
  return `${verb} ${table?.[1] ?? q.slice(0, 40)}`;
}
