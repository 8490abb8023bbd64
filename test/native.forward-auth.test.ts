/** `GET /auth/verify`: forward-auth for reverse proxies, every dialect's token header, on SQLite and PostgreSQL. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.ts';
import { checkResponse } from './helpers/envelopes.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const CTX = { address: 'test' };

for (const db of databases()) {
  describe(`GET /auth/verify (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let user: Awaited<ReturnType<typeof seedAccount>>;

    before(async () => {
      t = await startTokend({ db, clock });
      user = await seedAccount(t.core);
    });
    after(async () => t.close());

    async function verify(headers: Record<string, string>) {
      const res = await t.app.inject({ method: 'GET', url: '/auth/verify', headers });
      const problem = checkResponse({ method: 'GET', url: '/auth/verify' }, { status: res.statusCode, headers: res.headers, body: res.body });
      assert.equal(problem, null, problem ?? '');
      if (res.statusCode === 401) {
        assert.equal(res.headers['x-tokend-user-id'], undefined, 'no identity on a 401');
        assert.deepEqual(res.json(), { error: { code: 'invalid_token', message: 'Missing or invalid token' } });
        assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      }
      return res;
    }

    it('an API token as Bearer: 200 with the identity headers', async () => {
      for (const format of ['v3', 'l3', 'native'] as const) {
        const { token, apiToken } = await t.core.apiTokens.create({ accountId: user.accountId, format }, CTX);
        const res = await verify({ authorization: `Bearer ${token}` });
        assert.equal(res.statusCode, 200, format);
        assert.equal(res.headers['x-tokend-user-id'], String(user.accountId));
        assert.equal(res.headers['x-tokend-token-kind'], 'api_token');
        assert.equal(res.headers['x-tokend-scope'], '');
        assert.equal(res.headers['x-tokend-account-uid'], user.uid);
        assert.equal(res.headers['x-tokend-client-id'], apiToken.id);
        assert.equal(res.body, '');
      }
    });

    it('a ChatApp access token, raw (as ChatApp sends it) or Bearer: 200; its refresh token: 401', async () => {
      const made = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: user.email, password: user.password, appId: user.appId } });
      const { accessToken, refreshToken, accessTokenEndTime } = made.json().data;
      for (const authorization of [accessToken, `Bearer ${accessToken}`]) {
        const res = await verify({ authorization });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['x-tokend-user-id'], String(user.accountId));
        assert.equal(res.headers['x-tokend-token-kind'], 'access');
        assert.equal(res.headers['x-tokend-client-id'], user.appId);
        assert.equal(res.headers['x-tokend-expires-at'], String(accessTokenEndTime));
      }
      assert.equal((await verify({ authorization: `Bearer ${refreshToken}` })).statusCode, 401);
      assert.equal((await verify({ 'access-token': refreshToken })).statusCode, 401);
    });

    it('a service-account JWT in Access-Token (hoster.by) or as Bearer: 200 with its actions; X-User-Id must match', async () => {
      const sa = await t.core.serviceAccounts.create({ accountId: user.accountId, name: 'proxy', actions: ['dns_orders_list'] }, CTX);
      const key = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      const created = await t.core.serviceAccounts.createTokens({ accessKey: key.key.accessKey, secretKey: key.secretKey }, CTX);
      assert.ok(created.ok);
      const jwt = created.pair.accessToken;
      const variants: Record<string, string>[] = [{ 'access-token': jwt }, { 'access-token': jwt, 'x-user-id': String(user.accountId) }, { authorization: `Bearer ${jwt}` }];
      for (const headers of variants) {
        const res = await verify(headers);
        assert.equal(res.statusCode, 200, JSON.stringify(Object.keys(headers)));
        assert.equal(res.headers['x-tokend-token-kind'], 'service_access');
        assert.equal(res.headers['x-tokend-scope'], 'dns_orders_list');
        assert.equal(res.headers['x-tokend-user-id'], String(user.accountId));
        assert.equal(res.headers['x-tokend-client-id'], key.key.accessKey);
      }
      assert.equal((await verify({ 'access-token': jwt, 'x-user-id': String(user.accountId + 1) })).statusCode, 401);
    });

    it('no token, another scheme, garbage, revoked or expired: 401', async () => {
      const revoked = await t.core.apiTokens.create({ accountId: user.accountId }, CTX);
      assert.equal((await verify({ authorization: `Bearer ${revoked.token}` })).statusCode, 200);
      await t.core.apiTokens.revoke(revoked.apiToken.id, CTX);
      const expiring = await t.core.apiTokens.create({ accountId: user.accountId, expiresAt: clock.now() + 1000 }, CTX);
      assert.equal((await verify({ authorization: `Bearer ${expiring.token}` })).statusCode, 200);
      clock.advance(1000);
      const cases: Record<string, Record<string, string>> = {
        none: {},
        empty: { authorization: '' },
        basic: { authorization: 'Basic dXNlcjpwYXNz' },
        garbage: { authorization: 'Bearer nope' },
        revoked: { authorization: `Bearer ${revoked.token}` },
        expired: { authorization: `Bearer ${expiring.token}` },
        spoofedIdentityOnly: { 'x-tokend-user-id': '1' },
      };
      for (const [name, headers] of Object.entries(cases)) assert.equal((await verify(headers)).statusCode, 401, name);
    });

    it('a disabled account: 401 for its tokens, at once', async () => {
      const other = await seedAccount(t.core);
      const { token } = await t.core.apiTokens.create({ accountId: other.accountId }, CTX);
      assert.equal((await verify({ authorization: `Bearer ${token}` })).statusCode, 200);
      await t.core.accounts.setStatus(other.accountId, 'disabled', CTX);
      assert.equal((await verify({ authorization: `Bearer ${token}` })).statusCode, 401);
    });

    it('HEAD works too (some proxies probe with it)', async () => {
      const { token } = await t.core.apiTokens.create({ accountId: user.accountId }, CTX);
      const res = await t.app.inject({ method: 'HEAD', url: '/auth/verify', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-tokend-user-id'], String(user.accountId));
    });
  });
}
