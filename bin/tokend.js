#!/usr/bin/env node
// The `tokend` command. It runs the compiled build in dist/ (made by `npm run build`, which
// `npm install` runs) when that build is newer than every source file, and the TypeScript sources
// otherwise: Node 24 strips their types as it loads them, which costs about 40 MiB of memory and
// some start-up time, but never runs stale code after an edit (docs/operations.md).
import { readdirSync, statSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`tokend needs Node.js 24 (see .nvmrc); this is ${process.version}.\n`);
  process.exit(1);
}

const root = new URL('../', import.meta.url);
const { main } = await import(buildIsCurrent() ? '../dist/main.js' : '../src/main.ts');
process.exitCode = await main(process.argv.slice(2));

/** True when dist/ was built after the last change to any source file (tests excluded). */
function buildIsCurrent() {
  let built;
  try {
    built = statSync(new URL('dist/.built', root)).mtimeMs;
  } catch {
    return false;
  }
  const src = new URL('src/', root);
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    if (statSync(`${entry.parentPath}/${entry.name}`).mtimeMs > built) return false;
  }
  return true;
}
