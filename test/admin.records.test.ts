/**
 * The admin routes for an account's records (docs/admin-api.md), on SQLite and PostgreSQL, with the
 * admin token: apps, service accounts and keys, API tokens, sessions, audit and usage. Each route's
 * happy path; 404 for unknown records (and for another account's, where the path names one); 400
 * for malformed ids and bad input; a revocation makes the next check fail on the scheme's own wire;
 * the audit export is streamed from the database a page at a time. Every answer is also held to
 * the schema /openapi.json documents for its route and status.
 */
import { strict as assert } from 'node:assert';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { LightMyRequestResponse } from 'fastify';
import { EXPORT_PAGE } from '../src/core/audit.ts';
import { DAY_MS } from '../src/core/clock.ts';
import type { AuditQuery } from '../src/core/ports.ts';
import { hosterCalls } from './helpers/hoster.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = 'admin-token-for-record-tests-0123456789abcdef';
const CTX = { address: 'test' };
const UNKNOWN_ID = '2147483000';
const MALFORMED_IDS = ['abc', '0', '-1', '2147483648', '1.5'];

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

for (const db of databases()) {
  describe(`admin API: an account's records (${db})`, () => {
    let t: TestTokend;

    let doc: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>>; components?: object };
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const validators = new Map<object, ReturnType<typeof ajv.compile>>();
    let checked = 0;

    before(async () => {
      t = await startTokend({ db, config: { adminToken: ADMIN_TOKEN, verifyCacheTtl: 0 }, listen: true });
      doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    });
    after(async () => {
      await t.close();
    });

    /** The answer matches what /openapi.json documents for its route and status. */
    function documented(method: Method, url: string, res: LightMyRequestResponse): void {
      const path = url.split('?')[0]!;
      const candidates = t.routes
        .filter((r) => (Array.isArray(r.method) ? r.method : [r.method]).includes(method) && new RegExp(`^${r.url.replace(/:[A-Za-z]+/g, '[^/]+')}$`).test(path))
        .sort((a, b) => a.url.split(':').length - b.url.split(':').length);
      const route = candidates[0];
      if (!route) return; // A malformed path that no route takes (a 404 of the router).
      const op = doc.paths[route.url.replace(/:([A-Za-z]+)/g, '{$1}')]?.[method.toLowerCase()];
      assert.ok(op, `${method} ${route.url} is documented`);
      const response = op.responses[String(res.statusCode)];
      assert.ok(response, `${method} ${route.url} answered ${res.statusCode}, which it does not document`);
      const schema = response.content?.['application/json']?.schema;
      if (!schema) return;
      // One validator per documented response (the whole components section compiles with each).
      let validate = validators.get(schema);
      if (!validate) validators.set(schema, (validate = ajv.compile({ ...schema, ...(doc.components ? { components: doc.components } : {}) })));
      assert.ok(validate(res.json()), `${method} ${route.url} ${res.statusCode}: ${ajv.errorsText(validate.errors)}\n${res.body}`);
      checked++;
    }

    async function admin(method: Method, url: string, body?: unknown): Promise<LightMyRequestResponse> {
      const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await t.app.inject({ method, url, headers, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
      if (url.startsWith('/api/admin/')) documented(method, url, res);
      return res;
    }

    function assertError(res: LightMyRequestResponse, status: number, code: string, field?: string): void {
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().error.code, code, res.body);
      if (field !== undefined) assert.equal(res.json().error.fields?.[0]?.name, field, res.body);
    }

    async function chatappMake(email: string, password: string, appId: string): Promise<{ status: number; data: { accessToken: string; refreshToken: string } }> {
      const res = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password, appId }) });
      return { status: res.statusCode, data: res.json().data };
    }
    const chatappCheck = async (accessToken: string): Promise<number> =>
      (await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: accessToken } })).statusCode;
    const chatappRefresh = async (refreshToken: string): Promise<LightMyRequestResponse> =>
      t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: refreshToken } });
    const invoiceboxCheck = async (token: string): Promise<LightMyRequestResponse> =>
      t.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });

    describe('apps', () => {
      it('creates, lists a page at a time, renames', async () => {
        const user = await seedAccount(t.core);
        const created = await admin('POST', `/api/admin/accounts/${user.accountId}/apps`, { name: ' Billing bot ' });
        assert.equal(created.statusCode, 201, created.body);
        const app = created.json();
        assert.equal(app.name, 'Billing bot');
        assert.match(app.appId, new RegExp(`^app_${user.accountId}_`));

        const first = await admin('GET', `/api/admin/accounts/${user.accountId}/apps?limit=1`);
        assert.equal(first.statusCode, 200, first.body);
        assert.equal(first.json().items.length, 1);
        assert.equal(first.json().items[0].appId, user.appId, 'oldest first');
        assert.equal(typeof first.json().nextCursor, 'string');
        const second = await admin('GET', `/api/admin/accounts/${user.accountId}/apps?limit=1&cursor=${first.json().nextCursor}`);
        assert.deepEqual(second.json(), { items: [app], nextCursor: null });

        const renamed = await admin('PATCH', `/api/admin/apps/${app.appId}`, { name: 'Invoicing bot' });
        assert.equal(renamed.statusCode, 200, renamed.body);
        assert.deepEqual(renamed.json(), { ...app, name: 'Invoicing bot' });
        assert.equal((await t.core.accounts.getApp(app.appId))?.name, 'Invoicing bot');
      });

      it('deleting an app revokes its sessions on the wire, removes its policy, and ends tokens.make with it', async () => {
        const user = await seedAccount(t.core);
        const other = await t.core.accounts.createApp({ accountId: user.accountId, name: 'kept' }, CTX);
        const made = await chatappMake(user.email, user.password, user.appId);
        const kept = await chatappMake(user.email, user.password, other.appId);
        assert.equal(made.status, 200);
        assert.equal(await chatappCheck(made.data.accessToken), 200);
        const policy = await admin('PUT', `/api/admin/apps/${user.appId}/policy`, { rateLimits: [{ limit: 5, windowSeconds: 60 }] });
        assert.equal(policy.statusCode, 200, policy.body);
        assert.ok(t.core.policies.policyOf('app', user.appId));

        const deleted = await admin('DELETE', `/api/admin/apps/${user.appId}`);
        assert.equal(deleted.statusCode, 200, deleted.body);
        assert.deepEqual(deleted.json(), { deleted: true, sessionsRevoked: 1, policyRemoved: true });

        assert.equal(await chatappCheck(made.data.accessToken), 401, 'its access token fails its next check');
        assert.notEqual((await chatappRefresh(made.data.refreshToken)).statusCode, 200, 'its refresh token no longer refreshes');
        assert.notEqual((await chatappMake(user.email, user.password, user.appId)).status, 200, 'tokens.make with the deleted appId fails');
        assert.equal(t.core.policies.policyOf('app', user.appId), undefined, 'its rules are gone from memory');
        assert.equal(await t.core.store.policies.get({ kind: 'app', id: user.appId }), null, 'and from the database');
        assert.equal(await chatappCheck(kept.data.accessToken), 200, "another app's session is untouched");
        const listed = await admin('GET', `/api/admin/accounts/${user.accountId}/apps`);
        assert.deepEqual(listed.json().items.map((a: { appId: string }) => a.appId), [other.appId]);
        const entry = (await t.core.audit.page({ accountId: user.accountId, type: 'app.deleted' }, { limit: 1 }))[0];
        // `by`: who did it (src/core/audit.ts), here the admin token.
        assert.deepEqual(entry?.detail, { appId: user.appId, name: 'test app', sessionsRevoked: 1, policyRemoved: true, by: 'admin' });
        assertError(await admin('DELETE', `/api/admin/apps/${user.appId}`), 404, 'not_found');
      });

      it('unknown and malformed ids, bad bodies', async () => {
        const user = await seedAccount(t.core);
        assertError(await admin('GET', `/api/admin/accounts/${UNKNOWN_ID}/apps`), 404, 'not_found');
        assertError(await admin('POST', `/api/admin/accounts/${UNKNOWN_ID}/apps`, { name: 'x' }), 404, 'not_found');
        for (const bad of MALFORMED_IDS) assertError(await admin('GET', `/api/admin/accounts/${bad}/apps`), 400, 'validation_failed');
        assertError(await admin('PATCH', '/api/admin/apps/app_no_such_app', { name: 'x' }), 404, 'not_found');
        assertError(await admin('PATCH', '/api/admin/apps/bad!app', { name: 'x' }), 400, 'validation_failed');
        assertError(await admin('DELETE', '/api/admin/apps/app_no_such_app'), 404, 'not_found');
        assertError(await admin('POST', `/api/admin/accounts/${user.accountId}/apps`, { name: 'x', appId: 'mine' }), 400, 'validation_failed');
        assertError(await admin('POST', `/api/admin/accounts/${user.accountId}/apps`, { name: '   ' }), 400, 'validation_failed', 'name');
        assertError(await admin('PATCH', `/api/admin/apps/${user.appId}`, {}), 400, 'validation_failed');
        assertError(await admin('GET', `/api/admin/accounts/${user.accountId}/apps?cursor=bm90LWEtY3Vyc29y`), 400, 'validation_failed', 'cursor');
        assertError(await admin('GET', `/api/admin/accounts/${user.accountId}/apps?limit=501`), 400, 'validation_failed', 'limit');
        assert.equal((await t.core.accounts.listApps(user.accountId)).length, 1, 'nothing was created');
      });
    });

    describe('service accounts and keys', () => {
      it('creates, reads, lists with keys (never a secret), renames, changes actions, disables and enables', async () => {
        const user = await seedAccount(t.core);
        const created = await admin('POST', `/api/admin/accounts/${user.accountId}/service-accounts`, { name: 'DNS robot', actions: ['dns_orders_list', ' dns_orders_list'] });
        assert.equal(created.statusCode, 201, created.body);
        const sa = created.json();
        assert.deepEqual({ ...sa, id: 0, createdAt: 0 }, { id: 0, createdAt: 0, accountId: user.accountId, name: 'DNS robot', actions: ['dns_orders_list'], status: 'active', lastUsedAt: null, keys: [] });

        const key = await admin('POST', `/api/admin/service-accounts/${sa.id}/keys`, {});
        assert.equal(key.statusCode, 201, key.body);
        const { secretKey } = key.json();
        assert.match(secretKey, /^tds_/);
        assert.equal(key.json().expiresAt, null);
        await admin('POST', `/api/admin/accounts/${user.accountId}/service-accounts`, { name: 'second', actions: ['a'] });

        const first = await admin('GET', `/api/admin/accounts/${user.accountId}/service-accounts?limit=1`);
        assert.equal(first.statusCode, 200, first.body);
        assert.equal(first.json().items[0].id, sa.id);
        assert.equal(first.json().items[0].keys[0].id, key.json().keyId);
        assert.equal(first.json().items[0].keys[0].accessKey, key.json().accessKey);
        assert.ok(!first.body.includes(secretKey), 'a list never carries the Secret Key');
        const second = await admin('GET', `/api/admin/accounts/${user.accountId}/service-accounts?limit=1&cursor=${first.json().nextCursor}`);
        assert.equal(second.json().items[0].name, 'second');
        assert.equal(second.json().nextCursor, null);

        const got = await admin('GET', `/api/admin/service-accounts/${sa.id}`);
        assert.equal(got.statusCode, 200);
        assert.ok(!got.body.includes(secretKey));
        assert.deepEqual(got.json(), first.json().items[0]);

        const patched = await admin('PATCH', `/api/admin/service-accounts/${sa.id}`, { name: 'DNS and mail', actions: ['dns_orders_list', 'mail_read'] });
        assert.equal(patched.statusCode, 200, patched.body);
        assert.equal(patched.json().name, 'DNS and mail');
        assert.deepEqual(patched.json().actions, ['dns_orders_list', 'mail_read']);
        const hoster = hosterCalls(t);
        const tokens = await hoster.create({ accessKey: key.json().accessKey, secretKey });
        assert.equal(tokens.status, 200, tokens.text);
        const info = await hoster.infoAccess(tokens.body.payload.accessToken);
        assert.deepEqual(info.body.payload.actions, ['dns_orders_list', 'mail_read'], 'new access tokens carry the new actions');
        const renamedOnly = await admin('PATCH', `/api/admin/service-accounts/${sa.id}`, { name: 'Renamed' });
        assert.deepEqual(renamedOnly.json().actions, ['dns_orders_list', 'mail_read']);

        const disabled = await admin('POST', `/api/admin/service-accounts/${sa.id}/disable`, {});
        assert.equal(disabled.json().status, 'disabled');
        assert.notEqual((await hoster.infoAccess(tokens.body.payload.accessToken)).status, 200, 'its sessions ended');
        assert.notEqual((await hoster.create({ accessKey: key.json().accessKey, secretKey })).status, 200);
        const enabled = await admin('POST', `/api/admin/service-accounts/${sa.id}/enable`, {});
        assert.equal(enabled.json().status, 'active');
        assert.equal((await hoster.create({ accessKey: key.json().accessKey, secretKey })).status, 200);
      });

      it('a key with expiresIn; revoking it ends the sessions made with it, on the wire', async () => {
        const user = await seedAccount(t.core);
        const sa = (await admin('POST', `/api/admin/accounts/${user.accountId}/service-accounts`, { name: 'robot', actions: ['dns_orders_list'] })).json();
        const before = Date.now();
        const key = await admin('POST', `/api/admin/service-accounts/${sa.id}/keys`, { expiresIn: '90d' });
        assert.equal(key.statusCode, 201, key.body);
        assert.deepEqual(Object.keys(key.json()).sort(), ['accessKey', 'expiresAt', 'keyId', 'secretKey']);
        // On PostgreSQL expiry follows the database's clock, known to within half a round trip of
        // its reading (src/store/db-clock.ts): a second either way, not the exact moment.
        const expiresAt = key.json().expiresAt as number;
        assert.ok(expiresAt >= before + 90 * DAY_MS - 1000 && expiresAt <= Date.now() + 90 * DAY_MS + 1000, `expiresAt ${expiresAt - before - 90 * DAY_MS} ms off`);
        const creds = { accessKey: key.json().accessKey as string, secretKey: key.json().secretKey as string };
        const hoster = hosterCalls(t);
        const tokens = await hoster.create(creds);
        assert.equal(tokens.status, 200, tokens.text);
        assert.equal((await hoster.infoAccess(tokens.body.payload.accessToken)).status, 200);

        const revoked = await admin('POST', `/api/admin/service-accounts/${sa.id}/keys/${key.json().keyId}/revoke`, {});
        assert.equal(revoked.statusCode, 200, revoked.body);
        assert.deepEqual(revoked.json(), { revoked: true });
        assert.equal((await hoster.create(creds)).status, 401, 'the hoster.by create fails with the revoked key');
        assert.notEqual((await hoster.infoAccess(tokens.body.payload.accessToken)).status, 200, 'a session made with it ended');
        assert.notEqual((await hoster.refresh(user.accountId, tokens.body.payload.refreshToken)).status, 200);
        assertError(await admin('POST', `/api/admin/service-accounts/${sa.id}/keys/${key.json().keyId}/revoke`, {}), 409, 'not_active');
        const listed = (await admin('GET', `/api/admin/service-accounts/${sa.id}`)).json();
        assert.equal(listed.keys[0].status, 'revoked');
      });

      it('unknown, malformed and foreign ids; bad actions; durations without a unit', async () => {
        const user = await seedAccount(t.core);
        const otherUser = await seedAccount(t.core);
        const sa = (await admin('POST', `/api/admin/accounts/${user.accountId}/service-accounts`, { name: 'robot', actions: ['a'] })).json();
        const foreign = (await admin('POST', `/api/admin/accounts/${otherUser.accountId}/service-accounts`, { name: 'theirs', actions: ['a'] })).json();
        const foreignKey = (await admin('POST', `/api/admin/service-accounts/${foreign.id}/keys`, {})).json();

        assertError(await admin('GET', `/api/admin/accounts/${UNKNOWN_ID}/service-accounts`), 404, 'not_found');
        assertError(await admin('POST', `/api/admin/accounts/${UNKNOWN_ID}/service-accounts`, { name: 'x', actions: ['a'] }), 404, 'not_found');
        assertError(await admin('GET', `/api/admin/service-accounts/${UNKNOWN_ID}`), 404, 'not_found');
        assertError(await admin('PATCH', `/api/admin/service-accounts/${UNKNOWN_ID}`, { name: 'x' }), 404, 'not_found');
        assertError(await admin('POST', `/api/admin/service-accounts/${UNKNOWN_ID}/disable`, {}), 404, 'not_found');
        assertError(await admin('POST', `/api/admin/service-accounts/${UNKNOWN_ID}/keys`, {}), 404, 'not_found');
        assertError(await admin('POST', `/api/admin/service-accounts/${sa.id}/keys/${UNKNOWN_ID}/revoke`, {}), 404, 'not_found');
        // Another service account's key, named under this one: 404 as if it did not exist, and untouched.
        assertError(await admin('POST', `/api/admin/service-accounts/${sa.id}/keys/${foreignKey.keyId}/revoke`, {}), 404, 'not_found');
        assert.equal((await t.core.serviceAccounts.getKey(foreignKey.keyId))?.revokedAt, null);
        for (const bad of MALFORMED_IDS) {
          assertError(await admin('GET', `/api/admin/service-accounts/${bad}`), 400, 'validation_failed');
          assertError(await admin('POST', `/api/admin/service-accounts/${sa.id}/keys/${bad}/revoke`, {}), 400, 'validation_failed');
        }

        assertError(await admin('POST', `/api/admin/accounts/${user.accountId}/service-accounts`, { name: 'x', actions: ['bad action'] }), 400, 'validation_failed', 'actions');
        assertError(await admin('POST', `/api/admin/accounts/${user.accountId}/service-accounts`, { name: 'x', actions: [] }), 400, 'validation_failed');
        assertError(await admin('POST', `/api/admin/accounts/${user.accountId}/service-accounts`, { name: 'x', actions: ['a'], status: 'active' }), 400, 'validation_failed');
        assertError(await admin('PATCH', `/api/admin/service-accounts/${sa.id}`, { actions: ['ok', 'not ok!'] }), 400, 'validation_failed', 'actions');
        assertError(await admin('PATCH', `/api/admin/service-accounts/${sa.id}`, {}), 400, 'validation_failed');
        assertError(await admin('PATCH', `/api/admin/service-accounts/${sa.id}`, { name: 'x', owner: 1 }), 400, 'validation_failed');
        assert.deepEqual((await t.core.serviceAccounts.get(sa.id))?.actions, ['a'], 'nothing changed');

        for (const expiresIn of ['90', '90 d', '1w', '-1d', '9.5d', '']) {
          assertError(await admin('POST', `/api/admin/service-accounts/${sa.id}/keys`, { expiresIn }), 400, 'validation_failed', 'expiresIn');
        }
        assertError(await admin('POST', `/api/admin/service-accounts/${sa.id}/keys`, { expiresIn: '0s' }), 400, 'validation_failed', 'expiresIn');
        assertError(await admin('POST', `/api/admin/service-accounts/${sa.id}/keys`, { expiresIn: '3651d' }), 400, 'validation_failed', 'expiresIn');
        assertError(await admin('POST', `/api/admin/service-accounts/${sa.id}/keys`, { expiresIn: 90 }), 400, 'validation_failed');
        assert.deepEqual(await t.core.serviceAccounts.listKeys(sa.id), [], 'no key was made');
      });
    });

    describe('API tokens', () => {
      it('creates each format, reads, lists by status a page at a time; a revoked token fails the Invoicebox check', async () => {
        const user = await seedAccount(t.core);
        const v3 = await admin('POST', `/api/admin/accounts/${user.accountId}/api-tokens`, {});
        assert.equal(v3.statusCode, 201, v3.body);
        assert.equal(v3.json().format, 'v3');
        assert.match(v3.json().token, /^[0-9a-f]{32}$/);
        assert.equal(v3.json().accountId, user.accountId);
        assert.equal(v3.json().status, 'active');
        const l3 = await admin('POST', `/api/admin/accounts/${user.accountId}/api-tokens`, { format: 'l3', label: 'ERP', expiresIn: '30d' });
        assert.equal(l3.statusCode, 201, l3.body);
        assert.match(l3.json().token, new RegExp(`^${user.accountId}-API:[0-9a-f]{32}$`));
        assert.equal(l3.json().label, 'ERP');
        assert.ok(Math.abs(l3.json().expiresAt - (Date.now() + 30 * DAY_MS)) < 60_000);
        const native = await admin('POST', `/api/admin/accounts/${user.accountId}/api-tokens`, { format: 'native' });
        assert.match(native.json().token, /^tdo_/);

        for (const created of [v3, l3, native]) {
          const check = await invoiceboxCheck(created.json().token);
          assert.equal(check.statusCode, 200, check.body);
          assert.equal(check.json().data.userId, user.uid);
        }
        const got = await admin('GET', `/api/admin/api-tokens/${l3.json().id}`);
        assert.equal(got.statusCode, 200);
        assert.ok(!got.body.includes(l3.json().token), 'a read shows the hint, never the token');
        assert.equal(got.json().hint, l3.json().hint);

        const revoked = await admin('POST', `/api/admin/api-tokens/${v3.json().id}/revoke`, {});
        assert.deepEqual(revoked.json(), { revoked: true });
        assert.equal((await invoiceboxCheck(v3.json().token)).statusCode, 401, 'the Invoicebox check fails at once');
        assertError(await admin('POST', `/api/admin/api-tokens/${v3.json().id}/revoke`, {}), 409, 'not_active');

        const page1 = await admin('GET', `/api/admin/accounts/${user.accountId}/api-tokens?limit=2`);
        assert.equal(page1.statusCode, 200, page1.body);
        assert.deepEqual(page1.json().items.map((i: { id: string }) => i.id), [native.json().id, l3.json().id], 'newest first');
        assert.ok(!page1.body.includes(native.json().token));
        const page2 = await admin('GET', `/api/admin/accounts/${user.accountId}/api-tokens?limit=2&cursor=${page1.json().nextCursor}`);
        assert.deepEqual(page2.json().items.map((i: { id: string }) => i.id), [v3.json().id]);
        assert.equal(page2.json().nextCursor, null);
        const active = await admin('GET', `/api/admin/accounts/${user.accountId}/api-tokens?status=active`);
        assert.deepEqual(active.json().items.map((i: { id: string }) => i.id), [native.json().id, l3.json().id]);
        const revokedOnly = await admin('GET', `/api/admin/accounts/${user.accountId}/api-tokens?status=revoked`);
        assert.deepEqual(revokedOnly.json().items.map((i: { id: string; status: string }) => [i.id, i.status]), [[v3.json().id, 'revoked']]);
      });

      it('rotates with and without grace, checked on the wire', async () => {
        const user = await seedAccount(t.core);
        const first = (await admin('POST', `/api/admin/accounts/${user.accountId}/api-tokens`, { format: 'l3' })).json();
        const rotated = await admin('POST', `/api/admin/api-tokens/${first.id}/rotate`, { grace: '1h' });
        assert.equal(rotated.statusCode, 201, rotated.body);
        const second = rotated.json();
        assert.equal(second.format, 'l3');
        assert.equal(second.previous.id, first.id);
        assert.equal(second.previous.status, 'grace');
        assert.equal(second.previous.replacedBy, second.id);
        assert.equal((await invoiceboxCheck(first.token)).statusCode, 200, 'the old token works during the grace');
        assert.equal((await invoiceboxCheck(second.token)).statusCode, 200);
        const grace = await admin('GET', `/api/admin/accounts/${user.accountId}/api-tokens?status=grace`);
        assert.deepEqual(grace.json().items.map((i: { id: string }) => i.id), [first.id]);
        assertError(await admin('POST', `/api/admin/api-tokens/${first.id}/rotate`, {}), 409, 'not_active');

        const third = (await admin('POST', `/api/admin/api-tokens/${second.id}/rotate`, {})).json();
        assert.equal(third.previous.status, 'replaced');
        assert.equal((await invoiceboxCheck(second.token)).statusCode, 401, 'without grace the old token stops at once');
        assert.equal((await invoiceboxCheck(third.token)).statusCode, 200);
        const replaced = await admin('GET', `/api/admin/accounts/${user.accountId}/api-tokens?status=replaced`);
        assert.deepEqual(replaced.json().items.map((i: { id: string }) => i.id), [second.id]);
      });

      it('the expiry rules apply; unknown, malformed ids and bad bodies are refused', async () => {
        const user = await seedAccount(t.core);
        const base = `/api/admin/accounts/${user.accountId}/api-tokens`;
        const policy = await admin('PUT', `/api/admin/accounts/${user.accountId}/policy`, { expiry: { maxLifetimeSeconds: 7 * 86400, required: true } });
        assert.equal(policy.statusCode, 200, policy.body);
        assertError(await admin('POST', base, {}), 400, 'validation_failed', 'expiresIn');
        assertError(await admin('POST', base, { expiresIn: '8d' }), 400, 'validation_failed', 'expiresIn');
        assert.equal((await admin('POST', base, { expiresIn: '7d' })).statusCode, 201);
        await admin('DELETE', `/api/admin/accounts/${user.accountId}/policy`);

        assertError(await admin('POST', base, { format: 'v4' }), 400, 'validation_failed');
        assertError(await admin('POST', base, { expiresIn: '30' }), 400, 'validation_failed', 'expiresIn');
        assertError(await admin('POST', base, { label: 'x', token: 'mine' }), 400, 'validation_failed');
        assertError(await admin('POST', `/api/admin/accounts/${UNKNOWN_ID}/api-tokens`, {}), 404, 'not_found');
        assertError(await admin('GET', `/api/admin/accounts/${UNKNOWN_ID}/api-tokens`), 404, 'not_found');
        assertError(await admin('GET', `${base}?status=gone`), 400, 'validation_failed');
        assertError(await admin('GET', '/api/admin/api-tokens/00000000-0000-4000-8000-000000000000'), 404, 'not_found');
        assertError(await admin('POST', '/api/admin/api-tokens/00000000-0000-4000-8000-000000000000/rotate', {}), 404, 'not_found');
        assertError(await admin('POST', '/api/admin/api-tokens/00000000-0000-4000-8000-000000000000/revoke', {}), 404, 'not_found');
        for (const bad of ['not-hex!', 'zz', 'a'.repeat(65)]) assertError(await admin('GET', `/api/admin/api-tokens/${bad}`), 400, 'validation_failed');
        const token = (await admin('POST', base, {})).json();
        assertError(await admin('POST', `/api/admin/api-tokens/${token.id}/rotate`, { grace: '24' }), 400, 'validation_failed', 'grace');
        assertError(await admin('POST', `/api/admin/api-tokens/${token.id}/rotate`, { grace: '31d' }), 400, 'validation_failed', 'grace');
        assert.equal((await t.core.apiTokens.get(token.id))?.replacedBy, null, 'not rotated');
      });
    });

    describe('sessions', () => {
      it('lists an account\'s live sessions a page at a time; revoking one ends it on the ChatApp wire; revoke-all ends the rest', async () => {
        const user = await seedAccount(t.core);
        const a = await chatappMake(user.email, user.password, user.appId);
        const b = await chatappMake(user.email, user.password, user.appId);
        const c = await chatappMake(user.email, user.password, user.appId);
        const page1 = await admin('GET', `/api/admin/accounts/${user.accountId}/sessions?limit=2`);
        assert.equal(page1.statusCode, 200, page1.body);
        assert.equal(page1.json().total, 3);
        assert.equal(page1.json().items.length, 2);
        assert.equal(page1.json().items[0].clientId, user.appId);
        const page2 = await admin('GET', `/api/admin/accounts/${user.accountId}/sessions?limit=2&cursor=${page1.json().nextCursor}`);
        assert.equal(page2.json().items.length, 1);
        assert.equal(page2.json().nextCursor, null);
        const ids = [...page1.json().items, ...page2.json().items].map((s: { id: string }) => s.id);
        assert.equal(new Set(ids).size, 3);

        const sessionOfA = (await t.core.sessions.lookupAccess(a.data.accessToken))!.session.id;
        const revoked = await admin('POST', `/api/admin/sessions/${sessionOfA}/revoke`, {});
        assert.deepEqual(revoked.json(), { revoked: true });
        const refresh = await chatappRefresh(a.data.refreshToken);
        assert.notEqual(refresh.statusCode, 200, 'the ChatApp refresh of a revoked session fails');
        assert.equal(await chatappCheck(a.data.accessToken), 401);
        assert.equal(await chatappCheck(b.data.accessToken), 200);
        assertError(await admin('POST', `/api/admin/sessions/${sessionOfA}/revoke`, {}), 404, 'not_found');

        const all = await admin('POST', `/api/admin/accounts/${user.accountId}/sessions/revoke-all`, {});
        assert.deepEqual(all.json(), { revoked: 2 });
        assert.notEqual((await chatappRefresh(b.data.refreshToken)).statusCode, 200);
        assert.equal(await chatappCheck(c.data.accessToken), 401);
        assert.deepEqual((await admin('GET', `/api/admin/accounts/${user.accountId}/sessions`)).json(), { items: [], total: 0, nextCursor: null });
      });

      it('unknown and malformed ids', async () => {
        assertError(await admin('GET', `/api/admin/accounts/${UNKNOWN_ID}/sessions`), 404, 'not_found');
        assertError(await admin('POST', `/api/admin/accounts/${UNKNOWN_ID}/sessions/revoke-all`, {}), 404, 'not_found');
        assertError(await admin('POST', '/api/admin/sessions/00000000-0000-4000-8000-000000000000/revoke', {}), 404, 'not_found');
        assertError(await admin('POST', '/api/admin/sessions/not-a-session!/revoke', {}), 400, 'validation_failed');
        assertError(await admin('POST', '/api/admin/sessions/00000000-0000-4000-8000-000000000000/revoke', { reason: 'x' }), 400, 'validation_failed');
      });
    });

    describe('audit', () => {
      it('filters by account, type and time, newest first, a page at a time', async () => {
        const user = await seedAccount(t.core);
        for (let i = 0; i < 3; i++) await admin('POST', `/api/admin/accounts/${user.accountId}/api-tokens`, { label: `t${i}` });
        const base = `/api/admin/audit?account=${user.accountId}&type=api_token.created`;
        const page1 = await admin('GET', `${base}&limit=2`);
        assert.equal(page1.statusCode, 200, page1.body);
        const items1 = page1.json().items as { id: number; at: number; accountId: number; type: string; detail: { label: string } }[];
        assert.deepEqual(items1.map((e) => e.detail.label), ['t2', 't1'], 'newest first');
        assert.ok(items1.every((e) => e.accountId === user.accountId && e.type === 'api_token.created'));
        const page2 = await admin('GET', `${base}&limit=2&cursor=${page1.json().nextCursor}`);
        assert.deepEqual(page2.json().items.map((e: { detail: { label: string } }) => e.detail.label), ['t0']);
        assert.equal(page2.json().nextCursor, null);

        const all = (await admin('GET', `/api/admin/audit?account=${user.accountId}`)).json().items as { type: string; at: number }[];
        assert.deepEqual(all.map((e) => e.type).sort(), ['account.created', 'api_token.created', 'api_token.created', 'api_token.created', 'app.created']);
        const newest = items1[0]!;
        const since = await admin('GET', `/api/admin/audit?account=${user.accountId}&since=${newest.at}`);
        assert.ok(since.json().items.every((e: { at: number }) => e.at >= newest.at));
        assert.ok(since.json().items.some((e: { id: number }) => e.id === newest.id));
        const until = await admin('GET', `/api/admin/audit?account=${user.accountId}&until=${newest.at}`);
        assert.ok(until.json().items.every((e: { at: number }) => e.at < newest.at));
        assert.ok(!until.json().items.some((e: { id: number }) => e.id === newest.id));
        assert.deepEqual((await admin('GET', `/api/admin/audit?account=${UNKNOWN_ID}`)).json(), { items: [], nextCursor: null });

        assertError(await admin('GET', '/api/admin/audit?since=100&until=100'), 400, 'validation_failed', 'until');
        assertError(await admin('GET', '/api/admin/audit?since=yesterday'), 400, 'validation_failed');
        assertError(await admin('GET', '/api/admin/audit?account=abc'), 400, 'validation_failed');
        assertError(await admin('GET', '/api/admin/audit?type=DROP%20TABLE'), 400, 'validation_failed');
        assertError(await admin('GET', '/api/admin/audit?cursor=WyJhIiwxXQ'), 400, 'validation_failed', 'cursor');
        assertError(await admin('GET', '/api/admin/audit?actor=me'), 400, 'validation_failed');
        assertError(await admin('GET', '/api/admin/audit/export?cursor=abc'), 400, 'validation_failed');
      });

      it('exports NDJSON oldest first, streamed from the database a page at a time', async () => {
        const user = await seedAccount(t.core);
        const ROWS = 3000;
        // Big entries, so that the export is far larger than every buffer between the database and the client.
        const padding = 'x'.repeat(8000);
        const at0 = Date.now() - 3_600_000;
        await t.core.store.transaction(async (tx) => {
          for (let i = 0; i < ROWS; i++) {
            await tx.audit.append({ at: at0 + i, type: 'session.refreshed', accountId: user.accountId, sessionId: null, address: 'test', detail: { n: i, padding } });
          }
        });
        const pages = Math.ceil(ROWS / EXPORT_PAGE) + 1;
        const audit = t.core.store.audit;
        const real = audit.query.bind(audit);
        const queries: AuditQuery[] = [];
        audit.query = async (q) => {
          queries.push({ ...q });
          return real(q);
        };
        try {
          const url = new URL(`/api/admin/audit/export?account=${user.accountId}&type=session.refreshed`, t.url);
          const response = await new Promise<IncomingMessage>((resolve, reject) => {
            httpRequest(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, resolve).on('error', reject).end();
          });
          assert.equal(response.statusCode, 200);
          assert.match(String(response.headers['content-type']), /^application\/x-ndjson/);
          assert.equal(response.headers['content-length'], undefined, 'sent as a stream, not as one buffered body');
          // The client reads nothing for a while: a streamed export stops reading the database
          // once the socket is full; a buffered one would have read every page already.
          response.pause();
          await new Promise((resolve) => setTimeout(resolve, 500));
          const whilePaused = queries.length;
          assert.ok(whilePaused >= 1 && whilePaused < pages, `pages read while the client waited: ${whilePaused} of ${pages}`);

          let text = '';
          response.setEncoding('utf8');
          for await (const chunk of response) text += chunk;
          const lines = text.split('\n');
          assert.equal(lines.pop(), '', 'every line ends with a newline');
          assert.equal(lines.length, ROWS);
          const entries = lines.map((l) => JSON.parse(l) as { id: number; at: number; accountId: number; detail: { n: number } });
          assert.deepEqual(entries.map((e) => e.detail.n), Array.from({ length: ROWS }, (_, i) => i), 'oldest first, none missing or repeated');
          assert.ok(entries.every((e) => e.accountId === user.accountId));
          assert.equal(queries.length, pages, 'one query per page');
          assert.ok(queries.every((q) => q.limit === EXPORT_PAGE && q.order === 'asc'));
        } finally {
          audit.query = real;
        }
      });
    });

    describe('usage', () => {
      it('checks per day, per account and for the instance', async () => {
        const user = await seedAccount(t.core);
        const token = (await admin('POST', `/api/admin/accounts/${user.accountId}/api-tokens`, {})).json().token as string;
        const before = (await admin('GET', '/api/admin/usage?days=3')).json().checks as { day: number; count: number }[];
        for (let i = 0; i < 4; i++) assert.equal((await invoiceboxCheck(token)).statusCode, 200);
        const mine = await admin('GET', `/api/admin/accounts/${user.accountId}/usage?days=3`);
        assert.equal(mine.statusCode, 200, mine.body);
        const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
        assert.deepEqual(mine.json(), { accountId: user.accountId, checks: [{ day: today - 2 * DAY_MS, count: 0 }, { day: today - DAY_MS, count: 0 }, { day: today, count: 4 }] });
        await t.core.usage.flush();
        const instance = (await admin('GET', '/api/admin/usage?days=3')).json().checks as { day: number; count: number }[];
        assert.equal(instance.length, 3);
        assert.equal(instance[2]!.day, today);
        assert.equal(instance[2]!.count, before[2]!.count + 4, 'the instance counts them too, flushed or not');
        assert.equal((await admin('GET', '/api/admin/usage')).json().checks.length, 14);

        assertError(await admin('GET', `/api/admin/accounts/${UNKNOWN_ID}/usage`), 404, 'not_found');
        assertError(await admin('GET', '/api/admin/usage?days=32'), 400, 'validation_failed', 'days');
        assertError(await admin('GET', '/api/admin/usage?days=0'), 400, 'validation_failed');
      });
    });

    describe('concurrency', () => {
      it('an app deleted while its customer logs in leaves no live session behind; one of concurrent deletions wins', async () => {
        const user = await seedAccount(t.core);
        const makes = Array.from({ length: 8 }, () => chatappMake(user.email, user.password, user.appId));
        // Sent while the logins are hashing passwords and starting sessions.
        await new Promise((resolve) => setTimeout(resolve, 30));
        const deletions = await Promise.all([0, 1, 2].map(() => admin('DELETE', `/api/admin/apps/${user.appId}`)));
        const made = await Promise.all(makes);
        assert.deepEqual(deletions.map((d) => d.statusCode).sort(), [200, 404, 404]);
        for (const m of made) {
          if (m.status === 200) assert.equal(await chatappCheck(m.data.accessToken), 401, 'a session started around the deletion was revoked too');
        }
        const live = (await admin('GET', `/api/admin/accounts/${user.accountId}/sessions`)).json().items as { clientId: string }[];
        assert.deepEqual(live.filter((s) => s.clientId === user.appId), []);
        const deleted = deletions.find((d) => d.statusCode === 200)!.json();
        assert.equal(deleted.sessionsRevoked, made.filter((m) => m.status === 200).length, 'the deletion revoked every session the logins made');
      });

      it('of concurrent rotations of a token one wins; of concurrent revocations of a key one wins', async () => {
        const user = await seedAccount(t.core);
        const token = (await admin('POST', `/api/admin/accounts/${user.accountId}/api-tokens`, {})).json();
        const rotations = await Promise.all(Array.from({ length: 6 }, () => admin('POST', `/api/admin/api-tokens/${token.id}/rotate`, { grace: '1m' })));
        assert.deepEqual(rotations.map((r) => r.statusCode).sort(), [201, 409, 409, 409, 409, 409]);
        const listed = (await admin('GET', `/api/admin/accounts/${user.accountId}/api-tokens`)).json().items as unknown[];
        assert.equal(listed.length, 2, 'the losers left no token behind');

        const sa = (await admin('POST', `/api/admin/accounts/${user.accountId}/service-accounts`, { name: 'r', actions: ['a'] })).json();
        const key = (await admin('POST', `/api/admin/service-accounts/${sa.id}/keys`, {})).json();
        const revocations = await Promise.all(Array.from({ length: 5 }, () => admin('POST', `/api/admin/service-accounts/${sa.id}/keys/${key.keyId}/revoke`, {})));
        assert.deepEqual(revocations.map((r) => r.statusCode).sort(), [200, 409, 409, 409, 409]);
      });
    });

    it('held every answer above to its documented schema', () => {
      assert.ok(checked > 100, `${checked} answers checked`);
    });

    it('every route that names a permission refuses a call without a credential, or with a wrong one, and changes nothing', async () => {
      const user = await seedAccount(t.core);
      const params: Record<string, string> = { id: String(user.accountId), appId: user.appId, keyId: '1' };
      // The routes of an account's records (the accounts, operator-key and sign-in routes have tests of their own).
      const areas = ['apps', 'service-accounts', 'tokens', 'sessions', 'audit', 'usage'];
      const guarded = t.routes.filter((r) => r.url.startsWith('/api/admin/') && areas.includes(String(r.config?.permission ?? '').split(':')[0]!));
      assert.ok(guarded.length >= 20, `${guarded.length} routes`);
      for (const route of guarded) {
        const url = route.url.replace(/:([A-Za-z]+)/g, (_, name: string) => params[name] ?? '1');
        for (const method of (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD')) {
          for (const authorization of [undefined, 'Bearer wrong-admin-token-0123456789abcdefghijkl']) {
            const res = await t.app.inject({
              method: method as Method,
              url,
              headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
              ...(method === 'POST' || method === 'PATCH' ? { payload: '{"name":"x","actions":["a"]}' } : {}),
            });
            // A refusal either way: wrong credentials from one address soon meet the guessing limit (429).
            assert.ok(res.statusCode === 401 || (res.statusCode === 429 && res.json().error.code === 'too_many_attempts'), `${method} ${url}: ${res.statusCode} ${res.body}`);
          }
        }
      }
      assert.equal((await t.core.accounts.listApps(user.accountId)).length, 1, 'the app is still there');
      assert.deepEqual(await t.core.serviceAccounts.listByAccount(user.accountId), []);
      assert.deepEqual(await t.core.apiTokens.listByAccount(user.accountId), []);
    });
  });
}
