/**
 * Accounts in the admin API (docs/admin-api.md), on SQLite and PostgreSQL: list with filters and
 * cursor paging, create, read, update (409 `email_taken`), disable and enable, delete (everything
 * the account owns goes, its tokens stop working at once, the audit log stays), set a password,
 * one-time reset links, and the cabinet's own password change. Bad input gets 4xx, never a 500.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { ManualClock } from '../src/core/clock.ts';
import { newToken } from '../src/secrets/tokens.ts';
import { adminCaller } from './helpers/admin.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { listTables } from './helpers/db-inspect.ts';
import { seedServiceKey } from './helpers/hoster.ts';

const ADMIN_TOKEN = testAdminToken();
const HOST = 'tokend.test';
const CTX = { address: 'test' };
const PASSWORD = 'correct horse battery';

interface Browser {
  cookie: string;
  csrf: string;
}

for (const db of databases()) {
  describe(`admin API: accounts (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let admin: ReturnType<typeof adminCaller>;
    let seq = 0;
    const email = (tag: string): string => `${tag}-${++seq}-${db}@example.com`;

    before(async () => {
      t = await startTokend({ db, clock, config: { adminToken: ADMIN_TOKEN, credentialMaxFailures: 1000, loginMaxFailuresPerAddress: 1000 } });
      admin = adminCaller(t, ADMIN_TOKEN);
    });
    after(async () => t.close());

    async function create(tag: string, extra: Record<string, unknown> = {}): Promise<{ id: number; email: string }> {
      const res = await admin('POST', '/api/admin/accounts', { email: email(tag), password: PASSWORD, ...extra });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    }

    async function cabinet(method: 'GET' | 'POST' | 'PUT', url: string, b: Browser | null, body?: unknown): Promise<LightMyRequestResponse> {
      const headers: Record<string, string> = { host: HOST, origin: `http://${HOST}` };
      if (b) {
        headers.cookie = b.cookie;
        headers['x-csrf-token'] = b.csrf;
      }
      if (body !== undefined) headers['content-type'] = 'application/json';
      return t.app.inject({ method, url, headers, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
    }

    async function signIn(address: string, password = PASSWORD): Promise<Browser> {
      const res = await cabinet('POST', '/api/cabinet/session', null, { email: address, password });
      assert.equal(res.statusCode, 200, res.body);
      const raw = res.headers['set-cookie'];
      const line = (Array.isArray(raw) ? raw : [raw!]).find((c) => c.startsWith('tokend_cabinet='))!;
      return { cookie: line.split(';')[0]!, csrf: res.json().csrfToken };
    }

    async function introspect(token: string): Promise<boolean> {
      const res = await t.app.inject({ method: 'POST', url: '/oauth2/introspect', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { token } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().active as boolean;
    }

    it('creates, reads, and refuses a malformed id (400) or an unknown one (404)', async () => {
      const a = await create('read', { name: 'Reader' });
      const got = await admin('GET', `/api/admin/accounts/${a.id}`);
      assert.equal(got.statusCode, 200, got.body);
      assert.equal(got.json().name, 'Reader');
      assert.equal(got.json().status, 'active');
      for (const id of ['abc', '0', '-1', '1.5', '99999999999', '0012']) {
        const res = await admin('GET', `/api/admin/accounts/${id}`);
        assert.equal(res.statusCode, 400, `${id}: ${res.body}`);
        assert.equal(res.json().error.code, 'validation_failed');
      }
      const unknown = await admin('GET', '/api/admin/accounts/2147483647');
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().error.code, 'not_found');
      for (const url of ['/api/admin/accounts/2147483647/disable', '/api/admin/accounts/2147483647/enable', '/api/admin/accounts/2147483647/password-reset']) {
        assert.equal((await admin('POST', url, {})).statusCode, 404, url);
      }
      assert.equal((await admin('DELETE', '/api/admin/accounts/2147483647')).statusCode, 404);
      assert.equal((await admin('PUT', '/api/admin/accounts/2147483647/password', { password: PASSWORD })).statusCode, 404);
      assert.equal((await admin('PATCH', '/api/admin/accounts/2147483647', { name: 'x' })).statusCode, 404);
    });

    it('lists newest first with filters (exact email, status, q) and an opaque cursor', async () => {
      const tag = `page${Date.now()}`;
      const made: { id: number; email: string }[] = [];
      for (let i = 0; i < 5; i++) made.push(await create(tag));
      await admin('POST', `/api/admin/accounts/${made[1]!.id}/disable`, {});

      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await admin('GET', `/api/admin/accounts?q=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json();
        assert.ok(body.items.length <= 2);
        seen.push(...body.items.map((a: { id: number }) => a.id));
        cursor = body.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      assert.deepEqual(seen, made.map((a) => a.id).reverse(), 'every account once, newest first');
      assert.equal(pages, 3);

      const exact = await admin('GET', `/api/admin/accounts?email=${encodeURIComponent(`  ${made[2]!.email.toUpperCase()}`)}`);
      assert.deepEqual(exact.json().items.map((a: { id: number }) => a.id), [made[2]!.id], 'exact email, normalised');
      const disabled = await admin('GET', `/api/admin/accounts?q=${tag}&status=disabled`);
      assert.deepEqual(disabled.json().items.map((a: { id: number }) => a.id), [made[1]!.id]);
      const active = await admin('GET', `/api/admin/accounts?q=${tag}&status=active`);
      assert.equal(active.json().items.length, 4);

      // The console's older paging still works.
      const first = (await admin('GET', `/api/admin/accounts?q=${tag}&limit=3`)).json();
      assert.equal(first.nextBefore, made[2]!.id);
      const second = (await admin('GET', `/api/admin/accounts?q=${tag}&before=${first.nextBefore}`)).json();
      assert.deepEqual(second.items.map((a: { id: number }) => a.id), [made[1]!.id, made[0]!.id]);
      assert.equal(second.nextBefore, null);
    });

    it('refuses bad list queries with 400: cursor not handed out, limit out of range, unknown parameter, bad status', async () => {
      for (const q of ['cursor=abc', `cursor=${Buffer.from('"x"').toString('base64url')}`, `cursor=${Buffer.from('-5').toString('base64url')}`, 'limit=0', 'limit=501', 'limit=abc', 'nope=1', 'status=gone', `q=${'a'.repeat(300)}`]) {
        const res = await admin('GET', `/api/admin/accounts?${q}`);
        assert.equal(res.statusCode, 400, `${q}: ${res.body}`);
        assert.equal(res.json().error.code, 'validation_failed');
      }
    });

    it('PATCH renames and changes the email; a taken email is 409 email_taken and nothing changes', async () => {
      const a = await create('patch', { name: 'Old' });
      const b = await create('patch');
      const renamed = await admin('PATCH', `/api/admin/accounts/${a.id}`, { name: 'New' });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().name, 'New');
      const taken = await admin('PATCH', `/api/admin/accounts/${a.id}`, { name: 'Newer', email: b.email.toUpperCase() });
      assert.equal(taken.statusCode, 409, taken.body);
      assert.equal(taken.json().error.code, 'email_taken');
      const after = (await admin('GET', `/api/admin/accounts/${a.id}`)).json();
      assert.equal(after.name, 'New', 'the name changed with a refused email');
      assert.equal(after.email, a.email);
      const moved = await admin('PATCH', `/api/admin/accounts/${a.id}`, { email: ` Fresh-${seq}-${db}@Example.com ` });
      assert.equal(moved.statusCode, 200, moved.body);
      assert.equal(moved.json().email, `fresh-${seq}-${db}@example.com`);
      const own = await admin('PATCH', `/api/admin/accounts/${a.id}`, { email: moved.json().email });
      assert.equal(own.statusCode, 200, 'its own email is not taken');
      assert.equal((await admin('PATCH', `/api/admin/accounts/${a.id}`, { name: null })).json().name, null);
      // The old email is free again.
      assert.equal((await admin('POST', '/api/admin/accounts', { email: a.email, password: PASSWORD })).statusCode, 201);
      for (const body of [{}, { email: 'not-an-email' }, { name: 'x'.repeat(201) }, { status: 'disabled' }, { name: 5 }]) {
        const res = await admin('PATCH', `/api/admin/accounts/${a.id}`, body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      }
      const audit = await t.core.accounts.activity(a.id, { limit: 20, type: 'account.updated' });
      assert.ok(audit.length >= 2);
    });

    it('disable ends its checks and sign-ins at once; enable brings the account back', async () => {
      const u = await seedAccount(t.core);
      const made = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
      const { accessToken } = made.json().data;
      assert.equal(await introspect(accessToken), true);
      assert.equal((await admin('POST', `/api/admin/accounts/${u.accountId}/disable`, {})).json().status, 'disabled');
      assert.equal(await introspect(accessToken), false);
      assert.equal((await admin('POST', `/api/admin/accounts/${u.accountId}/enable`)).json().status, 'active');
      assert.equal(await introspect(accessToken), true);
    });

    it('DELETE removes the account and all it owns; its tokens stop at once; the audit log keeps it; the email is free', async () => {
      const u = await seedAccount(t.core, { password: PASSWORD });
      const pair = (await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } })).json().data;
      const { token: apiToken, apiToken: apiRecord } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'native', label: 'x' }, CTX);
      const key = await seedServiceKey(t.core, { accountId: u.accountId });
      const service = await t.core.serviceAccounts.createTokens({ accessKey: key.accessKey, secretKey: key.secretKey }, CTX);
      assert.ok(service.ok);
      const policy = await admin('PUT', `/api/admin/api-tokens/${apiRecord.id}/policy`, { rateLimits: [{ limit: 100, windowSeconds: 60 }] });
      assert.equal(policy.statusCode, 200, policy.body);
      const appPolicy = await admin('PUT', `/api/admin/apps/${u.appId}/policy`, { rateLimits: [{ limit: 100, windowSeconds: 60 }] });
      assert.equal(appPolicy.statusCode, 200, appPolicy.body);
      const browser = await signIn(u.email);
      const reset = (await admin('POST', `/api/admin/accounts/${u.accountId}/password-reset`, {})).json();
      const tokens = [pair.accessToken, pair.refreshToken, apiToken, service.pair.accessToken, service.pair.refreshToken];
      for (const token of tokens) assert.equal(await introspect(token), true);

      const deleted = await admin('DELETE', `/api/admin/accounts/${u.accountId}`);
      assert.equal(deleted.statusCode, 200, deleted.body);
      assert.deepEqual(deleted.json(), { deleted: true });
      for (const token of tokens) assert.equal(await introspect(token), false, 'a token of the deleted account still works');
      const check = await t.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${apiToken}` } });
      assert.equal(check.statusCode, 401);
      assert.equal((await cabinet('GET', '/api/cabinet/me', browser)).statusCode, 401, 'its console sign-in survived');
      const used = await cabinet('POST', '/api/cabinet/password-reset', null, { token: new URL(reset.url).hash.slice('#token='.length), password: 'another long password' });
      assert.equal(used.statusCode, 400, 'its reset link survived');
      assert.equal((await admin('GET', `/api/admin/accounts/${u.accountId}`)).statusCode, 404);
      assert.equal((await admin('DELETE', `/api/admin/accounts/${u.accountId}`)).statusCode, 404);
      assert.equal((await admin('GET', `/api/admin/api-tokens/${apiRecord.id}/policy`)).statusCode, 404);
      assert.equal(t.core.policies.policyOf('app', u.appId), undefined, 'the app\'s rules are still in memory');
      const login = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
      assert.notEqual(login.statusCode, 200);
      const audit = await t.core.accounts.activity(u.accountId, { limit: 100 });
      assert.equal(audit.find((e) => e.type === 'account.deleted')?.detail.by, 'admin', 'the deletion does not say who');
      assert.ok(audit.some((e) => e.type === 'account.created'), 'the audit log lost the account\'s entries');
      // Every table that names an account (tables added later included) holds nothing of it any
      // more, but the audit log.
      const kysely = t.core.store.dialect.db;
      for (const table of await listTables(kysely, db)) {
        if (table === 'audit_events') continue;
        const columns =
          db === 'sqlite'
            ? (await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(kysely)).rows
            : (await sql<{ name: string }>`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ${table}`.execute(kysely)).rows;
        if (!columns.some((c) => c.name === 'account_id')) continue;
        const left = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where account_id = ${u.accountId}`.execute(kysely);
        assert.equal(Number(left.rows[0]!.n), 0, `${table} keeps rows of the deleted account`);
      }
      const again = await admin('POST', '/api/admin/accounts', { email: u.email, password: PASSWORD });
      assert.equal(again.statusCode, 201, again.body);
      assert.notEqual(again.json().id, u.accountId);
    });

    it('a delete racing logins and service-token creations: no 5xx, and no session of the account survives', async () => {
      for (let round = 0; round < 3; round++) {
        const u = await seedAccount(t.core, { password: PASSWORD });
        const key = await seedServiceKey(t.core, { accountId: u.accountId });
        const login = async (): Promise<{ status: number; token?: string }> => {
          const res = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
          return { status: res.statusCode, ...(res.statusCode === 200 ? { token: res.json().data.accessToken as string } : {}) };
        };
        const service = async (): Promise<{ status: number; token?: string }> => {
          const made = await t.core.serviceAccounts.createTokens({ accessKey: key.accessKey, secretKey: key.secretKey }, CTX);
          return made.ok ? { status: 200, token: made.pair.accessToken } : { status: 401 };
        };
        const results = await Promise.all([
          login(),
          service(),
          login(),
          admin('DELETE', `/api/admin/accounts/${u.accountId}`).then((r) => ({ status: r.statusCode, deleted: true })),
          service(),
          login(),
          service(),
          login(),
        ]);
        for (const r of results) assert.ok(r.status < 500, `a ${r.status} during the race: ${JSON.stringify(results.map((x) => x.status))}`);
        assert.equal(results.find((r) => 'deleted' in r)?.status, 200);
        for (const r of results) if ('token' in r && r.token) assert.equal(await introspect(r.token), false, 'a session started around the deletion survived it');
      }
    });

    it('PUT password sets it; the account\'s console sign-ins end; a weak one is 400', async () => {
      const a = await create('pw');
      const browser = await signIn(a.email);
      const weak = await admin('PUT', `/api/admin/accounts/${a.id}/password`, { password: 'short' });
      assert.equal(weak.statusCode, 400);
      assert.equal(weak.json().error.fields[0].name, 'password');
      assert.equal((await cabinet('GET', '/api/cabinet/me', browser)).statusCode, 200, 'a refused change ended the sign-in');
      const set = await admin('PUT', `/api/admin/accounts/${a.id}/password`, { password: 'a brand new password' });
      assert.equal(set.statusCode, 200, set.body);
      assert.equal((await cabinet('GET', '/api/cabinet/me', browser)).statusCode, 401);
      assert.equal((await cabinet('POST', '/api/cabinet/session', null, { email: a.email, password: PASSWORD })).statusCode, 401);
      await signIn(a.email, 'a brand new password');
      assert.equal((await admin('PUT', `/api/admin/accounts/${a.id}/password`, { password: 'x'.repeat(20), extra: 1 })).statusCode, 400);
    });

    it('a reset link: one-time, in the URL fragment, expires, ends sign-ins; wrong tokens are refused', async () => {
      const a = await create('reset');
      const issued = await admin('POST', `/api/admin/accounts/${a.id}/password-reset`, {});
      assert.equal(issued.statusCode, 201, issued.body);
      const { url, expiresAt } = issued.json();
      assert.equal(expiresAt, clock.now() + 3_600_000);
      const link = new URL(url);
      assert.equal(link.pathname, '/console/reset-password');
      assert.equal(link.search, '', 'the token is in the query string');
      const token = new URLSearchParams(link.hash.slice(1)).get('token')!;
      assert.match(token, /^tdw_/);
      assert.ok(!t.logs.some((l) => l.includes(token)), 'the token reached the log');
      const browser = await signIn(a.email);

      const weak = await cabinet('POST', '/api/cabinet/password-reset', null, { token, password: 'short' });
      assert.equal(weak.statusCode, 400);
      assert.equal(weak.json().error.fields[0].name, 'password');
      const done = await cabinet('POST', '/api/cabinet/password-reset', null, { token, password: 'reset password one' });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal((await cabinet('GET', '/api/cabinet/me', browser)).statusCode, 401, 'the sign-in survived the reset');
      await signIn(a.email, 'reset password one');
      const reused = await cabinet('POST', '/api/cabinet/password-reset', null, { token, password: 'reset password two' });
      assert.equal(reused.statusCode, 400);
      assert.equal(reused.json().error.code, 'invalid_reset_token');

      // Expiry, to the millisecond, and a set password ends the links still unused.
      const short = (await admin('POST', `/api/admin/accounts/${a.id}/password-reset`, { expiresIn: '10m' })).json();
      const shortToken = new URLSearchParams(new URL(short.url).hash.slice(1)).get('token')!;
      clock.advance(10 * 60_000);
      const late = await cabinet('POST', '/api/cabinet/password-reset', null, { token: shortToken, password: 'reset password two' });
      assert.equal(late.json().error.code, 'invalid_reset_token');
      const pending = (await admin('POST', `/api/admin/accounts/${a.id}/password-reset`, {})).json();
      await admin('PUT', `/api/admin/accounts/${a.id}/password`, { password: 'set by the operator' });
      const stale = await cabinet('POST', '/api/cabinet/password-reset', null, { token: new URLSearchParams(new URL(pending.url).hash.slice(1)).get('token')!, password: 'reset password two' });
      assert.equal(stale.json().error.code, 'invalid_reset_token');

      for (const bad of [newToken('passwordReset').token, 'tdw_short', newToken('operatorKey').token]) {
        const res = await cabinet('POST', '/api/cabinet/password-reset', null, { token: bad, password: 'reset password two' });
        assert.equal(res.statusCode, 400, bad);
        assert.equal(res.json().error.code, 'invalid_reset_token');
      }
      for (const body of [{ expiresIn: '8d' }, { expiresIn: '1 hour' }, { expiresIn: '1h', extra: 1 }]) {
        assert.equal((await admin('POST', `/api/admin/accounts/${a.id}/password-reset`, body)).statusCode, 400, JSON.stringify(body));
      }
    });

    it('concurrent uses of one reset link: exactly one wins', async () => {
      const a = await create('race');
      const { url } = (await admin('POST', `/api/admin/accounts/${a.id}/password-reset`, {})).json();
      const token = new URLSearchParams(new URL(url).hash.slice(1)).get('token')!;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => cabinet('POST', '/api/cabinet/password-reset', null, { token, password: `racing password ${i}` })),
      );
      assert.equal(results.filter((r) => r.statusCode === 200).length, 1, results.map((r) => r.statusCode).join(','));
      assert.ok(results.every((r) => r.statusCode === 200 || r.json().error.code === 'invalid_reset_token'));
    });

    it('the cabinet changes its own password: the current one is checked, other sign-ins end, this one stays', async () => {
      const a = await create('change');
      const here = await signIn(a.email);
      const elsewhere = await signIn(a.email);
      const wrong = await cabinet('PUT', '/api/cabinet/password', here, { currentPassword: 'not it at all', newPassword: 'changed password 1' });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().error.code, 'invalid_credentials');
      assert.equal((await cabinet('GET', '/api/cabinet/me', here)).statusCode, 200, 'a wrong current password signed it out');
      const weak = await cabinet('PUT', '/api/cabinet/password', here, { currentPassword: PASSWORD, newPassword: 'short' });
      assert.equal(weak.statusCode, 400);
      assert.equal(weak.json().error.fields[0].name, 'newPassword');
      const noCsrf = await cabinet('PUT', '/api/cabinet/password', { ...here, csrf: 'nope' }, { currentPassword: PASSWORD, newPassword: 'changed password 1' });
      assert.equal(noCsrf.statusCode, 403);
      const changed = await cabinet('PUT', '/api/cabinet/password', here, { currentPassword: PASSWORD, newPassword: 'changed password 1' });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal((await cabinet('GET', '/api/cabinet/me', here)).statusCode, 200, 'this sign-in ended');
      assert.equal((await cabinet('GET', '/api/cabinet/me', elsewhere)).statusCode, 401, 'the other sign-in survived');
      await signIn(a.email, 'changed password 1');
      assert.equal((await cabinet('PUT', '/api/cabinet/password', null, { currentPassword: PASSWORD, newPassword: 'changed password 2' })).statusCode, 401);
    });

    it('bad bodies: oversized, deep, not JSON, unknown fields: 4xx and nothing created', async () => {
      const count = async (): Promise<number> => (await admin('GET', '/api/admin/accounts?limit=500')).json().items.length;
      const before = await count();
      const huge = await admin('POST', '/api/admin/accounts', JSON.stringify({ email: email('huge'), password: 'x'.repeat(2_000_000) }));
      assert.equal(huge.statusCode, 413, huge.body);
      for (const depth of [5000, 100_000]) {
        const deep = `${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}`;
        const nested = await admin('POST', '/api/admin/accounts', `{"email":"${email('deep')}","password":"${PASSWORD}","name":${deep}}`);
        assert.ok(nested.statusCode === 400 || nested.statusCode === 413, `${depth}: ${nested.statusCode} ${nested.body.slice(0, 200)}`);
      }
      const form = await admin('POST', '/api/admin/accounts', 'email=a@b.c&password=x', { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(form.statusCode, 415);
      const broken = await admin('POST', '/api/admin/accounts', '{"email":', {});
      assert.equal(broken.statusCode, 400);
      const unknown = await admin('POST', '/api/admin/accounts', { email: email('unknown'), password: PASSWORD, role: 'admin' });
      assert.equal(unknown.statusCode, 400);
      assert.deepEqual(unknown.json().error.fields.map((f: { name: string }) => f.name), ['role']);
      const nul = await admin('POST', '/api/admin/accounts', { email: email('nul'), password: PASSWORD, name: 'a\u0000b' });
      assert.equal(nul.statusCode, 400);
      assert.equal(await count(), before);
    });
  });
}
