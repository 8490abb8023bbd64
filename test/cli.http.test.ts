/**
 * The `tokend` command through a running tokend (--url): every command calls the admin API of a
 * real listening server with the admin token (and an operator key, limited to its permissions),
 * never opens a database, prints what the database mode prints, and maps the API's answers to the
 * same exit codes. On SQLite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CliIO } from '../src/cli/context.ts';
import { main } from '../src/main.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TokendChild } from './helpers/child.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { createTestDatabase, databases, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';

const run = promisify(execFile);
const BIN = new URL('../bin/tokend.js', import.meta.url).pathname;

interface Ran {
  code: number;
  out: string[];
  err: string[];
}

async function cli(env: Record<string, string | undefined>, args: string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), env };
  const code = await main(args, io);
  return { code, out, err };
}

function json(r: Ran): Record<string, unknown> {
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.equal(r.out.length, 1, `one line on stdout: ${r.out.join('\n')}`);
  return JSON.parse(r.out[0]!) as Record<string, unknown>;
}

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function errors(r: Ran): string[] {
  return r.err.filter((l) => !l.startsWith('tokend: using '));
}

for (const kind of databases()) {
  describe(`tokend --url: the admin API of a running tokend (${kind})`, () => {
    let t: TestTokend;
    let admin: Record<string, string | undefined>;
    /** A data directory that does not exist: a command that opened a database would fail or create it. */
    const nowhere = join(mkdtempSync(join(tmpdir(), 'tokend-nowhere-')), 'data');
    before(async () => {
      t = await startTokend({ db: kind, listen: true, config: { adminToken: testAdminToken() } });
      admin = { TOKEND_URL: t.url, TOKEND_ADMIN_TOKEN: t.config.adminToken, TOKEND_DATA_DIR: nowhere };
    });
    after(async () => {
      await t.close();
      rmSync(join(nowhere, '..'), { recursive: true, force: true });
    });

    it('goes through the API, says so, and never opens a database', async () => {
      const r = await cli(admin, ['account', 'create', '--email', `http-${kind}@example.com`, '--password', 'http-password-1', '--json']);
      const created = json(r);
      assert.deepEqual(Object.keys(created), ['id', 'uid', 'email']);
      assert.equal(created.email, `http-${kind}@example.com`);
      assert.deepEqual(r.err, [`tokend: using the admin API at ${t.url}`]);
      const stored = await t.core.accounts.get(created.id as number);
      assert.equal(stored?.uid, created.uid, 'the running server made it');
      assert.equal(existsSync(nowhere), false, 'no data directory was created');

      // --url on the command line works the same as TOKEND_URL.
      const flag = await cli({ TOKEND_ADMIN_TOKEN: t.config.adminToken }, ['account', 'disable', String(created.id), '--url', t.url, '--json']);
      assert.deepEqual(json(flag), { id: created.id, status: 'disabled' });
      assert.equal((await t.core.accounts.get(created.id as number))?.status, 'disabled');
      assert.deepEqual(json(await cli(admin, ['account', 'enable', String(created.id), '--json'])), { id: created.id, status: 'active' });
      // The human form.
      const human = await cli(admin, ['account', 'disable', String(created.id)]);
      assert.deepEqual(human.out, [`account ${created.id} disabled`]);
    });

    it('signing-key rotate and list: the same answer as on the database, times in Unix ms', async () => {
      // As `tokend serve` does at start: the ring has its first key.
      await t.core.signing.ready();
      const rotation = json(await cli(admin, ['signing-key', 'rotate', '--json']));
      assert.deepEqual(Object.keys(rotation), ['kid', 'alg', 'activatesAt', 'previousKid', 'previousPublishedUntil']);
      assert.ok(Math.abs((rotation.activatesAt as number) - (Date.now() + t.config.signingKeyPublishDelay)) < 5000);
      const keys = json(await cli(admin, ['signing-key', 'list', '--json'])).keys as { kid: string; state: string }[];
      assert.equal(keys.find((k) => k.kid === rotation.kid)?.state, 'pending');
      const table = await cli(admin, ['signing-key', 'list']);
      assert.match(table.out[0]!, /^KID +ALG +STATE +SIGNS FROM/);
    });

    it('exit codes from the API: 2 malformed, 3 not found, 4 wrong credential; never the token in a message', async () => {
      const bad = await cli(admin, ['account', 'create', '--email', 'not-an-email', '--password', 'http-password-1']);
      assert.equal(bad.code, 2, bad.err.join('\n'));
      assert.equal(errors(bad).length, 1);
      assert.match(errors(bad)[0]!, /email/);

      const missing = await cli(admin, ['account', 'disable', '987654']);
      assert.equal(missing.code, 3, missing.err.join('\n'));
      assert.deepEqual(errors(missing), ['tokend: account 987654 does not exist']);

      const wrongToken = 'tdm_wrong_' + 'x'.repeat(40);
      const wrong = await cli({ ...admin, TOKEND_ADMIN_TOKEN: wrongToken }, ['signing-key', 'list']);
      assert.equal(wrong.code, 4, wrong.err.join('\n'));
      assert.match(errors(wrong)[0]!, /did not accept the token/);
      for (const r of [bad, missing, wrong]) {
        const all = [...r.out, ...r.err].join('\n');
        assert.ok(!all.includes(t.config.adminToken) && !all.includes(wrongToken), 'no credential in the output');
      }
    });

    it('usage errors before any request: --url with --data-dir, no token, a bad URL; an unreachable server is 1', async () => {
      for (const [env, args, message] of [
        [admin, ['account', 'list', '--data-dir', nowhere], /--url goes through a running tokend, --data-dir and --database-url open a database/],
        [{ TOKEND_URL: t.url }, ['account', 'list'], /TOKEND_URL needs a credential: the admin token or an operator key, in TOKEND_ADMIN_TOKEN/],
        [{ TOKEND_ADMIN_TOKEN: 'tdm_x' }, ['account', 'list', '--url', 'ftp://example.com'], /--url must start with http:\/\/ or https:\/\//],
        [{ TOKEND_ADMIN_TOKEN: 'tdm_x' }, ['account', 'list', '--url', 'http://user:pw@127.0.0.1:1'], /--url must not carry a user or password/],
        [admin, ['resource-server', 'list'], /works only on the database/],
        [admin, ['key', 'revoke', '5'], /key revoke over HTTP needs --service-account/],
      ] as const) {
        const r = await cli(env, [...args]);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.err.join('\n')}`);
        assert.match(errors(r).join('\n'), message);
      }
      const closed = await closedPort();
      const down = await cli({ TOKEND_URL: `http://127.0.0.1:${closed}`, TOKEND_ADMIN_TOKEN: 'tdm_x' }, ['account', 'show', '1']);
      assert.equal(down.code, 1, down.err.join('\n'));
      assert.deepEqual(errors(down), [`tokend: cannot reach tokend at http://127.0.0.1:${closed} (ECONNREFUSED)`]);
    });
  });
}

