// `npm run build:server`: bundles src/ into dist/ from a clean directory, then stamps the build so
// that bin/tokend.js can tell it is newer than the sources.
//
// A bundle rather than src/ compiled file by file: each `tokend` process (every CLI command, every
// `tokend serve`) otherwise starts by resolving, reading and compiling about 130 modules of its own
// and 700 of node_modules one by one, which cost about half of a command's CPU time
// (docs/operations.md, "Running from a build"). The bundler is rolldown, which vite (the console's
// build tool) is built on and installs anyway: a devDependency pinned to the version vite brings,
// so nothing more to fetch. It strips the types itself (as Node does from src/), so TypeScript
// only type-checks here.
//
// `--no-check` skips the type check (the same output, in a fraction of the time): for callers that
// type-check the whole project themselves first, as `npm test` does.
//
// Layout of dist/, which the code relies on (src/layout.ts) and which this script checks:
// - main.js, the entry bin/tokend.js imports;
// - each module of ENTRY_MODULES (src/layout.ts: a worker thread's entry) at its path under src/,
//   as .js;
// - every other file of the bundle (the chunks: the code shared by the entries and what the code
//   imports lazily) directly in dist/, so that src/layout.ts, in whichever chunk it lands, is one
//   level below the package root, as in src/.
// Left out of the bundle (EXTERNAL), and imported from node_modules at run time: Node's built-in
// modules, and the dependencies that find files of their own by path or load a native addon. Each
// must be a dependency (not a devDependency: an image keeps only those), which the script checks.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';
import { ENTRY_MODULES } from '../src/layout.ts';

/** Packages imported at run time rather than bundled, and why. */
const EXTERNAL = {
  '@node-rs/argon2': 'loads a native addon for the platform it was installed on',
  '@fastify/static': 'its own files, found from its package directory',
  '@fastify/swagger-ui': 'the Swagger UI files, found from its package directory',
  pino: 'its transports run files of their own (thread-stream) in worker threads',
  'pg-native': "pg's optional native binding (require()d only if asked for; tokend does not)",
};
/** Of EXTERNAL, those that need not be installed (required only behind a try or an option). */
const OPTIONAL = new Set(['pg-native']);

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = new URL('../dist/', import.meta.url);
const noCheck = process.argv.includes('--no-check');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const builtins = new Set(builtinModules);

rmSync(dist, { recursive: true, force: true });
// The type check runs beside the bundling: neither needs the other's output.
const checked = noCheck ? Promise.resolve() : run(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json']);
checked.catch(() => {}); // awaited below, after the bundle

/** The bare package name of an import specifier ('@a/b/c' -> '@a/b', 'a/b' -> 'a'). */
const packageOf = (id) => id.split('/').slice(0, id.startsWith('@') ? 2 : 1).join('/');
const externals = new Set();
const output = await build({
  cwd: root,
  input: Object.fromEntries([['main', 'src/main.ts'], ...ENTRY_MODULES.map((entry) => [entry, `src/${entry}.ts`])]),
  platform: 'node',
  external: (id) => {
    if (id.startsWith('node:') || builtins.has(id)) return true;
    if (!Object.hasOwn(EXTERNAL, packageOf(id))) return false;
    externals.add(packageOf(id));
    return true;
  },
  onLog(level, log, handler) {
    // An import the bundler cannot resolve would be left as an import of a package that may not
    // be installed where the build runs: an error here rather than at run time.
    if (log.code === 'UNRESOLVED_IMPORT') handler('error', log);
    else handler(level, log);
  },
  output: {
    dir: fileURLToPath(dist),
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    sourcemap: true,
  },
});

const problems = [];
// Fastify's own dependencies that src/ imports by name, meaning Fastify's copy: the copy src/
// resolves must be the one Fastify does, or the bundle (and the sources) would load two.
const srcRequire = createRequire(new URL('../src/main.ts', import.meta.url));
const fastifyRequire = createRequire(srcRequire.resolve('fastify'));
for (const name of ['@fastify/fast-json-stringify-compiler']) {
  if (srcRequire.resolve(name) !== fastifyRequire.resolve(name)) problems.push(`${name}: src/ resolves another copy than Fastify's`);
}
for (const file of output.output) {
  if (file.type !== 'chunk') continue;
  const entry = file.isEntry ? file.name : null;
  if (entry !== null && entry !== 'main' && !ENTRY_MODULES.includes(entry)) problems.push(`unexpected entry ${entry}`);
  if (entry === null && file.fileName.includes('/')) problems.push(`chunk ${file.fileName} is not directly in dist/`);
  if (file.fileName.includes('/') && file.moduleIds.some((id) => id.endsWith('/src/layout.ts'))) {
    problems.push(`src/layout.ts landed in ${file.fileName}, not directly in dist/`);
  }
}
for (const name of externals) {
  if (!OPTIONAL.has(name) && !Object.hasOwn(pkg.dependencies, name)) problems.push(`${name} is imported at run time but is not a dependency`);
}
if (problems.length > 0) throw new Error(`scripts/build-server.mjs: the bundle breaks its layout:\n- ${problems.join('\n- ')}`);

await checked;
writeFileSync(new URL('.built', dist), `${new Date().toISOString()}\n`);

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} failed (exit ${code})`))));
  });
}
