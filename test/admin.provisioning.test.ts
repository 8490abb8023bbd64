/**
 * A customer provisioned end to end over HTTP only, as an API owner's sign-up flow would do it
 * (docs/admin-api.md), on SQLite and PostgreSQL: the operator's system creates the account, an app,
 * a service account with a key, v3 and l3 API tokens; the customer then uses each credential on its
 * own scheme's wire; the operator sees the sessions and the audit trail, revokes each credential
 * (its next check fails on the wire), deletes the app and disables the account.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { allows, type Permission } from '../src/http/native/admin/access.ts';
import { databases, startTokend, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = 'admin-token-for-provisioning-0123456789abcdef';

/**
 * The credential the provisioning system calls the admin API with: a narrow operator key
 * (`tdp_…`) holding only these permissions, made once by the operator with the admin token, as
 * docs/admin-api.md advises for a sign-up flow.
 */
const PROVISIONING_PERMISSIONS: readonly Permission[] = ['accounts:write', 'apps:write', 'service-accounts:write', 'tokens:write', 'sessions:write', 'audit:read'];
async function provisioningCredential(t: TestTokend): Promise<string> {
  const res = await fetch(`${t.url}/api/admin/operator-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'sign-up flow', permissions: PROVISIONING_PERMISSIONS, expiresIn: '30d' }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const { key } = (await res.json()) as { key: string };
  assert.match(key, /^tdp_/);
  return key;
}

interface Answer {
  status: number;
  body: any;
}

for (const db of databases()) {
  describe(`provisioning a customer over HTTP (${db})`, () => {
    let t: TestTokend;
    let credential: string;
    /** Every admin call the provisioning made, to hold the routes' permissions to PROVISIONING_PERMISSIONS. */
    const calls: { method: string; path: string }[] = [];

    before(async () => {
      t = await startTokend({ db, config: { adminToken: ADMIN_TOKEN, verifyCacheTtl: 0 }, listen: true });
      credential = await provisioningCredential(t);
    });
    after(async () => t.close());

    /** The operator's system: JSON over HTTP with the provisioning credential; creating POSTs carry an Idempotency-Key. */
    async function operator(method: string, path: string, body?: unknown): Promise<Answer> {
      const headers: Record<string, string> = { authorization: `Bearer ${credential}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (method === 'POST') headers['idempotency-key'] = randomUUID();
      calls.push({ method, path: path.split('?')[0]! });
      const res = await fetch(`${t.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    }

    /** The customer: plain HTTP on each scheme's wire, as the schemes' own clients send it. */
    async function customer(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
      const res = await fetch(`${t.url}${path}`, {
        method,
        headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    }

    it('account, app, service account and key, v3 and l3 tokens; each works on its wire; revoked, deleted, disabled', async () => {
      // --- the operator's system provisions ---------------------------------------------------
      const email = `customer-${randomUUID().slice(0, 8)}@example.com`;
      const password = 'a long customer password';
      const account = await operator('POST', '/api/admin/accounts', { email, password, name: 'Customer Ltd' });
      assert.equal(account.status, 201, JSON.stringify(account.body));
      const { id: accountId, uid } = account.body as { id: number; uid: string };

      const app = await operator('POST', `/api/admin/accounts/${accountId}/apps`, { name: 'Shop integration' });
      assert.equal(app.status, 201, JSON.stringify(app.body));
      const appId = app.body.appId as string;

      const sa = await operator('POST', `/api/admin/accounts/${accountId}/service-accounts`, { name: 'DNS robot', actions: ['dns_orders_list', 'dns_records_edit'] });
      assert.equal(sa.status, 201, JSON.stringify(sa.body));
      const key = await operator('POST', `/api/admin/service-accounts/${sa.body.id}/keys`, { expiresIn: '90d' });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      const { keyId, accessKey, secretKey } = key.body as { keyId: number; accessKey: string; secretKey: string };

      const v3 = await operator('POST', `/api/admin/accounts/${accountId}/api-tokens`, { format: 'v3', label: 'ERP' });
      const l3 = await operator('POST', `/api/admin/accounts/${accountId}/api-tokens`, { format: 'l3', label: 'Billing', expiresIn: '365d' });
      assert.equal(v3.status, 201, JSON.stringify(v3.body));
      assert.equal(l3.status, 201, JSON.stringify(l3.body));

      // --- the customer uses each credential on its scheme's wire --------------------------------
      const made = await customer('POST', '/v1/tokens', {}, { email, password, appId });
      assert.equal(made.status, 200, JSON.stringify(made.body));
      const chatapp = made.body.data as { accessToken: string; refreshToken: string; cabinetUserId: number };
      assert.equal(chatapp.cabinetUserId, accountId);
      const chatCheck = await customer('GET', '/v1/tokens/check', { authorization: chatapp.accessToken });
      assert.equal(chatCheck.status, 200, JSON.stringify(chatCheck.body));
      assert.equal(chatCheck.body.data.appId, appId);

      const hoster = await customer('POST', '/service/account/create/token', { 'access-key': accessKey, 'secret-key': secretKey });
      assert.equal(hoster.status, 200, JSON.stringify(hoster.body));
      const serviceAccess = hoster.body.payload.accessToken as string;
      const info = await customer('GET', '/token/info/access', { 'access-token': serviceAccess });
      assert.equal(info.status, 200, JSON.stringify(info.body));
      assert.equal(info.body.payload.userId, accountId);
      assert.deepEqual(info.body.payload.actions, ['dns_orders_list', 'dns_records_edit']);

      for (const [path, token] of [['v3', v3.body.token], ['l3', l3.body.token]] as const) {
        const check = await customer('GET', `/${path}/security/api/auth/auth`, { authorization: `Bearer ${token}` });
        assert.equal(check.status, 200, JSON.stringify(check.body));
        assert.equal(check.body.data.userId, uid);
      }

      // --- the operator sees what happened ------------------------------------------------------
      const sessions = await operator('GET', `/api/admin/accounts/${accountId}/sessions`);
      assert.equal(sessions.status, 200);
      assert.deepEqual(sessions.body.items.map((s: { kind: string }) => s.kind).sort(), ['chatapp', 'service']);
      const trail = await operator('GET', `/api/admin/audit?account=${accountId}`);
      assert.equal(trail.status, 200);
      const types = new Set((trail.body.items as { type: string }[]).map((e) => e.type));
      for (const type of ['account.created', 'app.created', 'service_account.created', 'service_key.created', 'api_token.created', 'login.succeeded', 'service_token.created']) {
        assert.ok(types.has(type), `${type} in the audit trail`);
      }

      // --- revoke each credential: its next check fails on the wire ------------------------------
      assert.equal((await operator('POST', `/api/admin/api-tokens/${v3.body.id}/revoke`, {})).status, 200);
      assert.equal((await customer('GET', '/v3/security/api/auth/auth', { authorization: `Bearer ${v3.body.token}` })).status, 401);
      assert.equal((await customer('GET', '/l3/security/api/auth/auth', { authorization: `Bearer ${l3.body.token}` })).status, 200, 'the other token still works');

      assert.equal((await operator('POST', `/api/admin/service-accounts/${sa.body.id}/keys/${keyId}/revoke`, {})).status, 200);
      assert.equal((await customer('POST', '/service/account/create/token', { 'access-key': accessKey, 'secret-key': secretKey })).status, 401);
      assert.notEqual((await customer('GET', '/token/info/access', { 'access-token': serviceAccess })).status, 200);

      const revokedAll = await operator('POST', `/api/admin/accounts/${accountId}/sessions/revoke-all`, {});
      assert.deepEqual(revokedAll.body, { revoked: 1 }, 'the ChatApp session (the service one ended with its key)');
      assert.equal((await customer('GET', '/v1/tokens/check', { authorization: chatapp.accessToken })).status, 401);
      assert.notEqual((await customer('POST', '/v1/tokens/refresh', { refresh: chatapp.refreshToken })).status, 200);

      // --- delete the app, disable the account ----------------------------------------------------
      assert.equal((await operator('DELETE', `/api/admin/apps/${appId}`)).status, 200);
      assert.notEqual((await customer('POST', '/v1/tokens', {}, { email, password, appId })).status, 200, 'tokens.make with the deleted app fails');
      assert.deepEqual((await operator('GET', `/api/admin/accounts/${accountId}/apps`)).body, { items: [], nextCursor: null });

      const disabled = await operator('POST', `/api/admin/accounts/${accountId}/disable`, {});
      assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
      assert.equal((await customer('GET', '/l3/security/api/auth/auth', { authorization: `Bearer ${l3.body.token}` })).status, 403, 'a disabled account fails every check (Invoicebox: 403)');

      // --- delete the account: it and everything it owned are gone ---------------------------------
      assert.equal((await operator('DELETE', `/api/admin/accounts/${accountId}`)).status, 200);
      assert.equal((await operator('GET', `/api/admin/accounts/${accountId}`)).status, 404);
      assert.equal((await customer('GET', '/l3/security/api/auth/auth', { authorization: `Bearer ${l3.body.token}` })).status, 401, 'a deleted account\'s token is unknown');
      assert.equal((await customer('POST', '/v1/tokens', {}, { email, password, appId })).status, 401, 'its email and password no longer sign in');
    });

    it('every admin route the provisioning called is within the permissions a narrow operator key would hold', () => {
      let declared = 0;
      for (const call of calls) {
        const route = t.routes.find((r) => {
          const methods = Array.isArray(r.method) ? r.method : [r.method];
          const pattern = new RegExp(`^${r.url.replace(/:[A-Za-z]+/g, '[^/]+')}$`);
          return methods.includes(call.method as never) && pattern.test(call.path);
        });
        assert.ok(route, `${call.method} ${call.path} is a route`);
        const permission = route.config?.permission;
        if (permission === undefined) continue;
        declared++;
        assert.notEqual(permission, 'admin', `${call.method} ${call.path} needs the admin token`);
        assert.ok(allows(PROVISIONING_PERMISSIONS, permission as Permission), `${call.method} ${call.path} needs ${permission}`);
      }
      assert.ok(declared >= 10, `${declared} of ${calls.length} calls named a permission`);
    });
  });
}
