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
import { RUNTIME_ENV, TokendChild } from './helpers/child.ts';
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

    it('every command over HTTP with the admin token: the whole life of a customer', async () => {
      const acct = json(await cli(admin, ['account', 'create', '--email', `life-${kind}@example.com`, '--password', 'life-password-1', '--name', 'Life', '--json']));
      const id = String(acct.id);
      const found = json(await cli(admin, ['account', 'list', '--email', `LIFE-${kind}@example.com`, '--json']));
      assert.deepEqual((found.accounts as { id: number }[]).map((a) => a.id), [acct.id]);
      const updated = json(await cli(admin, ['account', 'update', id, '--name', 'Renamed', '--email', `life2-${kind}@example.com`, '--json']));
      assert.equal(updated.name, 'Renamed');
      assert.equal(updated.email, `life2-${kind}@example.com`);
      assert.deepEqual(json(await cli(admin, ['account', 'disable', id, '--json'])), { id: acct.id, status: 'disabled' });
      const disabled = json(await cli(admin, ['account', 'list', '--status', 'disabled', '--limit', '500', '--json']));
      assert.ok((disabled.accounts as { id: number }[]).some((a) => a.id === acct.id));
      assert.deepEqual(json(await cli(admin, ['account', 'enable', id, '--json'])), { id: acct.id, status: 'active' });
      assert.deepEqual(json(await cli(admin, ['account', 'set-password', id, '--password', 'another-password-2', '--json'])), { id: acct.id, passwordSet: true });
      const link = json(await cli(admin, ['account', 'reset-link', id, '--expires-in', '2h', '--json']));
      assert.match(link.url as string, new RegExp(`^${t.url}/console/reset-password#token=`));
      assert.ok(Math.abs((link.expiresAt as number) - (Date.now() + 2 * 3_600_000)) < 10_000);

      const app = json(await cli(admin, ['app', 'create', '--account', id, '--name', 'Life app', '--json']));
      assert.deepEqual(Object.keys(app), ['appId']);
      assert.equal(json(await cli(admin, ['app', 'rename', app.appId as string, '--name', 'Renamed app', '--json'])).name, 'Renamed app');
      assert.deepEqual((json(await cli(admin, ['app', 'list', '--account', id, '--json'])).apps as { name: string }[]).map((a) => a.name), ['Renamed app']);

      // A session through the ChatApp login with the new password, then the session commands.
      const login = await t.core.accounts.passwordLogin({ email: `life2-${kind}@example.com`, password: 'another-password-2', appId: app.appId as string }, { address: 'test' });
      assert.ok(login.ok);
      const sessions = json(await cli(admin, ['session', 'list', '--account', id, '--json']));
      assert.deepEqual((sessions.sessions as { id: string }[]).map((x) => x.id), [login.pair.session.id]);
      assert.equal(sessions.total, 1);
      assert.deepEqual(json(await cli(admin, ['session', 'revoke', login.pair.session.id, '--json'])), { id: login.pair.session.id, revoked: true });
      assert.deepEqual(json(await cli(admin, ['session', 'revoke-all', '--account', id, '--json'])), { accountId: acct.id, revoked: 0 });

      const sa = json(await cli(admin, ['service-account', 'create', '--account', id, '--name', 'robot', '--actions', 'a,b', '--json']));
      assert.deepEqual(Object.keys(sa), ['id']);
      const saUpdated = json(await cli(admin, ['service-account', 'update', String(sa.id), '--name', 'robot 2', '--actions', 'c', '--json']));
      assert.equal(saUpdated.name, 'robot 2');
      assert.deepEqual(saUpdated.actions, ['c']);
      assert.deepEqual(json(await cli(admin, ['service-account', 'disable', String(sa.id), '--json'])), { id: sa.id, status: 'disabled' });
      assert.equal((await t.core.serviceAccounts.get(sa.id as number))?.status, 'disabled');
      assert.deepEqual(json(await cli(admin, ['service-account', 'enable', String(sa.id), '--json'])), { id: sa.id, status: 'active' });
      const before10s = Date.now();
      const key = json(await cli(admin, ['key', 'create', '--service-account', String(sa.id), '--expires-in', '10s', '--json']));
      assert.deepEqual(Object.keys(key), ['keyId', 'accessKey', 'secretKey', 'expiresAt']);
      assert.ok(Math.abs((key.expiresAt as number) - (before10s + 10_000)) < 5000);
      const keys = json(await cli(admin, ['key', 'list', '--service-account', String(sa.id), '--json']));
      assert.deepEqual((keys.keys as { id: number }[]).map((k) => k.id), [key.keyId]);
      assert.ok(!JSON.stringify(keys).includes(key.secretKey as string));
      assert.deepEqual(json(await cli(admin, ['key', 'revoke', String(key.keyId), '--service-account', String(sa.id), '--json'])), { keyId: key.keyId, revoked: true });
      assert.notEqual((await t.core.serviceAccounts.getKey(key.keyId as number))?.revokedAt, null);
      const again = await cli(admin, ['key', 'revoke', String(key.keyId), '--service-account', String(sa.id)]);
      assert.equal(again.code, 4, again.err.join('\n'));
      assert.match(errors(again)[0]!, /is no longer active: already revoked, replaced or expired \(not_active, HTTP 409\)$/);
      assert.equal((json(await cli(admin, ['service-account', 'list', '--account', id, '--json'])).serviceAccounts as unknown[]).length, 1);

      const token = json(await cli(admin, ['api-token', 'create', '--account', id, '--format', 'l3', '--label', 'ERP', '--expires-in', '90d', '--json']));
      assert.deepEqual(Object.keys(token), ['id', 'token', 'format']);
      assert.match(token.token as string, new RegExp(`^${id}-API:[0-9a-f]{32}$`));
      const shown = json(await cli(admin, ['api-token', 'show', token.id as string, '--json']));
      assert.ok(Math.abs((shown.expiresAt as number) - (Date.now() + 90 * 86_400_000)) < 10_000);
      const rotated = json(await cli(admin, ['api-token', 'rotate', token.id as string, '--grace', '1h', '--json']));
      assert.deepEqual(Object.keys(rotated), ['id', 'token', 'format']);
      assert.equal((await t.core.apiTokens.get(token.id as string))?.replacedBy, rotated.id);
      const human = await cli(admin, ['api-token', 'rotate', rotated.id as string]);
      assert.equal(human.code, 0, human.err.join('\n'));
      assert.ok(human.out.some((l) => /^ {2}id: +[0-9a-f-]{36}$/.test(l)), human.out.join('\n'));
      assert.ok(human.out.some((l) => /^ {2}token: +\d+-API:[0-9a-f]{32}$/.test(l)));
      const grace = json(await cli(admin, ['api-token', 'list', '--account', id, '--status', 'grace', '--json']));
      assert.deepEqual((grace.tokens as { id: string }[]).map((x) => x.id), [token.id]);
      assert.deepEqual(json(await cli(admin, ['api-token', 'revoke', token.id as string, '--json'])), { id: token.id, revoked: true });

      const usage = json(await cli(admin, ['usage', '--account', id, '--days', '2', '--json']));
      assert.equal((usage.days as unknown[]).length, 2);
      assert.equal(usage.accountId, acct.id);
      assert.equal((json(await cli(admin, ['usage', '--json'])).days as unknown[]).length, 7);

      assert.deepEqual(json(await cli(admin, ['app', 'delete', app.appId as string, '--yes', '--json'])), { appId: app.appId, deleted: true });
      assert.deepEqual(json(await cli(admin, ['account', 'delete', id, '--yes', '--json'])), { id: acct.id, deleted: true });
      assert.equal(await t.core.accounts.get(acct.id as number), null);
      const gone = await cli(admin, ['account', 'show', id]);
      assert.equal(gone.code, 3);
      assert.deepEqual(errors(gone), [`tokend: account ${id} does not exist`]);
    });

    it('answers as the database mode answers: the same JSON keys for the same records', async () => {
      const local = { TOKEND_DATA_DIR: t.db.dataDir, TOKEND_DATABASE_URL: t.db.url };
      const acct = json(await cli(admin, ['account', 'create', '--email', `same-${kind}@example.com`, '--password', 'same-password-1', '--json']));
      const id = String(acct.id);
      const sa = json(await cli(admin, ['service-account', 'create', '--account', id, '--name', 'same', '--actions', 'x', '--json']));
      await cli(admin, ['key', 'create', '--service-account', String(sa.id)]);
      const token = json(await cli(admin, ['api-token', 'create', '--account', id, '--json']));
      for (const args of [
        ['account', 'show', id],
        ['account', 'list', '--email', `same-${kind}@example.com`],
        ['service-account', 'show', String(sa.id)],
        ['service-account', 'list', '--account', id],
        ['key', 'list', '--service-account', String(sa.id)],
        ['api-token', 'show', token.id as string],
        ['api-token', 'list', '--account', id],
        ['usage', '--account', id, '--days', '3'],
      ]) {
        const overHttp = json(await cli(admin, [...args, '--json']));
        const onDb = json(await cli(local, [...args, '--json']));
        assert.deepEqual(overHttp, onDb, args.join(' '));
        const tableHttp = await cli(admin, args);
        const tableDb = await cli(local, args);
        assert.deepEqual(tableHttp.out, tableDb.out, `${args.join(' ')} (table)`);
      }
    });

    it('with an operator key: what its permissions allow, a clear refusal (4) for the rest, and never operator keys', async () => {
      const created = json(await cli(admin, ['operator-key', 'create', '--name', 'billing', '--permission', 'accounts:read', '--permission', 'tokens:write', '--expires-in', '1d', '--json']));
      assert.deepEqual(Object.keys(created), ['id', 'key', 'name', 'permissions', 'expiresAt']);
      assert.match(created.key as string, /^tdp_/);
      assert.deepEqual(created.permissions, ['accounts:read', 'tokens:write']);
      const listed = json(await cli(admin, ['operator-key', 'list', '--json']));
      const entry = (listed.operatorKeys as { id: string; hint: string }[]).find((k) => k.id === created.id);
      assert.ok(entry, 'listed');
      assert.ok(!JSON.stringify(listed).includes(created.key as string), 'a list never shows a key');
      // The same list on the database.
      const onDb = json(await cli({ TOKEND_DATA_DIR: t.db.dataDir, TOKEND_DATABASE_URL: t.db.url }, ['operator-key', 'list', '--json']));
      assert.deepEqual(onDb, listed);
      assert.equal((listed.operatorKeys as { id: string; status: string }[]).find((k) => k.id === created.id)?.status, 'active');
      const table = await cli(admin, ['operator-key', 'list']);
      assert.match(table.out[0]!, /^ID +NAME +HINT +STATUS +LAST USED +EXPIRES +PERMISSIONS$/);

      const key = { TOKEND_URL: t.url, TOKEND_ADMIN_TOKEN: created.key as string };
      const acct = json(await cli(admin, ['account', 'create', '--email', `billing-${kind}@example.com`, '--password', 'billing-password-1', '--json']));
      assert.equal(json(await cli(key, ['account', 'show', String(acct.id), '--json'])).id, acct.id);
      const token = json(await cli(key, ['api-token', 'create', '--account', String(acct.id), '--json']));
      assert.equal((await t.core.apiTokens.verify(token.token as string)).ok, true);
      for (const [args, message] of [
        [['account', 'create', '--email', `no-${kind}@example.com`, '--password', 'no-password-1'], /this operator key lacks the permission accounts:write \(permission_denied, HTTP 403\)/],
        [['service-account', 'list', '--account', String(acct.id)], /lacks the permission service-accounts:read/],
        [['operator-key', 'list'], /only the admin token may do this, not an operator key/],
        [['operator-key', 'create', '--name', 'x', '--permission', 'accounts:read'], /only the admin token may do this/],
      ] as const) {
        const r = await cli(key, [...args]);
        assert.equal(r.code, 4, `${args.join(' ')}: ${r.err.join('\n')}`);
        assert.match(errors(r).join('\n'), message);
        assert.ok(![...r.out, ...r.err].join('\n').includes(created.key as string), 'the key is never printed');
      }
      assert.equal(await t.core.accounts.findByEmail(`no-${kind}@example.com`), null, 'the refused command changed nothing');

      assert.deepEqual(json(await cli(admin, ['operator-key', 'revoke', created.id as string, '--json'])), { id: created.id, revoked: true });
      const revoked = await cli(key, ['account', 'show', String(acct.id)]);
      assert.equal(revoked.code, 4, revoked.err.join('\n'));
      assert.match(errors(revoked)[0]!, /did not accept the token/);
    });

    it('a repeated create with the same --idempotency-key gives the first answer, not a second record', async () => {
      const args = ['account', 'create', '--email', `once-${kind}@example.com`, '--password', 'once-password-1', '--idempotency-key', `once-${kind}`, '--json'];
      const first = json(await cli(admin, args));
      const second = json(await cli(admin, args));
      assert.deepEqual(second, first);
      const other = await cli(admin, ['account', 'create', '--email', `twice-${kind}@example.com`, '--password', 'once-password-1', '--idempotency-key', `once-${kind}`]);
      assert.equal(other.code, 4, other.err.join('\n'));
      assert.match(errors(other)[0]!, /idempotency_conflict/);
      const local = await cli({ TOKEND_DATA_DIR: t.db.dataDir, TOKEND_DATABASE_URL: t.db.url }, args);
      assert.equal(local.code, 2);
      assert.match(errors(local)[0]!, /--idempotency-key is for --url/);
    });

    it('conflicts and malformed input over HTTP: a taken email 4, a bad duration never sent (2), an unknown id 3', async () => {
      await cli(admin, ['account', 'create', '--email', `taken-${kind}@example.com`, '--password', 'taken-password-1']);
      const dup = await cli(admin, ['account', 'create', '--email', `taken-${kind}@example.com`, '--password', 'taken-password-1']);
      assert.equal(dup.code, 4, dup.err.join('\n'));
      assert.match(errors(dup)[0]!, /already exists/);
      const bare = await cli(admin, ['api-token', 'create', '--account', '1', '--expires-in', '90']);
      assert.equal(bare.code, 2);
      assert.deepEqual(bare.err.filter((l) => l.startsWith('tokend: using')), [], 'refused before any request');
      const unknown = await cli(admin, ['api-token', 'show', '0190aaaa-0000-7000-8000-000000000000']);
      assert.equal(unknown.code, 3);
      assert.deepEqual(errors(unknown), ['tokend: API token 0190aaaa-0000-7000-8000-000000000000 does not exist']);
    });

    it('a duration is sent the one way every admin route reads it, whatever way it was written', async () => {
      const acct = json(await cli(admin, ['account', 'create', '--email', `units-${kind}@example.com`, '--password', 'units-password-1', '--json']));
      const startedAt = Date.now();
      const key = json(await cli(admin, ['operator-key', 'create', '--name', 'units', '--permission', 'accounts:read', '--expires-in', '0010d', '--json']));
      assert.ok(Math.abs((key.expiresAt as number) - (startedAt + 10 * 86_400_000)) < 10_000, String(key.expiresAt));
      const token = json(await cli(admin, ['api-token', 'create', '--account', String(acct.id), '--expires-in', '86400s', '--json']));
      const stored = await t.core.apiTokens.get(token.id as string);
      assert.ok(Math.abs(stored!.expiresAt! - (startedAt + 86_400_000)) < 10_000);
      const rotated = json(await cli(admin, ['api-token', 'rotate', token.id as string, '--grace', '0s', '--json']));
      assert.notEqual((await t.core.apiTokens.get(token.id as string))!.revokedAt, null, 'no grace: the old token stopped at once');
      assert.equal((await t.core.apiTokens.get(rotated.id as string))!.revokedAt, null);
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
      const env = { PATH: process.env.PATH ?? '', HOME: elsewhere, ...RUNTIME_ENV, TOKEND_URL: child.url!, TOKEND_ADMIN_TOKEN: adminToken };
      const { stdout, stderr } = await run(process.execPath, [BIN, 'account', 'create', '--email', `child-${kind}@example.com`, '--password', 'child-password-1', '--json'], { cwd: elsewhere, env });
      const created = JSON.parse(stdout) as { id: number; uid: string; email: string };
      assert.deepEqual(Object.keys(created), ['id', 'uid', 'email']);
      assert.equal(stderr.trim(), `tokend: using the admin API at ${child.url}`);
      const shown = await run(process.execPath, [BIN, 'account', 'show', String(created.id)], { cwd: elsewhere, env });
      assert.match(shown.stdout, new RegExp(`^ +email: +child-${kind}@example\\.com$`, 'm'));
      assert.match(shown.stdout, /^ +created: +\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/m);
      const disabled = await run(process.execPath, [BIN, 'account', 'disable', String(created.id)], { cwd: elsewhere, env });
      assert.equal(disabled.stdout, `account ${created.id} disabled\n`);
      assert.equal(existsSync(join(elsewhere, 'data')), false, 'no ./data beside the client');
      // The server's own output never carries the admin token the client sent.
      assert.ok(!child.output.join('\n').includes(adminToken));
    });
  });
}
