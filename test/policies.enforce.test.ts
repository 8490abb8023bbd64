/**
 * Policies enforced on every check, on SQLite and PostgreSQL: the ChatApp, hoster.by and
 * Invoicebox checks, `/auth/verify` and introspection refuse in their own envelope with a
 * documented code (429 with Retry-After and RateLimit headers, 403), and their success bodies are
 * exactly what they were without rules.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = 'admin-token-for-enforcement-tests-0123456789abcdef';
const CTX = { address: 'test' };
const INSIDE = '203.0.113.7';
const OUTSIDE = '198.51.100.9';

for (const db of databases()) {
  describe(`policies enforced (${db})`, () => {
    let t: TestTokend;
    let user: Awaited<ReturnType<typeof seedAccount>>;

    before(async () => {
      t = await startTokend({ db, config: { adminToken: ADMIN_TOKEN } });
      user = await seedAccount(t.core);
    });
    after(async () => t.close());

    function get(url: string, headers: Record<string, string>, remoteAddress = INSIDE): Promise<LightMyRequestResponse> {
      return t.app.inject({ method: 'GET', url, headers, remoteAddress });
    }
    function introspect(form: Record<string, string>, remoteAddress = INSIDE): Promise<LightMyRequestResponse> {
      return t.app.inject({
        method: 'POST',
        url: '/oauth2/introspect',
        remoteAddress,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      });
    }
    async function setPolicy(kind: 'api_token' | 'service_key' | 'app', ref: string, rules: Parameters<TestTokend['core']['policies']['put']>[1]): Promise<void> {
      const subject = await t.core.policies.resolve(kind, ref);
      assert.ok(subject);
      await t.core.policies.put(subject, rules, CTX);
    }

    it('ChatApp check: rate limit 429 and allow-list 403 in the ChatApp envelope; the success body is unchanged', async () => {
      const login = await t.core.accounts.passwordLogin({ email: user.email, password: user.password, appId: user.appId }, CTX);
      assert.ok(login.ok);
      const token = login.pair.accessToken;
      const before = await get('/v1/tokens/check', { authorization: token });
      assert.equal(before.statusCode, 200);
      await setPolicy('app', user.appId, { rateLimits: [{ limit: 2, windowSeconds: 60 }], ipAllowList: ['203.0.113.0/24'] });

      const ok = await get('/v1/tokens/check', { authorization: token });
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(ok.json(), before.json(), 'a success body does not change');
      assert.equal(ok.headers['ratelimit-policy'], '"60s";q=2;w=60');
      assert.equal(ok.headers.ratelimit, '"60s";r=1;t=30');
      assert.equal((await get('/v1/tokens/check', { authorization: token })).statusCode, 200);
      const limited = await get('/v1/tokens/check', { authorization: token });
      assert.equal(limited.statusCode, 429);
      assert.deepEqual(limited.json(), { success: false, error: { code: 'ApiRateLimitError', message: 'Rate limit exceeded' } });
      assert.equal(limited.headers['retry-after'], '30');
      assert.equal(limited.headers.ratelimit, '"60s";r=0;t=60');

      const denied = await get('/v1/tokens/check', { authorization: token }, OUTSIDE);
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.json().error.code, 'ApiIpDeniedError');
      // Behind no trusted proxy, a client's X-Forwarded-For changes nothing.
      const spoofed = await get('/v1/tokens/check', { authorization: token, 'x-forwarded-for': INSIDE }, OUTSIDE);
      assert.equal(spoofed.json().error.code, 'ApiIpDeniedError');
    });

    it('hoster.by check: credits exhausted 429 in the hoster.by envelope; the success body is unchanged', async () => {
      const sa = await t.core.serviceAccounts.create({ accountId: user.accountId, name: 'dns', actions: ['dns_orders_list'] }, CTX);
      const key = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      const made = await t.core.serviceAccounts.createTokens({ accessKey: key.key.accessKey, secretKey: key.secretKey }, CTX);
      assert.ok(made.ok);
      const headers = { 'access-token': made.pair.accessToken };
      const before = await get('/token/info/access', headers);
      assert.equal(before.statusCode, 200, before.body);
      await setPolicy('service_key', String(key.key.id), { credits: { remaining: 2 } });
      const ok = await get('/token/info/access', headers);
      assert.equal(ok.body, before.body, 'a success body does not change, byte for byte');
      assert.equal(ok.headers['x-tokend-credits-remaining'], '1');
      assert.equal((await get('/token/info/access', headers)).statusCode, 200);
      const broke = await get('/token/info/access', headers);
      assert.equal(broke.statusCode, 429);
      const body = JSON.parse(broke.body);
      assert.equal(body.httpCode, 429);
      assert.deepEqual(body.codeList, { error: ['credits_exhausted'] });
      assert.equal(broke.headers['retry-after'], '86400', 'credits without refill: every 429 carries Retry-After, a day');

      // The key's own actions are its scope: /auth/verify can require one.
      await setPolicy('service_key', String(key.key.id), {});
      const scoped = await get('/auth/verify', { ...headers, 'x-tokend-required-scope': 'dns_orders_delete' });
      assert.equal(scoped.statusCode, 403);
      assert.equal(scoped.json().error.code, 'scope_missing');
      assert.equal((await get('/auth/verify', { ...headers, 'x-tokend-required-scope': 'dns_orders_list' })).statusCode, 200);
    });

    it('Invoicebox check: rate limit 429 (too_many_requests), allow-list 403 (forbidden); the success body is unchanged', async () => {
      const created = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      const headers = { authorization: `Bearer ${created.token}` };
      const before = await get('/v3/security/api/auth/auth', headers);
      assert.equal(before.statusCode, 200);
      await setPolicy('api_token', created.apiToken.id, { rateLimits: [{ limit: 1, windowSeconds: 1 }, { limit: 100, windowSeconds: 3600 }], ipAllowList: ['2001:db8::/32', '203.0.113.0/24'] });
      const ok = await get('/v3/security/api/auth/auth', headers);
      assert.equal(ok.body, before.body);
      assert.equal(ok.headers['ratelimit-policy'], '"1s";q=1;w=1, "3600s";q=100;w=3600');
      const limited = await get('/v3/security/api/auth/auth', headers);
      assert.equal(limited.statusCode, 429);
      assert.deepEqual(limited.json(), { error: { message: 'Too Many Requests', code: 'too_many_requests' } });
      assert.equal(limited.headers['retry-after'], '1');
      const denied = await get('/v3/security/api/auth/auth', headers, OUTSIDE);
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.json().error.code, 'forbidden');
      const v6 = await get('/l3/security/api/auth/auth', headers, '2001:db8::42');
      assert.notEqual(v6.statusCode, 403, 'an address inside the IPv6 range is allowed');
    });

    it('/auth/verify: scope, cost and the figures as headers; 429 and 403 in the native envelope', async () => {
      const sa = await t.core.serviceAccounts.create({ accountId: user.accountId, name: 'billing', actions: ['billing_read', 'billing_write'] }, CTX);
      void sa;
      const created = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native' }, CTX);
      await setPolicy('api_token', created.apiToken.id, { scopes: ['billing_read'], credits: { remaining: 10 } });
      const headers = { authorization: `Bearer ${created.token}` };
      const ok = await get('/auth/verify', { ...headers, 'x-tokend-required-scope': 'billing_read', 'x-tokend-cost': '4' });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.headers['x-tokend-credits-remaining'], '6');
      const missing = await get('/auth/verify', { ...headers, 'x-tokend-required-scope': 'billing_write' });
      assert.equal(missing.statusCode, 403);
      assert.deepEqual(missing.json(), { error: { code: 'scope_missing', message: 'The token lacks the required scope' } });
      const tooDear = await get('/auth/verify', { ...headers, 'x-tokend-cost': '7' });
      assert.equal(tooDear.statusCode, 429);
      assert.equal(tooDear.json().error.code, 'credits_exhausted');
      const badCost = await get('/auth/verify', { ...headers, 'x-tokend-cost': '-1' });
      assert.equal(badCost.statusCode, 400);
      // Without a policy the answer is as before: no policy headers.
      const plain = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native' }, CTX);
      const none = await get('/auth/verify', { authorization: `Bearer ${plain.token}` });
      assert.equal(none.statusCode, 200);
      assert.equal(none.headers.ratelimit, undefined);
    });

    it('introspection: scope and cost; inactive with the reason for callers that ask', async () => {
      const created = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      await setPolicy('api_token', created.apiToken.id, { rateLimits: [{ limit: 1, windowSeconds: 60 }] });
      const first = await introspect({ token: created.token });
      assert.equal(first.json().active, true);
      assert.equal((await introspect({ token: created.token })).body, '{"active":false}');
      const why = await introspect({ token: created.token, include_reason: 'true' });
      assert.deepEqual(why.json(), { active: false, reason: 'rate_limited', retry_after: 60 });
      const unknown = await introspect({ token: 'f'.repeat(32), include_reason: 'true' });
      assert.deepEqual(unknown.json(), { active: false, reason: 'invalid' });
    });
  });
}
