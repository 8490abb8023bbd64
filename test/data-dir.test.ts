/**
 * A data directory tokend cannot use stops `tokend serve` with a message that names the directory
 * and what to do, and a non-zero exit: never a stack trace. Two ways an operator gets there: a
 * path through a file (a typo), and a volume mounted read-only (or owned by another user).
 */
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const BIN = new URL('../bin/tokend.js', import.meta.url).pathname;

function serve(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0'], { timeout: 60_000, env: { ...process.env, TOKEND_LOG_LEVEL: 'warn' } }, (error, _stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr });
    });
  });
}

function assertClear(stderr: string): void {
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  assert.match(stderr, /TOKEND_DATA_DIR \(--data-dir\)/, 'says which setting to change');
}

describe('an unusable data directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'tokend-datadir-'));
  const cleanups: (() => void)[] = [];
  after(() => {
    for (const c of cleanups.reverse()) c();
    rmSync(root, { recursive: true, force: true });
  });

  it('a path through a file: names the directory and the reason', async () => {
    writeFileSync(join(root, 'a-file'), '');
    const { code, stderr } = await serve(join(root, 'a-file', 'data'));
    assert.notEqual(code, 0);
    assert.match(stderr, /cannot create the data directory .*a-file\/data \(ENOTDIR\)/);
    assertClear(stderr);
  });

  it('a directory it may not write to (a read-only volume): names it and the user tokend runs as', async (t) => {
    const dir = join(root, 'volume');
    mkdirSync(join(dir, 'data'), { recursive: true });
    if (process.getuid?.() === 0) {
      // root writes through file modes: a read-only bind mount is what a read-only volume is.
      try {
        execFileSync('mount', ['--bind', dir, dir], { stdio: 'ignore' });
      } catch {
        t.skip('root without the right to mount (a container): no read-only volume to try');
        return;
      }
      cleanups.push(() => execFileSync('umount', [dir]));
      execFileSync('mount', ['-o', 'remount,ro,bind', dir]);
    } else {
      chmodSync(join(dir, 'data'), 0o555);
      cleanups.push(() => chmodSync(join(dir, 'data'), 0o755));
    }
    const { code, stderr } = await serve(join(dir, 'data'));
    assert.notEqual(code, 0);
    assert.match(stderr, /cannot write to the data directory .*volume\/data: .*as the user it runs as \(uid \d+\)/);
    assertClear(stderr);
  });
});
