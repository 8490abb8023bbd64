// `npm run build` in client/ (and `npm pack` there, through prepack): compiles the SDK to
// client/dist (JavaScript, .d.ts, source maps) from a clean directory, with the repository's own
// TypeScript compiler (a devDependency of tokend, found from here whatever the working directory).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const client = fileURLToPath(new URL('../client/', import.meta.url));
rmSync(new URL('../client/dist/', import.meta.url), { recursive: true, force: true });
execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.json'], {
  cwd: client,
  stdio: 'inherit',
});

// The sources import each other as './x.ts' (run as they are, type-stripped, in this repository);
// the emitted JavaScript says './x.js' (rewriteRelativeImportExtensions), and so must the .d.ts.
const dist = new URL('../client/dist/', import.meta.url);
for (const name of readdirSync(dist, { recursive: true })) {
  if (!String(name).endsWith('.d.ts')) continue;
  const file = new URL(String(name), dist);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace(/((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2'));
}
