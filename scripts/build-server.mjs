// `npm run build:server`: compiles src/ to dist/ (tsconfig.build.json) from a clean directory, then
// stamps the build so that bin/tokend.js can tell it is newer than the sources.
// `--no-check` emits without type-checking (the same output, a quarter of the time): for callers
// that type-check the whole project themselves first, as `npm test` does.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const noCheck = process.argv.includes('--no-check') ? ['--noCheck'] : [];
rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true });
execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json', ...noCheck], {
  cwd: root,
  stdio: 'inherit',
});
writeFileSync(new URL('../dist/.built', import.meta.url), `${new Date().toISOString()}\n`);
