/**
 * A rotated API token's rules move to its successor in the rotation's transaction (docs/policies.md,
 * "Rotation"): the new token is bound by the same allow-list, scopes and limits from its first
 * check, takes over the credit balance, and the old one keeps its rules for its grace period but
 * no credits, so a rotation cannot double a balance. On SQLite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { openServices, type Services } from '../src/services.ts';
import { createTestDatabase, databases, seedAccount, type TestDatabase } from './helpers/harness.ts';

const CTX = { address: 'test' };

for (const kind of databases()) {
  describe(`rules carried over on rotation (${kind})`, () => {
    let db: TestDatabase;
    let s: Services;

    before(async () => {
      db = await createTestDatabase(kind);
      const config = loadConfig({ env: {}, overrides: { dataDir: db.dataDir, databaseUrl: db.url, logLevel: 'warn' } });
      s = await openServices(config);
    });
    after(async () => {
      await s?.close();
      await db?.drop();
    });

    const check = (token: string, address: string) => s.core.verification.check(token, { accept: ['api_token'], address });
    const reason = async (token: string, address: string): Promise<string> => {
      const outcome = await check(token, address);
      return outcome.ok ? 'ok' : outcome.reason;
    };

    it('the successor has the allow-list and the balance; the old token keeps the allow-list and no credits', async () => {
      const u = await seedAccount(s.core);
      const created = await s.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, CTX);
      const subject = { kind: 'api_token' as const, id: created.apiToken.id };
      await s.core.policies.put({ subject, accountId: u.accountId }, { ipAllowList: ['10.0.0.0/8'], credits: { remaining: 5 } }, CTX);
      assert.equal((await check(created.token, '10.1.2.3')).ok, true);
      assert.equal((await check(created.token, '10.1.2.3')).ok, true); // 3 credits left

      const rotated = await s.core.apiTokens.rotate(created.apiToken.id, { graceMs: 3_600_000 }, CTX);
      assert.ok(rotated.ok);
      const next = rotated.created;
      assert.equal(await reason(next.token, '192.0.2.1'), 'ip_denied', 'the allow-list came along');
      const view = await s.core.policies.get({ subject: { kind: 'api_token', id: next.apiToken.id }, accountId: u.accountId });
      assert.equal(view?.creditsLeft, 3, 'the balance moved, less what was spent');
      for (let i = 0; i < 3; i++) assert.equal((await check(next.token, '10.9.9.9')).ok, true);
      const spent = await check(next.token, '10.9.9.9');
      assert.equal(spent.ok, false);
      assert.equal(!spent.ok && spent.reason, 'credits_exhausted');

      // The old token, in its grace period: still held to its allow-list, and without credits.
      assert.equal(await reason(created.token, '192.0.2.1'), 'ip_denied');
      const old = await check(created.token, '10.1.2.3');
      assert.equal(!old.ok && old.reason, 'credits_exhausted');
    });

    it('a token without rules rotates to a successor without rules', async () => {
      const u = await seedAccount(s.core);
      const created = await s.core.apiTokens.create({ accountId: u.accountId, format: 'native' }, CTX);
      const rotated = await s.core.apiTokens.rotate(created.apiToken.id, {}, CTX);
      assert.ok(rotated.ok);
      assert.equal(await s.core.policies.get({ subject: { kind: 'api_token', id: rotated.created.apiToken.id }, accountId: u.accountId }), null);
      assert.equal((await check(rotated.created.token, '192.0.2.1')).ok, true);
    });

    it('scopes and rate limits come along too', async () => {
      const u = await seedAccount(s.core);
      const created = await s.core.apiTokens.create({ accountId: u.accountId, format: 'l3' }, CTX);
      await s.core.policies.put({ subject: { kind: 'api_token', id: created.apiToken.id }, accountId: u.accountId }, { rateLimits: [{ limit: 2, windowSeconds: 3600 }] }, CTX);
      const rotated = await s.core.apiTokens.rotate(created.apiToken.id, {}, CTX);
      assert.ok(rotated.ok);
      assert.equal((await check(rotated.created.token, '127.0.0.1')).ok, true);
      assert.equal((await check(rotated.created.token, '127.0.0.1')).ok, true);
      const third = await check(rotated.created.token, '127.0.0.1');
      assert.equal(!third.ok && third.reason, 'rate_limited');
    });
  });
}
