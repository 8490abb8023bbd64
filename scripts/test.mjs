// `npm test`: type-checks the whole project and builds dist/ side by side (the build skips its own
// type check, the first one covers src/), then runs every test file, four at a time. Arguments
// after `npm test --` go to `node --test` (a name pattern, say).
//
// Every Node process of the run (the test files, the `tokend` processes they start) shares one
// compile cache (NODE_COMPILE_CACHE, in node_modules/.cache): a module's TypeScript is stripped and
// compiled once per run instead of once per process, which is most of what starting one costs.
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../', import.meta.url));
const env = { ...process.env };
env.NODE_COMPILE_CACHE ||= join(root, 'node_modules', '.cache', 'node-compile-cache');

/** Runs a command with the output shown; resolves with its exit code (or 1 when killed). */
function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' });
    child.once('error', (error) => {
      process.stderr.write(`${command}: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const [typecheck, build] = await Promise.all([
  run(process.execPath, [tsc, '-p', 'tsconfig.json']),
  run(process.execPath, [join(root, 'scripts', 'build-server.mjs'), '--no-check']),
]);
if (typecheck !== 0 || build !== 0) {
  process.stderr.write(`npm test: ${typecheck !== 0 ? 'the type check' : 'the build'} failed\n`);
  process.exit(1);
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
process.exitCode = await run(process.execPath, [
  '--test',
  '--test-concurrency=4',
  '--test-reporter=spec',
  ...process.argv.slice(2),
  ...files,
]);
