/**
 * The policy hook of the one verification path (src/core/verification.ts): a policy sees every
 * live token with its identity and the check's context, never a dead one; its refusal is the
 * `denied` reason, which each dialect renders in its own envelope; a refused check is not counted.
 * Real tokend (SQLite and PostgreSQL, real HTTP routes through inject).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.ts';
import type { CheckContext, CheckPolicy, TokenIdentity } from '../src/core/verification.ts';
import { buildApp } from '../src/http/app.ts';
import { openServices, type Services } from '../src/services.ts';
import { createTestDatabase, databases, seedAccount, type TestDatabase } from './helpers/harness.ts';

const CTX = { address: 'test' };

/** Refuses the tokens whose account is in `refused`; remembers what it was asked. */
function recordingPolicy(): CheckPolicy & { seen: { identity: TokenIdentity; context: CheckContext }[]; refused: Set<number> } {
  const seen: { identity: TokenIdentity; context: CheckContext }[] = [];
  const refused = new Set<number>();
  return {
    seen,
    refused,
    apply(identity, context) {
      seen.push({ identity, context });
      return refused.has(identity.accountId) ? 'denied' : null;
    },
  };
}

for (const kind of databases()) {
  describe(`verification policy hook (${kind})`, () => {
    let db: TestDatabase;
    let s: Services;
    let app: Awaited<ReturnType<typeof buildApp>>;
    const policy = recordingPolicy();

    before(async () => {
      db = await createTestDatabase(kind);
      const config = loadConfig({ env: {}, overrides: { dataDir: db.dataDir, databaseUrl: db.url, logLevel: 'warn' } });
      s = await openServices(config, { policy });
      app = await buildApp({ core: s.core, logger: pino({ level: 'silent' }) });
      await app.ready();
    });
    after(async () => {
      await app?.close();
      await s?.close();
      await db?.drop();
    });

    it('sees a live token with its identity and the client address; an allowed check passes and is counted', async () => {
      const u = await seedAccount(s.core);
      const { token } = await s.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, CTX);
      policy.seen.length = 0;
      const outcome = await s.core.verification.check(token, { accept: ['api_token'], address: '203.0.113.7' });
      assert.equal(outcome.ok, true);
      assert.equal(policy.seen.length, 1);
      assert.equal(policy.seen[0]!.identity.accountId, u.accountId);
      assert.equal(policy.seen[0]!.identity.kind, 'api_token');
      assert.equal(policy.seen[0]!.context.address, '203.0.113.7');
      const res = await app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 200);
      assert.equal(policy.seen.length, 2);
      const checks = await s.core.usage.checksPerDay(u.accountId, 1);
      assert.equal(checks.at(-1)!.count, 2);
    });

    it('never sees a dead or malformed token', async () => {
      const u = await seedAccount(s.core);
      const created = await s.core.apiTokens.create({ accountId: u.accountId, format: 'native' }, CTX);
      await s.core.apiTokens.revoke(created.apiToken.id, CTX);
      policy.seen.length = 0;
      const revoked = await s.core.verification.check(created.token, { accept: ['api_token'], address: null });
      assert.deepEqual(revoked, { ok: false, kind: 'api_token', reason: 'revoked' });
      const garbage = await s.core.verification.check('tda_nope', { accept: ['access'], address: null });
      assert.deepEqual(garbage, { ok: false, kind: null, reason: 'invalid' });
      assert.equal(policy.seen.length, 0);
    });

    it('a refusal is `denied`, rendered by each dialect, and not counted', async () => {
      const u = await seedAccount(s.core);
      const { token } = await s.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, CTX);
      const made = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
      const access = (made.json() as { data: { accessToken: string } }).data.accessToken;
      policy.refused.add(u.accountId);
      try {
        const outcome = await s.core.verification.check(token, { accept: ['api_token'], address: null });
        assert.deepEqual(outcome, { ok: false, kind: 'api_token', reason: 'denied' });
        const invoicebox = await app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });
        assert.equal(invoicebox.statusCode, 403);
        const chatapp = await app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: access } });
        assert.equal(chatapp.statusCode, 401);
        const forward = await app.inject({ method: 'GET', url: '/auth/verify', headers: { authorization: `Bearer ${token}` } });
        assert.equal(forward.statusCode, 401);
        const checks = await s.core.usage.checksPerDay(u.accountId, 1);
        assert.equal(checks.at(-1)!.count, 0, 'a refused check is no use');
      } finally {
        policy.refused.delete(u.accountId);
      }
      assert.equal((await app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: access } })).statusCode, 200);
    });
  });
}
