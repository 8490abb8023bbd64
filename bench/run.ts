/**
 * `npm run bench` (full: minutes, writes bench/RESULTS.md) and `npm run bench -- --quick`
 * (seconds, writes bench/RESULTS.quick.md; CI runs it so the harness cannot rot).
 *
 * Options: `--only check,scale,durable,durable-pg,make,jwt,login` runs some scenarios (durable-pg:
 * the durable writes on a throwaway PostgreSQL, against pgbench; needs Debian's postgresql); `--profile` starts every
 * tokend with `--cpu-prof` (profiles land in the work directory, which `--keep` keeps); `--out FILE`
 * writes the report there instead of RESULTS.md.
 * `--soak` runs the soak instead (bench/soak.ts: 30 minutes of steady checks, memory over time).
 *
 * Each scenario starts what it measures as separate processes on 127.0.0.1 (tokend, a bare
 * Fastify floor, node-oidc-provider), drives them with wrk, interleaves rounds with its baselines
 * and reports medians. Nothing asserts a time: the output is a report of ratios.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FULL, QUICK, type Comparison, type Context, type ScenarioResult, type Section } from './lib/context.ts';
import { describeMachine } from './lib/machine.ts';
import { freePort, type Server } from './lib/procs.ts';
import { renderReport } from './lib/report.ts';
import { prepareTokend, startTokend, type Fixture } from './lib/tokend.ts';
import { wrkVersion } from './lib/wrk.ts';
import { analyse } from './analysis.ts';
import { soak } from './soak.ts';
import { checkScenario } from './scenarios/check.ts';
import { durableScenario } from './scenarios/durable.ts';
import { durablePgScenario } from './scenarios/durable-pg.ts';
import { jwtScenario } from './scenarios/jwt.ts';
import { loginScenario } from './scenarios/login.ts';
import { makeScenario } from './scenarios/make.ts';
import { scaleScenario } from './scenarios/scale.ts';

const SCENARIOS: Record<string, (ctx: Context) => Promise<ScenarioResult>> = {
  check: checkScenario,
  scale: scaleScenario,
  durable: durableScenario,
  'durable-pg': durablePgScenario,
  make: makeScenario,
  jwt: jwtScenario,
  login: loginScenario,
};

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const keep = argv.includes('--keep');
const profile = argv.includes('--profile');
const onlyArg = argv.find((a) => a.startsWith('--only'));
const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1]! : argv[argv.indexOf(onlyArg) + 1]!).split(',') : Object.keys(SCENARIOS);
for (const name of only) if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);

const p = quick ? QUICK : FULL;
const BENCH_DIR = new URL('./', import.meta.url).pathname;
const outArg = argv.find((a) => a.startsWith('--out'));
// `--out FILE`: the report goes there instead (a partial run then leaves RESULTS.md alone).
const outFile = outArg ? (outArg.includes('=') ? outArg.split('=')[1]! : argv[argv.indexOf(outArg) + 1]!) : join(BENCH_DIR, quick ? 'RESULTS.quick.md' : 'RESULTS.md');
// A whole run is bounded: a hung peer or server must not hold CI forever.
const HARD_LIMIT_MS = (quick ? 5 : 45) * 60_000;

function log(line: string): void {
  process.stderr.write(line + '\n');
}

async function main(): Promise<number> {
  if (!wrkVersion()) {
    log('bench: wrk is not installed (apt-get install wrk); it is the load generator.');
    return 2;
  }
  // tokend is measured as an operator runs it: from its compiled build, made fresh here so that a
  // run never measures a stale one (bin/tokend.js would fall back to the sources).
  log('bench: npm run build:server');
  execFileSync(process.execPath, [join(BENCH_DIR, '../scripts/build-server.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const startedAt = new Date();
  const t0 = performance.now();
  const machine = describeMachine();
  const work = mkdtempSync(join(tmpdir(), 'tokend-bench-'));
  const servers: Server[] = [];
  const own = (s: Server): Server => {
    servers.push(s);
    return s;
  };
  const profFlags = (name: string): string[] => {
    if (!profile) return [];
    const dir = join(work, 'profiles', name);
    mkdirSync(dir, { recursive: true });
    return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  };
  const fixtures = new Map<string, Fixture>();
  const lazy = (name: string, tokens: number): (() => Promise<{ fixture: Fixture; server: Server }>) => {
    let started: Promise<{ fixture: Fixture; server: Server }> | null = null;
    return () =>
      (started ??= (async () => {
        const dir = join(work, name);
        mkdirSync(dir);
        log(`  seeding ${name}: ${tokens.toLocaleString('en-US')} API tokens`);
        const fixture = await prepareTokend(dir, {
          apiTokens: tokens,
          workingSet: p.workingSet,
          accounts: 8,
          refreshPool: 0,
          serviceKeys: 8,
        });
        fixtures.set(name, fixture);
        log(`  seeded ${name} in ${fixture.seedSeconds.toFixed(1)} s (${(fixture.dbBytes / 2 ** 20).toFixed(1)} MiB)`);
        const server = own(await startTokend({ name: `tokend-${name}`, dir, port: await freePort(), nodeFlags: profFlags(name) }));
        return { fixture, server };
      })());
  };
  const big = lazy('big', p.bigTokens);
  const small = lazy('small', p.smallTokens);
  const ctx: Context = { p, work, log, big, small, own, nodeFlags: profFlags };

  const comparisons: Comparison[] = [];
  const sections: Section[] = [];
  const facts: Record<string, number> = {};
  const failures: string[] = [];
  const timer = setTimeout(() => {
    log(`bench: over the hard limit of ${HARD_LIMIT_MS / 60_000} minutes; stopping`);
    for (const s of servers) s.child.kill('SIGKILL');
    process.exit(3);
  }, HARD_LIMIT_MS);
  timer.unref();
  try {
    log(`bench (${p.mode}): ${only.join(', ')}; work directory ${work}`);
    for (const name of only) {
      log(`scenario ${name}`);
      const started = performance.now();
      try {
        const r = await SCENARIOS[name]!(ctx);
        log(`  (${name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
        comparisons.push(...r.comparisons);
        sections.push(...r.sections);
        Object.assign(facts, r.facts);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
        log(`scenario ${name} failed: ${(error as Error).stack}`);
      }
    }
    for (const c of comparisons) {
      if (c.subject.requests > 0 && c.subject.errors > c.subject.requests * 0.005) {
        failures.push(`${c.subject.label}: ${c.subject.errors} errors in ${c.subject.requests} requests`);
      }
    }
  } finally {
    for (const s of servers) await s.stop();
  }

  // Database size per million tokens: the big and the small fixture differ only in API tokens.
  const bigF = fixtures.get('big');
  const smallF = fixtures.get('small');
  if (bigF && smallF) {
    const perToken = (bigF.dbBytes - smallF.dbBytes) / (bigF.storedApiTokens - smallF.storedApiTokens);
    facts.dbMiBPerMillion = (perToken * 1e6) / 2 ** 20;
    sections.push({
      title: 'Database size',
      lines: [
        '| SQLite file | API tokens stored | size (MiB) |',
        '|---|---:|---:|',
        `| small | ${fmtCount(smallF.storedApiTokens)} | ${(smallF.dbBytes / 2 ** 20).toFixed(1)} |`,
        `| big | ${fmtCount(bigF.storedApiTokens)} | ${(bigF.dbBytes / 2 ** 20).toFixed(1)} |`,
        `| per million API tokens | | **${facts.dbMiBPerMillion.toFixed(0)}** (${perToken.toFixed(0)} bytes per token: row, hash index, id index, account index) |`,
        '',
        `Seeding ${fmtCount(bigF.storedApiTokens)} tokens (bulk, in transactions of 10,000 rows, in hash order) took ${bigF.seedSeconds.toFixed(1)} s.`,
      ],
    });
  }
  const report = renderReport({
    params: p,
    machine,
    startedAt,
    seconds: (performance.now() - t0) / 1000,
    comparisons,
    sections,
    analysis: analyse(p, comparisons, facts),
    failures,
  });
  writeFileSync(outFile, report);
  log(`bench: wrote ${outFile}`);
  if (keep) log(`bench: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
  return failures.length ? 1 : 0;
}

function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

process.exitCode = argv.includes('--soak') ? await soak(argv, log) : await main();
