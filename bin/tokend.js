#!/usr/bin/env node
// The `tokend` command. It runs the compiled build in dist/ (made by `npm run build`, which
// `npm install` runs when the build tools are installed) when that build is newer than every
// source file, and the TypeScript sources otherwise: Node 24 strips their types as it loads them,
// which costs about 40 MiB of memory and some start-up time, but never runs stale code after an
// edit (docs/operations.md).
//
// tokend needs Node.js 24.15 or later (its built-in SQLite, `node:sqlite`, is a release candidate
// there and loads without an experimental warning). Started by an older Node (Debian's stock
// Node 20, say), this file runs itself again with the Node 24 that `npm install` brought as the
// `node` dependency, so nobody has to install Node 24 by hand. This file must therefore parse and
// run up to that point on old Node versions: plain JavaScript, nothing newer than Node 18 has.
import { readdirSync, statSync } from 'node:fs';

/**
 * MiB of each of the two semi-spaces of V8's young generation that `tokend serve` runs with
 * (TOKEND_V8_SEMI_SPACE_MB, docs/operations.md "Memory"). V8 sizes them from the machine's memory
 * (up to 64 MiB each on one with 24 GiB), which a server answering token checks fills with
 * short-lived garbage and keeps committed; 8 MiB costs no throughput (bench/RESULTS.md).
 */
const SEMI_SPACE_MB = 8;

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 24 || (major === 24 && minor < 15)) {
  process.exitCode = await runOnBundledNode();
} else {
  const flags = serveNodeFlags();
  // Replaces this process (same pid, same stdio, signals and service manager unaffected): V8 reads
  // its heap's sizes when the process starts, so a flag set from here would come too late.
  if (flags.length) process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
  const root = new URL('../', import.meta.url);
  const { main } = await import(buildIsCurrent(root) ? '../dist/main.js' : '../src/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}

/**
 * The node flags `tokend serve` needs and this process lacks: V8's young generation from
 * TOKEND_V8_SEMI_SPACE_MB (0: V8's own sizing), unless --max-semi-space-size is already given
 * (on the command line, in NODE_OPTIONS, or by the execve below). A value that is not a whole
 * number of MiB is left to the configuration check of `serve`, which names it.
 */
function serveNodeFlags() {
  if (process.argv[2] !== 'serve' || typeof process.execve !== 'function') return [];
  if (/--max-semi-space-size\b/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`)) return [];
  const raw = (process.env.TOKEND_V8_SEMI_SPACE_MB ?? '').trim();
  const mb = raw === '' ? SEMI_SPACE_MB : Number(raw);
  if (!Number.isInteger(mb) || mb <= 0 || mb > 1024) return [];
  return [`--max-semi-space-size=${mb}`];
}

/** True when dist/ was built after the last change to any source file (tests excluded). */
function buildIsCurrent(root) {
  let built;
  try {
    built = statSync(new URL('dist/.built', root)).mtimeMs;
  } catch {
    return false;
  }
  const src = new URL('src/', root);
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    if (statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs > built) return false;
  }
  return true;
}

/**
 * Runs this same command on the registry's Node 24 (the `node` dependency) and ends as it ends:
 * same arguments, same stdin/stdout/stderr, its exit code, or the signal that ended it.
 */
async function runOnBundledNode() {
  const { spawn } = await import('node:child_process');
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  let node = null;
  try {
    node = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
    statSync(node);
  } catch {
    node = null;
  }
  if (node === null || process.env.TOKEND_REEXEC === '1') {
    process.stderr.write(
      `tokend needs Node.js 24.15 or later; this is ${process.version}, and the Node 24 that \`npm install\` ` +
        'installs (the `node` package) is missing. Run `npm install` in the tokend directory again, or install Node.js 24.\n',
    );
    return 1;
  }
  const child = spawn(node, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TOKEND_REEXEC: '1' },
  });
  // A signal sent to this process is passed on, so that `kill -TERM` or a service manager stops
  // tokend as usual (SIGTERM drains). Ctrl-C on a terminal already reaches both processes (they
  // share the foreground process group): passing SIGINT on as well would be a second SIGINT.
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR2']) {
    process.on(signal, () => {
      if (signal === 'SIGINT' && process.stdin.isTTY) return;
      child.kill(signal);
    });
  }
  return await new Promise((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`tokend: cannot start ${node}: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      if (signal) {
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
        return;
      }
      resolve(code ?? 1);
    });
  });
}
