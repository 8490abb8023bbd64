/**
 * Policies through core, on SQLite and PostgreSQL: rules validated before anything is stored,
 * held in memory for checks, applied on another node through core.changes, credits flushed
 * exactly, expiry rules applied when tokens and keys are made or rotated.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError } from '../src/core/errors.ts';
import { DAY_MS } from '../src/core/clock.ts';
import type { PolicyInput } from '../src/core/policies/rules.ts';
import type { SubjectRef } from '../src/core/policies/service.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';


/** What the rules in memory decided: these tests set no exact window, so it is never a promise. */
function decided<T>(decision: T | Promise<T>): T {
  assert.ok(!(decision instanceof Promise), 'rules in memory decide without waiting');
  return decision as T;
}

const CTX = { address: 'test' };

function fieldOf(error: unknown): string {
  assert.ok(error instanceof InvalidInputError, String(error));
  return error.field;
}

for (const kind of databases()) {
  describe(`policies through core (${kind})`, () => {
    let db: TestDatabase;
    let t: TestTokend;
    /** A second node on the same database. */
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

    async function tokenOf(): Promise<{ ref: SubjectRef; accountId: number }> {
      const { accountId } = await seedAccount(t.core);
      const created = await t.core.apiTokens.create({ accountId, format: 'native' }, CTX);
      const ref = await t.core.policies.resolve('api_token', created.apiToken.id);
      assert.ok(ref);
      return { ref, accountId };
    }

    it('stores valid rules, shows them, and checks them from memory', async () => {
      const { ref } = await tokenOf();
      const view = await t.core.policies.put(ref, { rateLimits: [{ limit: 2, windowSeconds: 60 }], ipAllowList: ['10.0.0.0/8', '2001:db8::/32'], credits: { remaining: 5 } }, CTX);
      assert.equal(view.creditsLeft, 5);
      assert.deepEqual((await t.core.policies.get(ref))?.rules.ipAllowList, ['10.0.0.0/8', '2001:db8::/32']);
      const now = t.core.clock.now();
      const check = (address: string): string => {
        const d = decided(t.core.policies.check('api_token', ref.subject.id, { address, now }));
        return d.ok ? 'ok' : d.code;
      };
      assert.deepEqual([check('8.8.8.8'), check('10.0.0.1'), check('2001:db8::1'), check('10.0.0.1')], ['ip_denied', 'ok', 'ok', 'rate_limited']);
      assert.equal((await t.core.policies.get(ref))?.creditsLeft, 3);
    });

    it('bad rules: 400-worthy errors naming the field, and nothing stored', async () => {
      const { ref } = await tokenOf();
      const cases: [PolicyInput, string][] = [
        [{ rateLimits: [{ limit: 5, windowSeconds: 0 }] }, 'rateLimits[0].windowSeconds'],
        [{ credits: { remaining: 10, cost: -1 } }, 'credits.cost'],
        [{ ipAllowList: ['10.0.0.0/33'] }, 'ipAllowList[0]'],
        [{ ipAllowList: ['2001:db8:::/32'] }, 'ipAllowList[0]'],
        [{ scopes: ['dns_orders_list'] }, 'scopes[0]'],
      ];
      for (const [input, field] of cases) {
        await assert.rejects(t.core.policies.put(ref, input, CTX), (e) => fieldOf(e) === field, field);
      }
      assert.equal(await t.core.policies.get(ref), null);
      assert.equal(await t.core.store.policies.get(ref.subject), null);
    });

    it('scopes: a subset of the account\'s permissions (its service accounts\' actions)', async () => {
      const { ref, accountId } = await tokenOf();
      await t.core.serviceAccounts.create({ accountId, name: 'dns', actions: ['dns_orders_list', 'dns_orders_create'] }, CTX);
      await t.core.policies.put(ref, { scopes: ['dns_orders_list'] }, CTX);
      const now = t.core.clock.now();
      assert.equal(decided(t.core.policies.check('api_token', ref.subject.id, { address: null, scope: 'dns_orders_list', now })).ok, true);
      const refused = decided(t.core.policies.check('api_token', ref.subject.id, { address: null, scope: 'dns_orders_create', now }));
      assert.equal(refused.ok ? 'ok' : refused.code, 'scope_missing');
    });

    it('another node applies a change at once through core.changes (PostgreSQL) or within the reload bound', async () => {
      const { ref } = await tokenOf();
      await u.core.policies.ready();
      await t.core.policies.put(ref, { ipAllowList: ['192.0.2.0/24'] }, CTX);
      if (kind === 'sqlite') await u.core.policies.refresh();
      const deadline = Date.now() + (kind === 'postgres' ? 5000 : 0);
      const denied = (): boolean => {
        const d = decided(u.core.policies.check('api_token', ref.subject.id, { address: '198.51.100.1', now: Date.now() }));
        return !d.ok && d.code === 'ip_denied';
      };
      while (!denied() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(denied(), 'the other node did not apply the new rule');
      await t.core.policies.remove(ref, CTX);
      assert.equal(decided(t.core.policies.check('api_token', ref.subject.id, { address: '198.51.100.1', now: Date.now() })).ok, true);
    });

    it('a reload that read the rules before a change here does not bring the old rules back', async () => {
      const { ref } = await tokenOf();
      await t.core.policies.put(ref, { ipAllowList: ['192.0.2.0/24'] }, CTX);
      const outside = (): boolean => decided(t.core.policies.check('api_token', ref.subject.id, { address: '198.51.100.1', now: Date.now() })).ok;
      assert.equal(outside(), false);
      // The periodic reload reads every policy, then is held until the removal below has committed.
      const repo = t.core.store.policies as { list: () => Promise<unknown[]> };
      const list = repo.list;
      let read!: () => void;
      const hasRead = new Promise<void>((resolve) => (read = resolve));
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      repo.list = async () => {
        const rows = await list.call(repo);
        read();
        await held;
        return rows;
      };
      try {
        const reload = t.core.policies.refresh();
        await hasRead;
        await t.core.policies.remove(ref, CTX);
        assert.equal(outside(), true);
        release();
        await reload;
      } finally {
        repo.list = list;
      }
      assert.equal(outside(), true, 'the removed rules came back from a stale reload');
      await t.core.policies.refresh();
      assert.equal(outside(), true);
    });

    it('credits: 200 concurrent checks on 150 credits: exactly 150 pass, never below zero, the flush stores 0', async () => {
      const { ref } = await tokenOf();
      await t.core.policies.put(ref, { credits: { remaining: 150 } }, CTX);
      const id = ref.subject.id;
      const results = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          await new Promise((r) => setImmediate(r));
          if (i === 100) void t.core.policies.flush();
          return decided(t.core.policies.check('api_token', id, { address: null, now: Date.now() }));
        }),
      );
      assert.equal(results.filter((r) => r.ok).length, 150);
      for (const r of results) if (r.ok) assert.ok(r.creditsLeft !== null && r.creditsLeft >= 0);
      await t.core.policies.flush();
      assert.deepEqual((await t.core.store.policies.get(ref.subject))?.credits?.remaining, 0);
    });

    it('credits on two nodes: each is exact on its own, and a flush tells a node what the other spent', async () => {
      const { ref } = await tokenOf();
      await t.core.policies.put(ref, { credits: { remaining: 100 } }, CTX);
      await u.core.policies.refresh();
      const id = ref.subject.id;
      const spend = (node: TestTokend, n: number): number =>
        Array.from({ length: n }, () => decided(node.core.policies.check('api_token', id, { address: null, now: Date.now() }))).filter((d) => d.ok).length;
      assert.equal(spend(t, 60), 60);
      await t.core.policies.flush();
      assert.equal(spend(u, 10), 10);
      await u.core.policies.flush();
      // u now knows the shared balance: 100 - 60 - 10.
      assert.equal((await u.core.policies.get(ref))?.creditsLeft, 30);
      assert.equal(spend(u, 50), 30);
      await u.core.policies.flush();
      assert.equal((await t.core.store.policies.get(ref.subject))?.credits?.remaining, 0);
    });

    it('expiry policy: an account\'s maximum and mandatory expiry apply to new API tokens and keys; rotation cuts', async () => {
      const { accountId } = await seedAccount(t.core);
      const account = await t.core.policies.resolve('account', String(accountId));
      assert.ok(account);
      await assert.rejects(t.core.policies.put(account, { expiry: { maxLifetimeSeconds: 10 } }, CTX), (e) => fieldOf(e) === 'expiry.maxLifetimeSeconds');
      const old = await t.core.apiTokens.create({ accountId, format: 'v3' }, CTX);
      await t.core.policies.put(account, { expiry: { maxLifetimeSeconds: 7 * 86400, required: true } }, CTX);
      const now = t.core.clock.now();
      await assert.rejects(t.core.apiTokens.create({ accountId, format: 'v3' }, CTX), (e) => fieldOf(e) === 'expiresAt');
      await assert.rejects(t.core.apiTokens.create({ accountId, format: 'v3', expiresAt: now + 8 * DAY_MS }, CTX), (e) => fieldOf(e) === 'expiresAt');
      const ok = await t.core.apiTokens.create({ accountId, format: 'v3', expiresAt: now + 6 * DAY_MS }, CTX);
      assert.equal(ok.apiToken.expiresAt, now + 6 * DAY_MS);
      const rotated = await t.core.apiTokens.rotate(old.apiToken.id, {}, CTX);
      assert.ok(rotated.ok);
      assert.ok(rotated.created.apiToken.expiresAt !== null && rotated.created.apiToken.expiresAt <= t.core.clock.now() + 7 * DAY_MS);
      const sa = await t.core.serviceAccounts.create({ accountId, name: 'k', actions: ['a'] }, CTX);
      await assert.rejects(t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX), (e) => fieldOf(e) === 'expiresAt');
      const key = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id, expiresAt: now + DAY_MS }, CTX);
      assert.equal(key.key.expiresAt, now + DAY_MS);
    });
  });
}
