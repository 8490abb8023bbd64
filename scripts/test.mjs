// `npm test`: builds dist/ (without its own type check), then runs every test file, six at a time,
// while the type check of the whole project runs beside them (its output is held and printed
// after the tests'). Either failing fails the run. Arguments after `npm test --` go to
// `node --test` (a name pattern, say).
//
// Every Node process of the run (the test files, the `tokend` processes they start) shares one
// compile cache (NODE_COMPILE_CACHE, in node_modules/.cache): a module's TypeScript is stripped and
// compiled once per run instead of once per process, which is most of what starting one costs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { globSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../', import.meta.url));
const env = { ...process.env };
env.NODE_COMPILE_CACHE ||= join(root, 'node_modules', '.cache', 'node-compile-cache');
// The test databases of this run carry its id and are dropped when it ends (test/helpers/harness.ts).
env.TOKEND_TEST_RUN_ID = randomBytes(5).toString('hex');

/**
 * Runs a command; resolves with its exit code (or 1 when killed) and, with `held`, its output,
 * which is otherwise shown as it comes.
 */
function run(command, args, { held = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: held ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    const output = [];
    if (held) for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => output.push(chunk));
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
const typecheck = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { held: true });
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
 * The files that take longest (a minute or more of wall time each: browsers, crash loops, several
 * processes, the README walk-through) start first: the runner starts files in the order given, and
 * one of them started last would run on alone after the others finished (on 2 cores, 10.5 minutes
 * alphabetically). A file missing here just takes its place among the rest.
 */
const LONGEST_FIRST = [
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
];
const files = [...globSync('test/**/*.test.ts', { cwd: root }), ...globSync('src/**/*.test.ts', { cwd: root })].sort();
const rank = (file) => {
  const i = LONGEST_FIRST.indexOf(file);
  return i < 0 ? LONGEST_FIRST.length : i;
};
files.sort((a, b) => rank(a) - rank(b));
const tests = await run(process.execPath, [
  '--test',
  '--test-concurrency=6',
  '--test-reporter=spec',
  ...process.argv.slice(2),
  ...files,
]);
await dropRunDatabases();
const checked = await typecheck;
if (checked.code !== 0) process.stdout.write(`\nnpm test: the type check failed:\n${checked.output}`);
else process.stdout.write('\nnpm test: the type check passed\n');
process.exitCode = tests.code !== 0 ? tests.code : checked.code;
