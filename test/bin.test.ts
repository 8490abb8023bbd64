/**
 * bin/tokend.js picks the code it runs: the compiled build (dist/) when it is newer than every
 * source file, the TypeScript sources otherwise, so that an edit is never shadowed by an older
 * build (docs/operations.md, "Running from a build"). Tested on a copy of bin/ in a scratch tree
 * whose two entry points say which one ran, so the repository's own dist/ is left alone.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
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

describe('bin/tokend.js serve: V8 young generation (TOKEND_V8_SEMI_SPACE_MB)', () => {
  const root = mkdtempSync(join(tmpdir(), 'tokend-bin-flags-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'src'));
  mkdirSync(join(root, 'dist'));
  copyFileSync(REAL_BIN, join(root, 'bin/tokend.js'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  // The entry point reports the process it runs in: its pid and node flags, and V8's young
  // generation after garbage that survives a while (which makes V8 grow it as far as allowed).
  writeFileSync(
    join(root, 'dist/main.js'),
    "import v8 from 'node:v8';\n" +
      'export async function main() {\n' +
      '  const ring = new Array(200000);\n' +
      '  for (let i = 0; i < 1e6; i++) ring[i % 200000] = { i };\n' +
      "  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');\n" +
      '  console.log(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, young: young.space_size }));\n' +
      '  return 0;\n' +
      '}\n',
  );
  writeFileSync(join(root, 'dist/.built'), 'now\n');

  async function started(args: string[], env: Record<string, string> = {}): Promise<{ pid: number; childPid: number; execArgv: string[]; young: number }> {
    const child = execFile(process.execPath, [join(root, 'bin/tokend.js'), ...args], { env: { ...process.env, NODE_OPTIONS: '', TOKEND_V8_SEMI_SPACE_MB: '', ...env } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0, out);
    return { ...(JSON.parse(out.trim()) as { pid: number; execArgv: string[]; young: number }), childPid: child.pid! };
  }

  it('serve replaces its own process with one whose semi-spaces are 8 MiB by default (same pid)', async () => {
    const r = await started(['serve']);
    assert.deepEqual(r.execArgv, ['--max-semi-space-size=8']);
    assert.equal(r.pid, r.childPid, 'execve keeps the pid: signals and service managers see one process');
    // Both semi-spaces (from and to) at most 8 MiB each, after garbage that grows it with V8's own sizing (below).
    assert.ok(r.young <= 16 * 2 ** 20, `new space ${r.young} bytes`);
  });

  it('takes the size from TOKEND_V8_SEMI_SPACE_MB, and 0 leaves V8 its own sizing', async () => {
    assert.deepEqual((await started(['serve'], { TOKEND_V8_SEMI_SPACE_MB: '32' })).execArgv, ['--max-semi-space-size=32']);
    const own = await started(['serve'], { TOKEND_V8_SEMI_SPACE_MB: '0' });
    assert.deepEqual(own.execArgv, []);
    // On a machine with a few GiB, V8's own sizing lets the same garbage grow it past 2 x 8 MiB.
    if (totalmem() >= 4 * 2 ** 30) assert.ok(own.young > 16 * 2 ** 20, `new space ${own.young} bytes`);
  });

  it('leaves a --max-semi-space-size given to node, in NODE_OPTIONS or on its command line, as it is', async () => {
    assert.deepEqual((await started(['serve'], { NODE_OPTIONS: '--max-semi-space-size=2' })).execArgv, []);
    const child = execFile(process.execPath, ['--max-semi-space-size=4', join(root, 'bin/tokend.js'), 'serve'], { env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.once('close', resolve));
    assert.deepEqual((JSON.parse(out.trim()) as { execArgv: string[] }).execArgv, ['--max-semi-space-size=4']);
  });

  it('leaves the other commands (short-lived) alone, and a bad value to the configuration check of serve', async () => {
    assert.deepEqual((await started(['accounts', 'list'])).execArgv, []);
    assert.deepEqual((await started(['serve'], { TOKEND_V8_SEMI_SPACE_MB: 'big' })).execArgv, []);
  });
});
