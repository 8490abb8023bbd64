/**
 * Exact rate windows (docs/policies.md, "Exact windows"): counted by the database, so a limit holds
 * across every node that shares it. On SQLite and PostgreSQL, concurrent checks on one node get
 * exactly the limit; on PostgreSQL, two nodes together get exactly the limit, where the default
 * (in-memory) mode lets each node count on its own, at most nodes × limit.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { SubjectRef } from '../src/core/policies/service.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';

const CTX = { address: 'test' };

for (const kind of databases()) {
  describe(`exact rate windows (${kind})`, () => {
    let db: TestDatabase;
    let t: TestTokend;
    /** A second node on the same database (PostgreSQL is what several nodes share). */
    let u: TestTokend;

    before(async () => {
      db = await createTestDatabase(kind);
      t = await startTokend({ db });
      u = await startTokend({ db });
    });
    after(async () => {
      await u?.close();
      await t?.close();
      await db?.drop();
    });

    async function tokenWith(rules: Parameters<TestTokend['core']['policies']['put']>[1]): Promise<{ token: string; ref: SubjectRef }> {
      const user = await seedAccount(t.core);
      const created = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      const ref = { subject: { kind: 'api_token' as const, id: created.apiToken.id }, accountId: user.accountId };
      await t.core.policies.put(ref, rules, CTX);
      await u.core.policies.refresh();
      return { token: created.token, ref };
    }

    async function burst(node: TestTokend, token: string, n: number): Promise<string[]> {
      return Promise.all(
        Array.from({ length: n }, async () => {
          const outcome = await node.core.verification.check(token, { accept: ['api_token'], address: '127.0.0.1' });
          return outcome.ok ? 'ok' : outcome.reason;
        }),
      );
    }

    it('60 concurrent checks on one node, 25 per hour exact: exactly 25 pass, the rest are rate_limited', async () => {
      const { token } = await tokenWith({ rateLimits: [{ limit: 25, windowSeconds: 3600, exact: true }] });
      const results = await burst(t, token, 60);
      assert.equal(results.filter((r) => r === 'ok').length, 25);
      assert.equal(results.filter((r) => r === 'rate_limited').length, 35);
    });

    it('the refusal carries Retry-After and the RateLimit headers on the wire', async () => {
      const { token } = await tokenWith({ rateLimits: [{ limit: 1, windowSeconds: 3600, exact: true }] });
      const ok = await t.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.statusCode, 200);
      const refused = await t.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });
      assert.equal(refused.statusCode, 429);
      const retry = Number(refused.headers['retry-after']);
      assert.ok(retry >= 1 && retry <= 3600, String(retry));
      assert.match(String(refused.headers['ratelimit-policy']), /1;w=3600/);
    });

    it('a customer cannot make a window exact (the operator pays for it), but keeps one the operator set', async () => {
      const user = await seedAccount(t.core);
      const created = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native' }, CTX);
      const signIn = await t.app.inject({
        method: 'POST',
        url: '/api/cabinet/session',
        headers: { host: 'tokend.test', origin: 'http://tokend.test', 'content-type': 'application/json' },
        payload: JSON.stringify({ email: user.email, password: user.password }),
      });
      const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
      const csrf = signIn.json().csrfToken as string;
      const put = (rateLimits: unknown) =>
        t.app.inject({
          method: 'PUT',
          url: `/api/cabinet/api-tokens/${created.apiToken.id}/policy`,
          headers: { host: 'tokend.test', origin: 'http://tokend.test', cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
          payload: JSON.stringify({ rateLimits }),
        });
      const refused = await put([{ limit: 10, windowSeconds: 60, exact: true }]);
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().error.fields[0].name, 'rateLimits[0].exact');
      assert.equal(await t.core.policies.get({ subject: { kind: 'api_token', id: created.apiToken.id }, accountId: user.accountId }), null, 'nothing stored');
      await t.core.policies.put({ subject: { kind: 'api_token', id: created.apiToken.id }, accountId: user.accountId }, { rateLimits: [{ limit: 10, windowSeconds: 60, exact: true }] }, CTX);
      const kept = await put([{ limit: 10, windowSeconds: 60, exact: true }, { limit: 1000, windowSeconds: 86400 }]);
      assert.equal(kept.statusCode, 200, kept.body);
      assert.equal(kept.json().rules.rateLimits.length, 2);
    });

    if (kind === 'postgres') {
      it('two nodes, 100 per minute exact, 150 checks on each at once: exactly 100 pass in all', async () => {
        const { token } = await tokenWith({ rateLimits: [{ limit: 100, windowSeconds: 60, exact: true }] });
        // Both halves inside one fixed minute: start just after a minute begins if it is about to end.
        const intoMinute = Date.now() % 60_000;
        if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
        const [a, b] = await Promise.all([burst(t, token, 150), burst(u, token, 150)]);
        const passed = [...a, ...b].filter((r) => r === 'ok').length;
        assert.equal(passed, 100);
      });

      it('the default mode on two nodes: each node counts on its own, never more than 2 × the limit', async () => {
        // 100 per hour: GCRA lets one more check through every 36 s after the burst, so however long
        // the bursts take on a busy machine, the 101st is refused (per minute, one every 0.6 s passes).
        const { token } = await tokenWith({ rateLimits: [{ limit: 100, windowSeconds: 3600 }] });
        const [a, b] = await Promise.all([burst(t, token, 150), burst(u, token, 150)]);
        const passedA = a.filter((r) => r === 'ok').length;
        const passedB = b.filter((r) => r === 'ok').length;
        assert.equal(passedA, 100, 'one node alone holds the limit exactly');
        assert.equal(passedB, 100);
        assert.ok(passedA + passedB <= 2 * 100, 'the documented worst case: nodes × limit');
      });
    }
  });
}