for (const kind of databases()) {
  describe(`tokend --url against \`tokend serve\` in another process (${kind})`, () => {
    let db: TestDatabase;
    let child: TokendChild;
    const adminToken = testAdminToken();
    const elsewhere = mkdtempSync(join(tmpdir(), 'tokend-client-'));
    before(async () => {
      db = await createTestDatabase(kind);
      child = new TokendChild({ dataDir: db.dataDir, databaseUrl: db.url, env: { TOKEND_ADMIN_TOKEN: adminToken, TOKEND_LOG_LEVEL: 'warn' } });
      await child.start();
    });
    after(async () => {
      await child.stop('SIGTERM');
      await db.drop();
      rmSync(elsewhere, { recursive: true, force: true });
    });

    it('bin/tokend.js run from another directory provisions through the server, and creates no database there', async () => {
      const env = { PATH: process.env.PATH ?? '', HOME: elsewhere, TOKEND_URL: child.url!, TOKEND_ADMIN_TOKEN: adminToken };
      const { stdout, stderr } = await run(process.execPath, [BIN, 'account', 'create', '--email', `child-${kind}@example.com`, '--password', 'child-password-1', '--json'], { cwd: elsewhere, env });
      const created = JSON.parse(stdout) as { id: number; uid: string; email: string };
      assert.deepEqual(Object.keys(created), ['id', 'uid', 'email']);
      assert.equal(stderr.trim(), `tokend: using the admin API at ${child.url}`);
      const disabled = await run(process.execPath, [BIN, 'account', 'disable', String(created.id)], { cwd: elsewhere, env });
      assert.equal(disabled.stdout, `account ${created.id} disabled\n`);
      assert.equal(existsSync(join(elsewhere, 'data')), false, 'no ./data beside the client');
      // The server's own output never carries the admin token the client sent.
      assert.ok(!child.output.join('\n').includes(adminToken));
    });
  });
}
