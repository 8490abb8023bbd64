/** The `tokend` command as a user runs it: a real child process, real database files. */
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = new URL('../bin/tokend.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tokend-cli-'));
const env = { ...process.env, TOKEND_DATA_DIR: dir, TOKEND_DATABASE_URL: '' };

async function tokend(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('tokend CLI', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('migrate applies migrations, then says it is up to date', async () => {
    const first = await tokend(['migrate']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /applied: 0001_initial/);
    const second = await tokend(['migrate']);
    assert.match(second.stdout, /up to date/);
  });

  it('account create --json prints {"id","uid","email"}; app create --json prints {"appId"}', async () => {
    const a = await tokend(['account', 'create', '--email', ' CLI@Example.com ', '--password', 'cli-password-1', '--json']);
    assert.equal(a.code, 0, a.stderr);
    const account = JSON.parse(a.stdout);
    assert.deepEqual(Object.keys(account), ['id', 'uid', 'email']);
    assert.equal(typeof account.id, 'number');
    assert.match(account.uid, /^[0-9a-f-]{36}$/);
    assert.equal(account.email, 'cli@example.com');
    assert.ok(!a.stdout.includes('cli-password-1'));

    const p = await tokend(['app', 'create', '--account', String(account.id), '--name', 'My integration', '--json']);
    assert.equal(p.code, 0, p.stderr);
    const app = JSON.parse(p.stdout);
    assert.deepEqual(Object.keys(app), ['appId']);
    assert.match(app.appId, /^app_/);
  });

  it('input errors exit 2, a taken email 4, with a one-line message, no stack trace', async () => {
    const dup = await tokend(['account', 'create', '--email', 'cli@example.com', '--password', 'cli-password-1']);
    assert.equal(dup.code, 4);
    assert.match(dup.stderr, /already exists/);
    const weak = await tokend(['account', 'create', '--email', 'x@example.com', '--password', 'short']);
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /password/);
    const badId = await tokend(['app', 'create', '--account', 'abc', '--name', 'x']);
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /--account/);
    for (const r of [dup, weak, badId]) assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('a bad setting stops serve with a message naming it', async () => {
    const r = await tokend(['serve'], { TOKEND_PORT: 'eighty' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TOKEND_PORT \(--port\)/);
    const f = await tokend(['serve', '--port', '99999']);
    assert.equal(f.code, 2);
    assert.match(f.stderr, /--port \(TOKEND_PORT\)/);
  });

  it('serve --demo seeds the sandbox once, prints it, and the README walk-through works', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--demo', '--port', '0'], { env: { ...env, TOKEND_LOG_LEVEL: 'warn' } });
    let out = '';
    let errOut = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (errOut += d));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listen line: ${out} ${errOut}`)), 120_000);
        const poll = (): void => {
          const m = /listening on (http:\/\/[^\s]+)/.exec(out);
          if (m && out.includes('appId') && errOut.includes('DEMO MODE')) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        child.stdout.on('data', poll);
        child.stderr.on('data', poll);
      });
      assert.match(errOut, /DEMO MODE/);
      assert.match(out, /demo@tokend\.dev/);
      const made = await fetch(`${base}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'demo@tokend.dev', password: 'demo-password', appId: 'app_demo' }),
      });
      assert.equal(made.status, 200);
      const { data } = (await made.json()) as { data: { accessToken: string; refreshToken: string; cabinetUserId: number } };
      assert.equal(data.cabinetUserId, 29078);
      const checked = await fetch(`${base}/v1/tokens/check`, { headers: { authorization: data.accessToken } });
      assert.equal(checked.status, 200);
      const refreshed = await fetch(`${base}/v1/tokens/refresh`, { method: 'POST', headers: { refresh: data.refreshToken } });
      assert.equal(refreshed.status, 200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
