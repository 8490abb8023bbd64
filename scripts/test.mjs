// `npm test`: builds dist/ (without its own type check), then runs every test file while the type
// check of the whole project runs beside them (its output is held and printed after the tests').
// Either failing fails the run. Arguments after `npm test --` go to `node --test` (a name
// pattern, say).
//
// The files run in six processes at a time: the longest and those that change process-wide state
// in a process each (three at a time), the others dealt out to three processes that each run
// their share one file after another (--test-isolation=none). A process that runs many files
// loads tokend's modules and warms its JIT once, not once a file: the seven test/admin.* files
// took 18 CPU-seconds in a process each and 9.7 in one.
//
// Every Node process of the run (the test files, the `tokend` processes they start) shares one
// compile cache (NODE_COMPILE_CACHE, in node_modules/.cache): a module's TypeScript is stripped and
// compiled once per run instead of once per process, which is most of what starting one costs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { globSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../', import.meta.url));
const env = { ...process.env };
env.NODE_COMPILE_CACHE ||= join(root, 'node_modules', '.cache', 'node-compile-cache');
// The test databases of this run carry its id and are dropped when it ends (test/helpers/harness.ts).
env.TOKEND_TEST_RUN_ID = randomBytes(5).toString('hex');

/**
 * Runs a command; resolves with its exit code (or 1 when killed) and its output. `show`: 'live'
 * (the default) passes the output through as it comes, 'tee' passes it through and keeps it too,
 * 'held' only keeps it.
 */
function run(command, args, { show = 'live' } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: show === 'live' ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    const output = [];
    if (show !== 'live') {
      for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
        stream.on('data', (chunk) => {
          output.push(chunk);
          if (show === 'tee') out.write(chunk);
        });
      }
    }
    child.once('error', (error) => {
      output.push(Buffer.from(`${command}: ${error.message}\n`));
      resolve({ code: 1, output: Buffer.concat(output).toString() });
    });
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output: Buffer.concat(output).toString() }));
  });
}

const build = await run(process.execPath, [join(root, 'scripts', 'build-server.mjs'), '--no-check']);
if (build.code !== 0) {
  process.stderr.write('npm test: the build failed\n');
  process.exit(1);
}
// The type check (about 14 s here) needs nothing the tests make, nor they anything it makes: it
// runs beside them instead of before them.
const typecheck = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { show: 'held' });
/**
 * Drops the PostgreSQL databases the run's files made (one at a time: each DROP DATABASE makes the
 * cluster checkpoint, cheap now that nothing else writes). A failure is reported, not fatal: the
 * test cluster is throwaway.
 */
async function dropRunDatabases() {
  if (!env.TOKEND_TEST_DATABASE_URL) return;
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: env.TOKEND_TEST_DATABASE_URL });
  try {
    await admin.connect();
    const { rows } = await admin.query('select datname from pg_database where starts_with(datname, $1)', [`tokend_test_${env.TOKEND_TEST_RUN_ID}_`]);
    for (const { datname } of rows) await admin.query(`drop database if exists "${datname}" with (force)`);
  } catch (error) {
    process.stderr.write(`npm test: could not drop the run's test databases: ${error.message}\n`);
  } finally {
    await admin.end().catch(() => {});
  }
}

/**
 * Files that run in a process of their own, each: the longest (a minute or more of wall time each:
 * browsers, crash loops, several processes, the README walk-through) and those that change
 * process-wide state (environment variables). They start first, longest first: the runner starts
 * files in the order given, and one of them started last would run on alone after the others
 * finished (on 2 cores, 10.5 minutes alphabetically).
 */
const OWN_PROCESS = [
  'test/console.operator.browser.test.ts',
  'test/readme.test.ts',
  'test/console.dashboard.browser.test.ts',
  'test/crash.postgres.test.ts',
  'test/console.browser.test.ts',
  'test/crash.sqlite.test.ts',
  'test/multinode.test.ts',
  'test/fuzz.postgres.test.ts',
  'test/console.passwords.test.ts',
  'test/fuzz.sqlite.test.ts',
  'test/console.advice.browser.test.ts',
  'test/cli.local.test.ts',
  'test/invoicebox.cli.test.ts',
  'test/client.package.test.ts',
  'test/multinode.outage.test.ts',
];
/** Processes that each run a share of the other files, one file after another. */
const SHARED_PROCESSES = 3;
/** Files of OWN_PROCESS at a time, beside those. */
const OWN_CONCURRENCY = 3;

const files = [...globSync('test/**/*.test.ts', { cwd: root }), ...globSync('src/**/*.test.ts', { cwd: root })].sort();
const own = OWN_PROCESS.filter((f) => files.includes(f));
// The other files share processes (--test-isolation=none): each process loads tokend's modules
// and warms its JIT once instead of once a file, about half the CPU time these files took in a
// process each. A file's size stands for its cost when they are dealt out.
const groups = Array.from({ length: SHARED_PROCESSES }, () => ({ files: [], bytes: 0 }));
const rest = files.filter((f) => !own.includes(f)).map((f) => ({ f, bytes: statSync(join(root, f)).size }));
for (const { f, bytes } of rest.sort((x, y) => y.bytes - x.bytes)) {
  const lightest = groups.reduce((m, g) => (g.bytes < m.bytes ? g : m));
  lightest.files.push(f);
  lightest.bytes += bytes;
}
const passed = process.argv.slice(2);
const started = performance.now();
const runs = [];
// Shown as it comes.
if (own.length > 0) runs.push(run(process.execPath, ['--test', `--test-concurrency=${OWN_CONCURRENCY}`, '--test-reporter=spec', ...passed, ...own], { show: 'tee' }));
// Each shown whole when it ends.
for (const g of groups.filter((g) => g.files.length > 0)) {
  runs.push(
    run(process.execPath, ['--test', '--test-isolation=none', '--test-reporter=spec', ...passed, ...g.files], { show: 'held' }).then((r) => {
      process.stdout.write(r.output);
      return r;
    }),
  );
}
const results = await Promise.all(runs);
const testsFailed = results.some((r) => r.code !== 0);
/** The sum over the runs of a count their reporters print last (`ℹ tests 1279`). */
const total = (name) => results.reduce((n, r) => n + Number(new RegExp(`^ℹ ${name} (\\d+)$`, 'm').exec(r.output)?.[1] ?? 0), 0);
process.stdout.write(
  `\nnpm test: ${total('tests')} tests in ${files.length} files, ${total('pass')} passed, ${total('fail')} failed, ` +
    `${total('skipped')} skipped, ${((performance.now() - started) / 1000).toFixed(0)} s (${own.length} files in a process each, ` +
    `the other ${files.length - own.length} in ${runs.length - (own.length > 0 ? 1 : 0)} shared processes)\n`,
);
await dropRunDatabases();
const checked = await typecheck;
if (checked.code !== 0) process.stdout.write(`\nnpm test: the type check failed:\n${checked.output}`);
else process.stdout.write('\nnpm test: the type check passed\n');
process.exitCode = testsFailed ? 1 : checked.code;
