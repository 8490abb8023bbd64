/**
 * The admin API across nodes sharing a PostgreSQL database: an operator key revoked on one node,
 * and an account deleted on one node, are refused by the other at once, its verification cache
 * warm and its staleness bound far away (the change travels by LISTEN/NOTIFY); wrong credentials
 * count towards one limit whichever node they reach. PostgreSQL only:
 * SQLite is one process.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminCaller, createOperatorKey } from './helpers/admin.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = testAdminToken();
/** Far above the time a notification takes: a refusal within it is the notification's doing. */
const CACHE_TTL_MS = 60_000;
const NOTIFY_WITHIN_MS = 3000;
const GUESSES = 6;

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const until = Date.now() + NOTIFY_WITHIN_MS;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(25);
  }
  assert.fail(`${what} within ${NOTIFY_WITHIN_MS} ms`);
}

for (const kind of databases().filter((d) => d === 'postgres')) {
  describe(`admin API across nodes (${kind})`, () => {
    let db: TestDatabase;
    let a: TestTokend;
    let b: TestTokend;

    before(async () => {
      db = await createTestDatabase(kind);
      const config = { adminToken: ADMIN_TOKEN, verifyCacheTtl: CACHE_TTL_MS, credentialMaxFailures: GUESSES };
      a = await startTokend({ db, config });
      b = await startTokend({ db, config });
    });
    after(async () => {
      await b?.close();
      await a?.close();
      await db?.drop();
    });

    it('an operator key revoked on node A is refused by node B at once, B\'s cache warm', async () => {
      const key = await createOperatorKey(a, ADMIN_TOKEN, ['accounts:read']);
      const onB = adminCaller(b, key.key);
      assert.equal((await onB('GET', '/api/admin/accounts')).statusCode, 200);
      assert.equal((await adminCaller(a, ADMIN_TOKEN)('POST', `/api/admin/operator-keys/${key.id}/revoke`, {})).statusCode, 200);
      await eventually(async () => (await onB('GET', '/api/admin/accounts')).statusCode === 401, 'node B refuses the revoked key');
    });

    it('wrong credentials on node A count on node B too: past the limit, B refuses the right one from that address', async () => {
      const address = '203.0.113.9';
      for (let i = 0; i < GUESSES; i++) {
        const res = await adminCaller(a, `wrong-${i}`, address)('GET', '/api/admin/accounts');
        assert.equal(res.statusCode, 401, res.body);
      }
      const onB = await adminCaller(b, ADMIN_TOKEN, address)('GET', '/api/admin/accounts');
      assert.equal(onB.statusCode, 429, onB.body);
      const introspect = await b.app.inject({ method: 'POST', url: '/oauth2/introspect', remoteAddress: address, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { token: 'x' } });
      assert.equal(introspect.statusCode, 429);
      assert.equal((await adminCaller(b, ADMIN_TOKEN, '203.0.113.10')('GET', '/api/admin/accounts')).statusCode, 200, 'another address is fine');
    });

    it('an account deleted on node A: its API token fails on node B at once, B\'s cache warm', async () => {
      const u = await seedAccount(a.core);
      const { token } = await a.core.apiTokens.create({ accountId: u.accountId, format: 'native', label: 'x' }, { address: 'test' });
      const check = async (): Promise<number> =>
        (await b.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } })).statusCode;
      assert.equal(await check(), 200);
      assert.equal((await adminCaller(a, ADMIN_TOKEN)('DELETE', `/api/admin/accounts/${u.accountId}`)).statusCode, 200);
      await eventually(async () => (await check()) === 401, 'node B refuses the deleted account\'s token');
    });
  });
}
