/**
 * The `tokend` command on the database itself (no --url), on SQLite and PostgreSQL: it opens only
 * a database that exists and says which, refuses a bare number for a duration, prints one JSON
 * object for every command with --json (times in Unix milliseconds), tables with a header row, and
 * exit codes that tell a usage error (2) from a missing record (3), a refusal (4) and a failure (1).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import type { CliIO } from '../src/cli/context.ts';
import { main } from '../src/main.ts';
import { RUNTIME_ENV } from './helpers/child.ts';
import { createTestDatabase, databases, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';

const run = promisify(execFile);
const BIN = new URL('../bin/tokend.js', import.meta.url).pathname;

interface Ran {
  code: number;
  out: string[];
  err: string[];
}

async function cli(env: Record<string, string | undefined>, args: string[], stdin?: string): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), env, ...(stdin !== undefined ? { stdin: async () => stdin } : {}) };
  const code = await main(args, io);
  return { code, out, err };
}

/** The one JSON object a --json command printed (and nothing else on stdout). */
function json(r: Ran): Record<string, unknown> {
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.equal(r.out.length, 1, `one line on stdout: ${r.out.join('\n')}`);
  const value = JSON.parse(r.out[0]!) as unknown;
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), r.out[0]);
  return value as Record<string, unknown>;
}

/** The error lines, without the note naming the database. */
function errors(r: Ran): string[] {
  return r.err.filter((l) => !l.startsWith('tokend: using '));
}

/** A well-formed id that names nothing. */
const UNKNOWN = '0190aaaa-0000-7000-8000-000000000000';

const ISO = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\b/;
/** A Unix-millisecond time within a day of now. */
function assertMs(value: unknown, what: string): void {
  assert.equal(typeof value, 'number', `${what}: ${String(value)}`);
  assert.ok(Math.abs((value as number) - Date.now()) < 86_400_000 * 400, `${what} is Unix milliseconds: ${String(value)}`);
  assert.ok((value as number) > 1e12, `${what} is in milliseconds, not seconds: ${String(value)}`);
}

describe('tokend outside the server\'s data directory', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tokend-elsewhere-'));
  after(() => rmSync(cwd, { recursive: true, force: true }));

  it('refuses to create ./data, names the path and the fix, and creates nothing', async () => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: cwd, ...RUNTIME_ENV };
    let failed: { code: number; stdout: string; stderr: string } | null = null;
    try {
      await run(process.execPath, [BIN, 'account', 'create', '--email', 'lost@example.com', '--password', 'lost-password-1'], { cwd, env });
    } catch (e) {
      failed = e as { code: number; stdout: string; stderr: string };
    }
    assert.ok(failed, 'the command fails');
    assert.equal(failed.code, 2, failed.stderr);
    assert.equal(failed.stdout, '');
    assert.match(failed.stderr, new RegExp(`no tokend database at ${join(cwd, 'data', 'tokend.db').replaceAll('.', '\\.')}`));
    assert.match(failed.stderr, /--data-dir/);
    assert.match(failed.stderr, /TOKEND_DATA_DIR/);
    assert.match(failed.stderr, /--url/);
    assert.match(failed.stderr, /tokend migrate/);
    assert.deepEqual(readdirSync(cwd), [], 'no data directory, no database file');
  });
});

