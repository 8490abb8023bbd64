/**
 * An API token's checks per day by outcome, as its page charts them (cabinet and admin API): every
 * check of a known token is counted once under what it ended in, none is written per check, and
 * another account's token is not found. On SQLite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = 'admin-token-for-token-usage-tests-0123456789';
const HOST = 'tokend.test';
const CTX = { address: 'test' };

for (const db of databases()) {
  describe(`API token usage (${db})`, () => {
    let t: TestTokend;
    before(async () => {
      t = await startTokend({ db, config: { adminToken: ADMIN_TOKEN } });
    });
    after(async () => t.close());

    async function cabinetCookie(u: Awaited<ReturnType<typeof seedAccount>>): Promise<string> {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/cabinet/session',
        headers: { host: HOST, origin: `http://${HOST}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ email: u.email, password: u.password }),
      });
      assert.equal(res.statusCode, 200, res.body);
      return String(res.headers['set-cookie']).split(';')[0]!;
    }

    it('counts passed and refused checks by reason; credits left beside them', async () => {
      const u = await seedAccount(t.core);
      const { token, apiToken } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, CTX);
      await t.core.policies.put({ subject: { kind: 'api_token', id: apiToken.id }, accountId: u.accountId }, { ipAllowList: ['10.0.0.0/8'], credits: { remaining: 3 } }, CTX);
      const check = (address: string) => t.core.verification.check(token, { accept: ['api_token'], address });
      for (const address of ['10.0.0.1', '10.0.0.2', '192.0.2.1', '10.0.0.3', '10.0.0.4']) await check(address);
      await t.core.apiTokens.revoke(apiToken.id, CTX);
      await check('10.0.0.5');
      await check('10.0.0.6');
      // Never a token tokend does not know.
      await t.core.verification.check('0123456789abcdef0123456789abcdef', { accept: ['api_token'], address: '10.0.0.1' });

      const res = await t.app.inject({ method: 'GET', url: `/api/cabinet/api-tokens/${apiToken.id}/usage?days=2`, headers: { host: HOST, cookie: await cabinetCookie(u) } });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.days.length, 2);
      const today = body.days[1];
      assert.equal(today.ok, 3);
      assert.deepEqual(today.refused, { rate_limited: 0, credits_exhausted: 1, ip_denied: 1, scope_missing: 0, revoked: 2, expired: 0, account_disabled: 0 });
      assert.equal(body.creditsLeft, 0);

      await t.core.tokenUsage.flush();
      const admin = await t.app.inject({ method: 'GET', url: `/api/admin/api-tokens/${apiToken.id}/usage`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(admin.statusCode, 200, admin.body);
      assert.equal(admin.json().days.at(-1).ok, 3, 'the same figures once written');
      assert.equal(admin.json().days.length, 14);
    });

    it("another account's token and an unknown one are both 404; a malformed id is 400", async () => {
      const owner = await seedAccount(t.core);
      const other = await seedAccount(t.core);
      const { apiToken } = await t.core.apiTokens.create({ accountId: owner.accountId, format: 'native' }, CTX);
      const cookie = await cabinetCookie(other);
      const foreign = await t.app.inject({ method: 'GET', url: `/api/cabinet/api-tokens/${apiToken.id}/usage`, headers: { host: HOST, cookie } });
      assert.equal(foreign.statusCode, 404);
      const unknown = await t.app.inject({ method: 'GET', url: '/api/cabinet/api-tokens/nope/usage', headers: { host: HOST, cookie } });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().error.code, 'not_found');
      const bad = await t.app.inject({ method: 'GET', url: '/api/cabinet/api-tokens/a%20b/usage?days=0', headers: { host: HOST, cookie } });
      assert.equal(bad.statusCode, 400);
    });
  });
}
