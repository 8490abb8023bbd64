/**
 * bin/tokend.js picks the code it runs: the compiled build (dist/) when it is newer than every
 * source file, the TypeScript sources otherwise, so that an edit is never shadowed by an older
 * build (docs/operations.md, "Running from a build"). Tested on a copy of bin/ in a scratch tree
 * whose two entry points say which one ran, so the repository's own dist/ is left alone.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REAL_BIN = new URL('../bin/tokend.js', import.meta.url).pathname;

async function which(root: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(root, 'bin/tokend.js')]);
  return stdout.trim();
}

describe('bin/tokend.js', () => {
  const root = mkdtempSync(join(tmpdir(), 'tokend-bin-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'src/cli'), { recursive: true });
  mkdirSync(join(root, 'dist'));
  copyFileSync(REAL_BIN, join(root, 'bin/tokend.js'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  const entry = (name: string): string => `export async function main(): Promise<number> { console.log('${name}'); return 0; }\n`;
  writeFileSync(join(root, 'src/main.ts'), entry('src'));
  writeFileSync(join(root, 'src/cli/serve.ts'), 'export {};\n');
  writeFileSync(join(root, 'src/cli/serve.test.ts'), 'export {};\n');
  writeFileSync(join(root, 'dist/main.js'), entry('dist').replace(': Promise<number>', ''));
  const at = (path: string, seconds: number): void => utimesSync(join(root, path), seconds, seconds);
  const t0 = Math.floor(Date.now() / 1000) - 1000;

  it('runs the sources while there is no build', async () => {
    assert.equal(await which(root), 'src');
  });

  it('runs the build once it is stamped newer than every source file', async () => {
    for (const f of ['src/main.ts', 'src/cli/serve.ts', 'src/cli/serve.test.ts']) at(f, t0);
    writeFileSync(join(root, 'dist/.built'), 'now\n');
    at('dist/.built', t0 + 10);
    assert.equal(await which(root), 'dist');
  });

  it('runs the sources again after a source file changes, in any folder', async () => {
    at('src/cli/serve.ts', t0 + 20);
    assert.equal(await which(root), 'src');
    at('dist/.built', t0 + 30);
    assert.equal(await which(root), 'dist');
  });

  it('ignores changed test files, which the build does not contain', async () => {
    at('src/cli/serve.test.ts', t0 + 40);
    assert.equal(await which(root), 'dist');
  });

  it('the real command says which code it runs', async () => {
    const { stdout } = await run(process.execPath, [REAL_BIN, '--version']);
    assert.match(stdout.trim(), /^tokend \d+\.\d+\.\d+ \((compiled build, dist\/|TypeScript sources, src\/)\)$/);
  });
});
