/**
 * Policies over the admin and cabinet APIs, on SQLite and PostgreSQL: set, read and remove the
 * rules of every subject kind; bad rules are 400 naming the field with nothing stored; unknown
 * fields are refused; a customer sets rules on its own tokens only, and cannot touch credits.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = 'admin-token-for-policy-tests-0123456789abcdef';
const HOST = 'tokend.test';
const ORIGIN = `http://${HOST}`;
const CTX = { address: 'test' };

for (const db of databases()) {
  describe(`policies over HTTP (${db})`, () => {
    let t: TestTokend;
    let user: Awaited<ReturnType<typeof seedAccount>>;
    let tokenId: string;
    let keyId: number;

    before(async () => {
      t = await startTokend({ db, config: { adminToken: ADMIN_TOKEN } });
      user = await seedAccount(t.core);
      tokenId = (await t.core.apiTokens.create({ accountId: user.accountId, format: 'native' }, CTX)).apiToken.id;
      const sa = await t.core.serviceAccounts.create({ accountId: user.accountId, name: 'dns', actions: ['dns_orders_list', 'dns_orders_create'] }, CTX);
      keyId = (await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX)).key.id;
    });
    after(async () => t.close());

    function admin(method: 'GET' | 'PUT' | 'DELETE', url: string, body?: unknown, token = ADMIN_TOKEN): Promise<LightMyRequestResponse> {
      const headers: Record<string, string> = { host: HOST, authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      return t.app.inject({ method, url, headers, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
    }

    it('sets, reads and removes the rules of an API token, a key, an app and an account', async () => {
      const put = await admin('PUT', `/api/admin/api-tokens/${tokenId}/policy`, {
        rateLimits: [{ limit: 100, windowSeconds: 1 }, { limit: 10000, windowSeconds: 86400 }],
        credits: { remaining: 500, refill: { amount: 500, interval: 'monthly' } },
        ipAllowList: ['203.0.113.0/24', '2001:db8::/32'],
        scopes: ['dns_orders_list'],
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().creditsLeft, 500);
      const got = await admin('GET', `/api/admin/api-tokens/${tokenId}/policy`);
      assert.equal(got.statusCode, 200);
      assert.deepEqual(got.json().rules.scopes, ['dns_orders_list']);
      assert.deepEqual(got.json().subject, { kind: 'api_token', id: tokenId });

      const key = await admin('PUT', `/api/admin/service-keys/${keyId}/policy`, { ipAllowList: ['10.0.0.0/8'] });
      assert.equal(key.statusCode, 200, key.body);
      assert.equal(key.json().subject.kind, 'service_key');
      const app = await admin('PUT', `/api/admin/apps/${user.appId}/policy`, { rateLimits: [{ limit: 5, windowSeconds: 60 }] });
      assert.equal(app.statusCode, 200, app.body);
      const account = await admin('PUT', `/api/admin/accounts/${user.accountId}/policy`, { expiry: { maxLifetimeSeconds: 90 * 86400, required: true } });
      assert.equal(account.statusCode, 200, account.body);

      const removed = await admin('DELETE', `/api/admin/apps/${user.appId}/policy`);
      assert.deepEqual(removed.json(), { removed: true });
      assert.deepEqual((await admin('DELETE', `/api/admin/apps/${user.appId}/policy`)).json(), { removed: false });
      const none = (await admin('GET', `/api/admin/apps/${user.appId}/policy`)).json();
      assert.equal(none.updatedAt, null);
      assert.deepEqual(none.rules.rateLimits, []);
      await admin('DELETE', `/api/admin/accounts/${user.accountId}/policy`);
    });

    it('bad rules: 400 naming the field, nothing stored', async () => {
      const fresh = (await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX)).apiToken.id;
      const url = `/api/admin/api-tokens/${fresh}/policy`;
      const cases: [unknown, string][] = [
        [{ rateLimits: [{ limit: 10, windowSeconds: 0 }] }, 'rateLimits[0].windowSeconds'],
        [{ credits: { remaining: 10, cost: -1 } }, 'credits.cost'],
        [{ ipAllowList: ['10.0.0.0/33'] }, 'ipAllowList[0]'],
        [{ ipAllowList: ['::1', '2001:db8:::/32'] }, 'ipAllowList[1]'],
        [{ scopes: ['billing_read'] }, 'scopes[0]'],
        [{ expiry: { required: true } }, 'expiry'],
      ];
      for (const [body, field] of cases) {
        const res = await admin('PUT', url, body);
        assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
        assert.equal(res.json().error.code, 'validation_failed');
        assert.equal(res.json().error.fields[0].name, field, res.body);
      }
      const unknown = await admin('PUT', url, { rateLimit: [{ limit: 1, windowSeconds: 1 }] });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.json().error.code, 'validation_failed');
      const wrongType = await admin('PUT', url, { rateLimits: [{ limit: '10', windowSeconds: 1 }] });
      assert.equal(wrongType.statusCode, 400);
      assert.equal((await admin('GET', url)).json().updatedAt, null);
      assert.equal(await t.core.store.policies.get({ kind: 'api_token', id: fresh }), null);
      // An expiry past the account's maximum, when a token is made.
      await admin('PUT', `/api/admin/accounts/${user.accountId}/policy`, { expiry: { maxLifetimeSeconds: 86400 } });
      await assert.rejects(t.core.apiTokens.create({ accountId: user.accountId, format: 'v3', expiresAt: Date.now() + 2 * 86400_000 }, CTX), /maximum/);
      await admin('DELETE', `/api/admin/accounts/${user.accountId}/policy`);
    });

    it('unknown subjects are 404; no admin token is 401', async () => {
      assert.equal((await admin('GET', '/api/admin/api-tokens/0000aaaa/policy')).statusCode, 404);
      assert.equal((await admin('PUT', '/api/admin/service-keys/999999/policy', {})).statusCode, 404);
      assert.equal((await admin('GET', '/api/admin/apps/no_such_app/policy')).statusCode, 404);
      assert.equal((await admin('GET', `/api/admin/api-tokens/${tokenId}/policy`, undefined, 'wrong-admin-token-0123456789abcdefghijkl')).statusCode, 401);
    });

    it('cabinet: an account sets rules on its own tokens, not on others\', and cannot give itself credits', async () => {
      const signIn = await t.app.inject({ method: 'POST', url: '/api/cabinet/session', headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/json' }, payload: JSON.stringify({ email: user.email, password: user.password }) });
      assert.equal(signIn.statusCode, 200, signIn.body);
      const raw = signIn.headers['set-cookie'];
      const line = (Array.isArray(raw) ? raw : [raw ?? '']).find((c) => c.startsWith('tokend_cabinet='))!;
      const headers = { host: HOST, origin: ORIGIN, cookie: line.split(';')[0]!, 'x-csrf-token': signIn.json().csrfToken as string, 'content-type': 'application/json' };
      const put = (id: string, body: unknown): Promise<LightMyRequestResponse> => t.app.inject({ method: 'PUT', url: `/api/cabinet/api-tokens/${id}/policy`, headers, payload: JSON.stringify(body) });

      await admin('PUT', `/api/admin/api-tokens/${tokenId}/policy`, { credits: { remaining: 7 } });
      const mine = await put(tokenId, { ipAllowList: ['198.51.100.0/24'], rateLimits: [{ limit: 10, windowSeconds: 60 }] });
      assert.equal(mine.statusCode, 200, mine.body);
      assert.deepEqual(mine.json().rules.credits, { remaining: 7, cost: 1, refill: null }, 'the operator\'s credits stay');
      const selfCredit = await put(tokenId, { credits: { remaining: 1_000_000 } });
      assert.equal(selfCredit.statusCode, 400, 'credits are not the customer\'s to set');
      const bad = await put(tokenId, { ipAllowList: ['10.0.0.0/33'] });
      assert.equal(bad.json().error.fields[0].name, 'ipAllowList[0]');

      const other = await seedAccount(t.core);
      const theirs = (await t.core.apiTokens.create({ accountId: other.accountId, format: 'v3' }, CTX)).apiToken.id;
      assert.equal((await put(theirs, { ipAllowList: ['10.0.0.0/8'] })).statusCode, 404);
      assert.equal(await t.core.store.policies.get({ kind: 'api_token', id: theirs }), null);
    });
  });
}
