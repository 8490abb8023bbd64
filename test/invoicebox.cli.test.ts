/**
 * `tokend api-token create|rotate|revoke|list` as an operator runs it (bin/tokend.js in a child
 * process) against a database a running tokend serves: what it prints, and that what it creates
 * works on the wire at once. On SQLite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const AUTH = '/v3/security/api/auth/auth';
const HOUR = 3_600_000;

async function status(t: TestTokend, token: string): Promise<number> {
  const res = await t.app.inject({ method: 'GET', url: AUTH, headers: { authorization: `Bearer ${token}` } });
  return res.statusCode;
}

const run = promisify(execFile);
const BIN = new URL('../bin/tokend.js', import.meta.url).pathname;

for (const db of databases()) {
  describe(`tokend api-token CLI (${db})`, () => {
    let t: TestTokend;
    let env: Record<string, string | undefined>;
    before(async () => {
      t = await startTokend({ db });
      env = { ...process.env, TOKEND_DATA_DIR: t.db.dataDir, TOKEND_DATABASE_URL: t.db.url, TOKEND_LOG_LEVEL: 'silent' };
    });
    after(async () => t.close());

    async function tokend(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      try {
        const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env });
        return { code: 0, stdout, stderr };
      } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
      }
    }

    it('create --json prints {"id","token","format"}; rotate --grace; revoke', async () => {
      const user = await seedAccount(t.core);
      const created = await tokend(['api-token', 'create', '--account', String(user.accountId), '--format', 'l3', '--label', 'cli', '--json']);
      assert.equal(created.code, 0, created.stderr);
      const c = JSON.parse(created.stdout);
      assert.deepEqual(Object.keys(c), ['id', 'token', 'format']);
      assert.equal(c.format, 'l3');
      assert.match(c.token, new RegExp(`^${user.accountId}-API:[0-9a-f]{32}$`));
      assert.equal(await status(t, c.token), 200);

      const rotated = await tokend(['api-token', 'rotate', c.id, '--grace', '24h', '--json']);
      assert.equal(rotated.code, 0, rotated.stderr);
      const r = JSON.parse(rotated.stdout);
      assert.deepEqual(Object.keys(r), ['id', 'token', 'format']);
      assert.notEqual(r.token, c.token);
      assert.equal(await status(t, r.token), 200);
      const old = await t.core.apiTokens.get(c.id);
      assert.equal(old!.replacedBy, r.id);
      assert.ok(old!.expiresAt! > Date.now() + 23 * HOUR);

      const revoked = await tokend(['api-token', 'revoke', r.id]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, /revoked/);
      assert.notEqual((await t.core.apiTokens.get(r.id))!.revokedAt, null);

      const list = await tokend(['api-token', 'list', '--account', String(user.accountId)]);
      assert.equal(list.code, 0, list.stderr);
      assert.ok(!list.stdout.includes(r.token.split(':')[1]) && !list.stdout.includes(c.token.split(':')[1]), 'lists never show a token');

      const native = JSON.parse((await tokend(['api-token', 'create', '--account', String(user.accountId), '--format', 'native', '--json'])).stdout);
      assert.equal(native.format, 'native');
      assert.match(native.token, /^tdo_/);
      const dflt = JSON.parse((await tokend(['api-token', 'create', '--account', String(user.accountId), '--json'])).stdout);
      assert.equal(dflt.format, 'v3');
    });

    it('input errors exit 2, unknown tokens and accounts 3, with one line', async () => {
      const user = await seedAccount(t.core);
      for (const [code, args] of [
        [2, ['api-token', 'create', '--account', String(user.accountId), '--format', 'v4']],
        [3, ['api-token', 'create', '--account', '999999']],
        [2, ['api-token', 'rotate', 'no-such-id']],
        [3, ['api-token', 'rotate', '0190aaaa-0000-7000-8000-000000000000']],
        [2, ['api-token', 'rotate', 'x', '--grace', 'forever']],
        [3, ['api-token', 'revoke', '0190aaaa-0000-7000-8000-000000000000']],
      ] as const) {
        const res = await tokend([...args]);
        assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
        // Besides the note naming the database it opened, one line.
        const errors = res.stderr.trim().split('\n').filter((l) => !l.startsWith('tokend: using '));
        assert.equal(errors.length, 1, res.stderr);
        assert.doesNotMatch(res.stderr, /\bat .+\.ts:\d+/);
      }
    });
  });
}