for (const kind of databases()) {
  describe(`tokend on the database (${kind})`, () => {
    let t: TestTokend;
    let env: Record<string, string | undefined>;
    let accountId: number;
    before(async () => {
      t = await startTokend({ db: kind });
      env = { TOKEND_DATA_DIR: t.db.dataDir, TOKEND_DATABASE_URL: t.db.url };
      const created = json(await cli(env, ['account', 'create', '--email', `local-${kind}@example.com`, '--password', 'local-password-1', '--name', 'Local', '--json']));
      accountId = created.id as number;
    });
    after(async () => t.close());

    it('says on stderr which database it opened', async () => {
      const r = await cli(env, ['account', 'show', String(accountId)]);
      assert.equal(r.code, 0, r.err.join('\n'));
      const note = r.err.find((l) => l.startsWith('tokend: using '));
      if (kind === 'sqlite') assert.equal(note, `tokend: using the SQLite database ${join(t.db.dataDir, 'tokend.db')}`);
      else assert.equal(note, `tokend: using the PostgreSQL database ${t.db.url}`);
      assert.ok(r.out.every((l) => !l.startsWith('tokend: using')), 'the note is not part of the answer');
    });

    it('refuses a database that is not a tokend database, and leaves it untouched', async () => {
      const empty: TestDatabase = await createTestDatabase(kind);
      try {
        const bare = { TOKEND_DATA_DIR: empty.dataDir, TOKEND_DATABASE_URL: empty.url };
        for (const args of [['account', 'list'], ['signing-key', 'rotate'], ['resource-server', 'list']]) {
          const r = await cli(bare, args);
          assert.equal(r.code, 2, `${args.join(' ')}: ${r.err.join('\n')}`);
          assert.equal(r.err.length, 1, r.err.join('\n'));
          assert.match(r.err[0]!, kind === 'sqlite' ? /no tokend database at .*tokend\.db \(SQLite, from TOKEND_DATA_DIR\)/ : /PostgreSQL database .* has no tokend tables/);
          assert.match(r.err[0]!, /tokend migrate/);
        }
        if (kind === 'sqlite') {
          assert.equal(existsSync(join(empty.dataDir, 'tokend.db')), false, 'no file created');
        } else {
          const c = new pg.Client({ connectionString: empty.url });
          await c.connect();
          const tables = await c.query(`select count(*)::int as n from information_schema.tables where table_schema = current_schema()`);
          await c.end();
          assert.equal(tables.rows[0].n, 0, 'no table created');
        }
        // migrate makes it one; then the same command works.
        const migrated = json(await cli(bare, ['migrate', '--json']));
        assert.ok((migrated.applied as string[]).includes('0001_initial'));
        assert.equal((await cli(bare, ['account', 'list'])).code, 0);
      } finally {
        await empty.drop();
      }
    });

    if (kind === 'postgres') {
      it('never prints the password of the database URL', async () => {
        const url = new URL(t.db.url);
        url.password = 'not-for-eyes';
        const r = await cli({ TOKEND_DATABASE_URL: url.toString() }, ['account', 'show', String(accountId)]);
        // The test cluster trusts local connections: the password is not needed, only carried.
        assert.equal(r.code, 0, r.err.join('\n'));
        assert.ok(!r.err.join('\n').includes('not-for-eyes'), r.err.join('\n'));
        assert.ok(!r.out.join('\n').includes('not-for-eyes'));
      });
    }

    it('a duration needs its unit: a bare number is a usage error naming the option and the grammar', async () => {
      const sa = json(await cli(env, ['service-account', 'create', '--account', String(accountId), '--name', 'durations', '--actions', 'a', '--json']));
      for (const [args, option] of [
        [['api-token', 'create', '--account', String(accountId), '--expires-in', '90'], '--expires-in'],
        [['key', 'create', '--service-account', String(sa.id), '--expires-in', '3600'], '--expires-in'],
        [['api-token', 'rotate', UNKNOWN, '--grace', '24'], '--grace'],
        [['account', 'reset-link', String(accountId), '--expires-in', '60'], '--expires-in'],
        [['operator-key', 'create', '--name', 'x', '--permission', 'accounts:read', '--expires-in', '7'], '--expires-in'],
        [['api-token', 'create', '--account', String(accountId), '--expires-in', '90 d'], '--expires-in'],
        [['api-token', 'create', '--account', String(accountId), '--expires-in', '1w'], '--expires-in'],
      ] as const) {
        const r = await cli(env, [...args]);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.err.join('\n')}`);
        assert.equal(errors(r).length, 1, r.err.join('\n'));
        assert.match(errors(r)[0]!, new RegExp(`${option} must be a duration, a whole number and a unit: s, m, h or d \\(90s, 15m, 24h, 90d\\)`));
        assert.deepEqual(r.out, []);
      }
      // Nothing was created by the refused commands.
      assert.equal((await t.core.apiTokens.listByAccount(accountId)).length, 0);
      assert.equal((await t.core.serviceAccounts.listKeys(sa.id as number)).length, 0);

      // Seconds are a unit like the others: a key for 10 s, a token for 90 s.
      const startedAt = Date.now();
      const key = json(await cli(env, ['key', 'create', '--service-account', String(sa.id), '--expires-in', '10s', '--json']));
      assert.ok(Math.abs((key.expiresAt as number) - (startedAt + 10_000)) < 5000, `expiresAt ${String(key.expiresAt)}`);
      const token = json(await cli(env, ['api-token', 'create', '--account', String(accountId), '--expires-in', '90s', '--json']));
      const stored = await t.core.apiTokens.get(token.id as string);
      assert.ok(Math.abs(stored!.expiresAt! - (startedAt + 90_000)) < 5000);
    });

    it('--json prints one object for every command, with the id each next command needs and times in Unix ms', async () => {
      const acct = json(await cli(env, ['account', 'create', '--email', `json-${kind}@example.com`, '--password', 'json-password-1', '--json']));
      assert.deepEqual(Object.keys(acct), ['id', 'uid', 'email']);
      const id = String(acct.id);

      const shown = json(await cli(env, ['account', 'show', id, '--json']));
      assert.equal(shown.id, acct.id);
      assertMs(shown.createdAt, 'account createdAt');
      const listed = json(await cli(env, ['account', 'list', '--email', `JSON-${kind}@example.com`, '--json']));
      assert.deepEqual((listed.accounts as { id: number }[]).map((a) => a.id), [acct.id]);
      assert.equal(listed.nextCursor, null);
      assert.deepEqual(json(await cli(env, ['account', 'disable', id, '--json'])), { id: acct.id, status: 'disabled' });
      assert.equal((await t.core.accounts.get(acct.id as number))!.status, 'disabled');
      const disabledOnly = json(await cli(env, ['account', 'list', '--status', 'disabled', '--json']));
      assert.ok((disabledOnly.accounts as { id: number; status: string }[]).every((a) => a.status === 'disabled'));
      assert.ok((disabledOnly.accounts as { id: number }[]).some((a) => a.id === acct.id));
      assert.deepEqual(json(await cli(env, ['account', 'enable', id, '--json'])), { id: acct.id, status: 'active' });

      const app = json(await cli(env, ['app', 'create', '--account', id, '--name', 'json app', '--json']));
      assert.deepEqual(Object.keys(app), ['appId']);
      const apps = json(await cli(env, ['app', 'list', '--account', id, '--json']));
      assert.deepEqual((apps.apps as { appId: string }[]).map((a) => a.appId), [app.appId]);

      const sa = json(await cli(env, ['service-account', 'create', '--account', id, '--name', 'robot', '--actions', 'a,b', '--json']));
      assert.deepEqual(Object.keys(sa), ['id']);
      const updated = json(await cli(env, ['service-account', 'update', String(sa.id), '--actions', 'c', '--json']));
      assert.deepEqual(updated.actions, ['c']);
      assert.deepEqual(json(await cli(env, ['service-account', 'disable', String(sa.id), '--json'])), { id: sa.id, status: 'disabled' });
      assert.deepEqual(json(await cli(env, ['service-account', 'enable', String(sa.id), '--json'])), { id: sa.id, status: 'active' });
      const key = json(await cli(env, ['key', 'create', '--service-account', String(sa.id), '--json']));
      assert.deepEqual(Object.keys(key), ['keyId', 'accessKey', 'secretKey', 'expiresAt']);
      const keys = json(await cli(env, ['key', 'list', '--service-account', String(sa.id), '--json']));
      assert.deepEqual((keys.keys as { id: number }[]).map((k) => k.id), [key.keyId]);
      assert.ok(!JSON.stringify(keys).includes(key.secretKey as string), 'a list never shows a Secret Key');
      assert.deepEqual(json(await cli(env, ['key', 'revoke', String(key.keyId), '--service-account', String(sa.id), '--json'])), { keyId: key.keyId, revoked: true });
      assert.notEqual((await t.core.serviceAccounts.getKey(key.keyId as number))!.revokedAt, null);
      const shownSa = json(await cli(env, ['service-account', 'show', String(sa.id), '--json']));
      assert.equal((shownSa.keys as { status: string }[])[0]!.status, 'revoked');
      const sas = json(await cli(env, ['service-account', 'list', '--account', id, '--json']));
      assert.deepEqual((sas.serviceAccounts as { id: number }[]).map((s) => s.id), [sa.id]);

      const token = json(await cli(env, ['api-token', 'create', '--account', id, '--format', 'native', '--label', 'json', '--json']));
      assert.deepEqual(Object.keys(token), ['id', 'token', 'format']);
      const tokenShown = json(await cli(env, ['api-token', 'show', token.id as string, '--json']));
      assert.equal(tokenShown.status, 'active');
      assertMs(tokenShown.createdAt, 'token createdAt');
      const rotated = json(await cli(env, ['api-token', 'rotate', token.id as string, '--grace', '1h', '--json']));
      assert.deepEqual(Object.keys(rotated), ['id', 'token', 'format']);
      const graced = json(await cli(env, ['api-token', 'list', '--account', id, '--status', 'grace', '--json']));
      assert.deepEqual((graced.tokens as { id: string }[]).map((x) => x.id), [token.id]);
      assertMs((graced.tokens as { expiresAt: number }[])[0]!.expiresAt, 'grace expiresAt');
      assert.deepEqual(json(await cli(env, ['api-token', 'revoke', rotated.id as string, '--json'])), { id: rotated.id, revoked: true });

      // A session through the ChatApp login, then the session commands.
      const login = await t.core.accounts.passwordLogin({ email: `json-${kind}@example.com`, password: 'json-password-1', appId: app.appId as string }, { address: 'test' });
      assert.ok(login.ok);
      const sessions = json(await cli(env, ['session', 'list', '--account', id, '--json']));
      assert.deepEqual((sessions.sessions as { id: string }[]).map((s) => s.id), [login.pair.session.id]);
      assert.equal(sessions.total, 1);
      assertMs((sessions.sessions as { createdAt: number }[])[0]!.createdAt, 'session createdAt');
      assert.deepEqual(json(await cli(env, ['session', 'revoke', login.pair.session.id, '--json'])), { id: login.pair.session.id, revoked: true });
      assert.deepEqual(json(await cli(env, ['session', 'revoke-all', '--account', id, '--json'])), { accountId: acct.id, revoked: 0 });

      const usage = json(await cli(env, ['usage', '--account', id, '--days', '3', '--json']));
      assert.equal((usage.days as unknown[]).length, 3);
      assertMs((usage.days as { day: number }[])[2]!.day, 'usage day');

      const rotation = json(await cli(env, ['signing-key', 'rotate', '--json']));
      assertMs(rotation.activatesAt, 'activatesAt');
      const signingKeys = json(await cli(env, ['signing-key', 'list', '--json']));
      assert.ok((signingKeys.keys as { kid: string }[]).some((k) => k.kid === rotation.kid));

      const server = json(await cli(env, ['resource-server', 'create', '--name', 'json api', '--json']));
      assert.deepEqual(Object.keys(server), ['id', 'name', 'token']);
      assert.ok((json(await cli(env, ['resource-server', 'list', '--json'])).servers as { id: string }[]).some((s) => s.id === server.id));
      assert.deepEqual(json(await cli(env, ['resource-server', 'revoke', server.id as string, '--json'])), { id: server.id, revoked: true });

      assert.deepEqual(json(await cli(env, ['migrate', '--json'])).applied, []);
    });

    it('what the admin API does to records, the database mode does through core', async () => {
      const acct = json(await cli(env, ['account', 'create', '--email', `core-${kind}@example.com`, '--password', 'core-password-1', '--json']));
      const id = String(acct.id);
      const updated = json(await cli(env, ['account', 'update', id, '--name', 'Core', '--email', `core2-${kind}@example.com`, '--json']));
      assert.equal(updated.name, 'Core');
      assert.equal((await t.core.accounts.get(acct.id as number))?.email, `core2-${kind}@example.com`);
      const taken = await cli(env, ['account', 'update', id, '--email', `local-${kind}@example.com`]);
      assert.equal(taken.code, 4, taken.err.join('\n'));
      assert.deepEqual(errors(taken), ['tokend: another account has this email']);
      assert.deepEqual(json(await cli(env, ['account', 'set-password', id, '--password', 'core-password-2', '--json'])), { id: acct.id, passwordSet: true });
      const app = json(await cli(env, ['app', 'create', '--account', id, '--name', 'core app', '--json']));
      const login = await t.core.accounts.passwordLogin({ email: `core2-${kind}@example.com`, password: 'core-password-2', appId: app.appId as string }, { address: 'test' });
      assert.ok(login.ok, 'the new password works');
      assert.equal(json(await cli(env, ['app', 'rename', app.appId as string, '--name', 'renamed', '--json'])).name, 'renamed');
      assert.deepEqual(json(await cli(env, ['app', 'delete', app.appId as string, '--yes', '--json'])), { appId: app.appId, deleted: true });
      assert.deepEqual((await t.core.accounts.listApps(acct.id as number)).length, 0);
      const sa = json(await cli(env, ['service-account', 'create', '--account', id, '--name', 'core robot', '--actions', 'a', '--json']));
      const saUpdated = json(await cli(env, ['service-account', 'update', String(sa.id), '--name', 'renamed robot', '--json']));
      assert.equal(saUpdated.name, 'renamed robot');
      assert.deepEqual(saUpdated.actions, ['a']);
      assert.equal((json(await cli(env, ['usage', '--days', '5', '--json'])).days as unknown[]).length, 5);

      // Operator keys: the host's shell is the operator; the key it makes works against the server.
      const opKey = json(await cli(env, ['operator-key', 'create', '--name', 'from the host', '--permission', 'accounts:read', '--json']));
      assert.match(opKey.key as string, /^tdp_/);
      const res = await t.app.inject({ method: 'GET', url: `/api/admin/accounts/${id}`, headers: { authorization: `Bearer ${opKey.key as string}` } });
      assert.equal(res.statusCode, 200, res.body);
      assert.ok((json(await cli(env, ['operator-key', 'list', '--json'])).operatorKeys as { id: string }[]).some((k) => k.id === opKey.id));
      assert.deepEqual(json(await cli(env, ['operator-key', 'revoke', opKey.id as string, '--json'])), { id: opKey.id, revoked: true });

      assert.deepEqual(json(await cli(env, ['account', 'delete', id, '--yes', '--json'])), { id: acct.id, deleted: true });
      assert.equal(await t.core.accounts.get(acct.id as number), null);
      const gone = await cli(env, ['account', 'delete', id, '--yes']);
      assert.equal(gone.code, 3);
      assert.deepEqual(errors(gone), [`tokend: account ${id} does not exist`]);
    });

    it('--password-stdin keeps the password off the command line', async () => {
      const created = json(await cli(env, ['account', 'create', '--email', `stdin-${kind}@example.com`, '--password-stdin', '--json'], 'stdin-password-1\nignored\n'));
      const app = json(await cli(env, ['app', 'create', '--account', String(created.id), '--name', 'stdin', '--json']));
      const login = await t.core.accounts.passwordLogin({ email: `stdin-${kind}@example.com`, password: 'stdin-password-1', appId: app.appId as string }, { address: 'test' });
      assert.ok(login.ok, 'the first line of stdin is the password');
      for (const [args, stdin, message] of [
        [['account', 'create', '--email', 'x@example.com'], undefined, /the password is required: --password P, or --password-stdin/],
        [['account', 'create', '--email', 'x@example.com', '--password', 'p-123456789', '--password-stdin'], 'x\n', /not both/],
        [['account', 'create', '--email', 'x@example.com', '--password-stdin'], '', /--password-stdin read no password/],
      ] as const) {
        const r = await cli(env, [...args], stdin);
        assert.equal(r.code, 2, r.err.join('\n'));
        assert.match(errors(r).join('\n'), message);
      }
    });

    it('lists are tables with a header row, times in ISO 8601', async () => {
      await cli(env, ['api-token', 'create', '--account', String(accountId), '--label', 'table']);
      const sa = json(await cli(env, ['service-account', 'create', '--account', String(accountId), '--name', 'tables', '--actions', 'x', '--json']));
      await cli(env, ['key', 'create', '--service-account', String(sa.id)]);
      for (const [args, header] of [
        [['account', 'list'], /^ID +EMAIL +STATUS +NAME +CREATED +UID$/],
        [['api-token', 'list', '--account', String(accountId)], /^ID +FORMAT +HINT +STATUS +CREATED +LAST USED +EXPIRES +LABEL$/],
        [['service-account', 'list', '--account', String(accountId)], /^ID +STATUS +NAME +KEYS +CREATED +LAST USED +ACTIONS$/],
        [['key', 'list', '--service-account', String(sa.id)], /^KEY ID +ACCESS KEY +SECRET KEY +STATUS +CREATED +LAST USED +EXPIRES$/],
        [['signing-key', 'list'], /^KID +ALG +STATE +SIGNS FROM +SIGNS UNTIL +PUBLISHED UNTIL$/],
        [['usage', '--account', String(accountId)], /^DAY +CHECKS$/],
      ] as const) {
        const r = await cli(env, [...args]);
        assert.equal(r.code, 0, r.err.join('\n'));
        assert.match(r.out[0]!, header, `${args.join(' ')}:\n${r.out.join('\n')}`);
        assert.ok(r.out.length >= 2, `${args.join(' ')} has rows`);
        if (args[0] !== 'usage') assert.match(r.out[1]!, ISO, `${args.join(' ')}: ISO times`);
      }
      const shown = await cli(env, ['account', 'show', String(accountId)]);
      assert.match(shown.out.join('\n'), new RegExp(`created: ${ISO.source}`));
      const empty = await cli(env, ['app', 'list', '--account', String(accountId)]);
      assert.deepEqual(empty.out, [`account ${accountId} has no apps`]);
    });

    it('exit codes: 2 usage, 3 not found, 4 refused, each with one grammatical line', async () => {
      const token = json(await cli(env, ['api-token', 'create', '--account', String(accountId), '--json']));
      await cli(env, ['api-token', 'revoke', token.id as string]);
      for (const [code, args, message] of [
        [2, ['account', 'show', 'abc'], /^tokend: account id must be a numeric id/],
        [2, ['account', 'list', '--status', 'gone'], /^tokend: --status must be active or disabled/],
        [2, ['account', 'create', '--email', 'not-an-email', '--password', 'long-enough-1'], /^tokend: --email must be an email address$/],
        [2, ['account', 'reset-link', String(accountId)], /^tokend: `tokend account reset-link` works only through a running tokend's admin API: pass --url/],
        [2, ['account', 'delete', String(accountId)], /^tokend: account delete removes account \d+ and everything it owns for good: add --yes to confirm$/],
        [2, ['account', 'list', '--cursor', 'garbage'], /^tokend: --cursor is not a cursor/],
        [2, ['account', 'list', '--token', 'tdm_x'], /^tokend: --token is for --url/],
        [3, ['account', 'show', '987654'], /^tokend: account 987654 does not exist$/],
        [3, ['app', 'create', '--account', '987654', '--name', 'x'], /^tokend: account 987654 does not exist$/],
        [3, ['service-account', 'disable', '987654'], /^tokend: service account 987654 does not exist$/],
        [2, ['api-token', 'show', 'no-such-token'], /^tokend: API token id must be an id as a list shows it \(hex digits and dashes\), got "no-such-token"$/],
        [3, ['api-token', 'show', UNKNOWN], new RegExp(`^tokend: API token ${UNKNOWN} does not exist$`)],
        [3, ['session', 'revoke', UNKNOWN], new RegExp(`^tokend: session ${UNKNOWN} does not exist or has already ended$`)],
        [4, ['api-token', 'revoke', token.id as string], /^tokend: API token .* is already revoked$/],
        [4, ['account', 'create', '--email', `local-${kind}@example.com`, '--password', 'local-password-1'], /^tokend: an account with this email already exists$/],
        [4, ['api-token', 'rotate', token.id as string], /^tokend: API token .* cannot be rotated: it is already revoked, replaced or expired$/],
      ] as const) {
        const r = await cli(env, [...args]);
        assert.equal(r.code, code, `${args.join(' ')}: ${r.err.join('\n')}`);
        assert.equal(errors(r).length, 1, r.err.join('\n'));
        assert.match(errors(r)[0]!, message);
        assert.deepEqual(r.out, []);
      }
      // commander's own usage errors (unknown option, missing argument) are 2 as well.
      assert.equal((await cli(env, ['account', 'list', '--no-such-option'])).code, 2);
      assert.equal((await cli(env, ['account', 'create', '--email', 'x@example.com'])).code, 2);
      assert.equal((await cli(env, ['no-such-command'])).code, 2);
    });

    it('exit code 1 when the database cannot be reached', { skip: kind === 'sqlite' ? 'an unreachable server is a PostgreSQL case' : false }, async () => {
      const url = new URL(t.db.url);
      url.port = '1';
      const r = await cli({ TOKEND_DATABASE_URL: url.toString() }, ['account', 'list']);
      assert.equal(r.code, 1, r.err.join('\n'));
      assert.equal(r.err.length, 1, r.err.join('\n'));
      assert.match(r.err[0]!, /^tokend: /);
    });
  });
}

describe('tokend --help', () => {
  it('documents where commands run, the units and the exit codes', async () => {
    const r = await cli({}, ['--help']);
    assert.equal(r.code, 0);
    const help = r.out.join('\n');
    for (const text of ['--url', 'TOKEND_ADMIN_TOKEN', 'only serve and migrate create a database', 'Unix milliseconds with --json', 'ISO 8601', '90s, 15m, 24h, 90d']) {
      assert.ok(help.includes(text), `${text} in --help`);
    }
    for (const [code, what] of [['0', 'done'], ['1', 'failure'], ['2', 'usage'], ['3', 'not found'], ['4', 'refused']]) {
      assert.match(help, new RegExp(`^ +${code} +${what}`, 'm'));
    }
    for (const group of ['account', 'app', 'service-account', 'key', 'api-token', 'session', 'usage', 'operator-key', 'signing-key', 'resource-server', 'serve', 'migrate']) {
      assert.match(help, new RegExp(`^ +${group}\\b`, 'm'), `${group} listed`);
    }
  });

  it('every command that answers takes --json', async () => {
    const groups: Record<string, string[]> = {
      account: ['create', 'list', 'show', 'update', 'disable', 'enable', 'delete', 'set-password', 'reset-link'],
      app: ['create', 'list', 'rename', 'delete'],
      'service-account': ['create', 'list', 'show', 'update', 'disable', 'enable'],
      key: ['create', 'list', 'revoke'],
      'api-token': ['create', 'list', 'show', 'rotate', 'revoke'],
      session: ['list', 'revoke', 'revoke-all'],
      'operator-key': ['create', 'list', 'revoke'],
      'signing-key': ['rotate', 'list'],
      'resource-server': ['create', 'list', 'revoke'],
    };
    for (const [group, commands] of Object.entries(groups)) {
      for (const command of commands) {
        const r = await cli({}, [group, command, '--help']);
        assert.equal(r.code, 0, `${group} ${command}`);
        assert.match(r.out.join('\n'), /--json/, `${group} ${command} --help lists --json`);
      }
    }
    for (const single of [['usage'], ['migrate']]) assert.match((await cli({}, [...single, '--help'])).out.join('\n'), /--json/);
  });
});
