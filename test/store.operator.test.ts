/**
 * Storage conformance for the operator API's repositories (src/core/ports.ts: OperatorKeyRepo,
 * IdempotencyRepo, PasswordResetRepo, and AccountRepo's update and deleteCascade), on SQLite and
 * PostgreSQL, with a second store on the same database standing for another process: one winner
 * of an idempotency claim, one use of a reset, a revocation that happens once.
 */
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../src/core/ports.ts';
import { createStore, type Database } from '../src/store/database.ts';
import { openDialect } from '../src/store/dialect.ts';
import { createTestDatabase, databases, type TestDatabase, TEST_DIALECT_OPTIONS } from './helpers/harness.ts';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const hex = (bytes = 32): string => randomBytes(bytes).toString('hex');

function together<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
}

for (const kind of databases()) {
  describe(`operator storage conformance (${kind})`, () => {
    let tdb: TestDatabase;
    let store: Database;
    let other: Database;
    const both = (i: number): Store => (i % 2 === 0 ? store : other);

    before(async () => {
      tdb = await createTestDatabase(kind);
      store = createStore(openDialect(tdb.url, tdb.dataDir, TEST_DIALECT_OPTIONS));
      await store.migrate();
      other = createStore(openDialect(tdb.url, tdb.dataDir, TEST_DIALECT_OPTIONS));
    });
    after(async () => {
      await other?.close();
      await store?.close();
      await tdb?.drop();
    });

    async function account(email = `u-${hex(4)}@example.com`): Promise<number> {
      const a = await store.accounts.insert({ uid: randomUUID(), email, passwordHash: 'h', name: null, isDemo: false, createdAt: T0 });
      assert.ok(a);
      return a.id;
    }

    it('operator keys: insert, by hash and id, newest first, revoked once, last used never backwards', async () => {
      const ids: string[] = [randomUUID(), randomUUID()];
      for (const [i, id] of ids.entries()) {
        await store.operatorKeys.insert({ id, name: `k${i}`, permissions: ['accounts:read', 'tokens:write'], hash: hex(), hint: 'tdp_abc…wxyz', createdAt: T0 + i, expiresAt: null, revokedAt: null, lastUsedAt: null });
      }
      const listed = await store.operatorKeys.list();
      assert.deepEqual(listed.filter((k) => ids.includes(k.id)).map((k) => k.id), [...ids].reverse());
      const one = await store.operatorKeys.findById(ids[0]!);
      assert.deepEqual(one?.permissions, ['accounts:read', 'tokens:write']);
      assert.equal(await store.operatorKeys.findByHash(hex()), null);
      const wins = await together(6, (i) => both(i).operatorKeys.revoke(ids[0]!, T0 + 10));
      assert.equal(wins.filter(Boolean).length, 1);
      await store.transaction((tx) => tx.operatorKeys.touchLastUsed([{ id: ids[1]!, at: T0 + 500 }]));
      await store.transaction((tx) => tx.operatorKeys.touchLastUsed([{ id: ids[1]!, at: T0 + 100 }]));
      assert.equal((await store.operatorKeys.findById(ids[1]!))?.lastUsedAt, T0 + 500);
    });

    it('idempotency: of concurrent claims from two processes exactly one wins; complete, release, expiry', async () => {
      const key = hex(8);
      const claims = await together(8, (i) =>
        both(i).transaction((tx) => tx.idempotency.claim({ credential: 'admin', key, requestHash: 'h1', createdAt: T0 }, { expiredBefore: 0, staleClaimBefore: 0 })),
      );
      assert.equal(claims.filter((c) => c === null).length, 1);
      assert.ok(claims.every((c) => c === null || (c.state === 'in_progress' && c.requestHash === 'h1')));
      await store.idempotency.complete('admin', key, 201, 'sealed');
      const held = await store.transaction((tx) => tx.idempotency.claim({ credential: 'admin', key, requestHash: 'h2', createdAt: T0 + 1 }, { expiredBefore: 0, staleClaimBefore: 0 }));
      assert.deepEqual(held, { requestHash: 'h1', state: 'done', status: 201, response: 'sealed', createdAt: T0 });
      // Another credential has its own space.
      assert.equal(await store.transaction((tx) => tx.idempotency.claim({ credential: 'key:x', key, requestHash: 'h2', createdAt: T0 }, { expiredBefore: 0, staleClaimBefore: 0 })), null);
      // A done record is not a stale claim; past the expiry it is gone.
      assert.notEqual(await store.transaction((tx) => tx.idempotency.claim({ credential: 'admin', key, requestHash: 'h3', createdAt: T0 + 2 }, { expiredBefore: 0, staleClaimBefore: T0 + 10 })), null);
      assert.equal(await store.transaction((tx) => tx.idempotency.claim({ credential: 'admin', key, requestHash: 'h3', createdAt: T0 + 2 }, { expiredBefore: T0 + 1, staleClaimBefore: 0 })), null);
      // Release frees an in-progress claim only.
      await store.idempotency.release('admin', key);
      assert.equal(await store.transaction((tx) => tx.idempotency.claim({ credential: 'admin', key, requestHash: 'h4', createdAt: T0 + 3 }, { expiredBefore: 0, staleClaimBefore: 0 })), null);
      await store.idempotency.complete('admin', key, 200, 'x');
      await store.idempotency.release('admin', key);
      assert.notEqual(await store.transaction((tx) => tx.idempotency.claim({ credential: 'admin', key, requestHash: 'h4', createdAt: T0 + 4 }, { expiredBefore: 0, staleClaimBefore: 0 })), null);
      assert.ok((await store.idempotency.purgeExpired(T0 + 10)) >= 2);
    });

    it('password resets: used once among concurrent uses, never after expiry, ended by revokeByAccount', async () => {
      const accountId = await account();
      const id = hex();
      await store.passwordResets.insert({ id, accountId, createdAt: T0, expiresAt: T0 + 1000 });
      const uses = await together(8, (i) => both(i).passwordResets.consume(id, T0 + 1));
      assert.deepEqual(uses.filter((u) => u !== null), [accountId]);
      const late = hex();
      await store.passwordResets.insert({ id: late, accountId, createdAt: T0, expiresAt: T0 + 1000 });
      assert.equal(await store.passwordResets.consume(late, T0 + 1000), null);
      const pending = hex();
      await store.passwordResets.insert({ id: pending, accountId, createdAt: T0, expiresAt: T0 + 1000 });
      assert.equal(await store.passwordResets.revokeByAccount(accountId, T0 + 2), 2, 'the unused ones, the expired one included');
      assert.equal(await store.passwordResets.consume(pending, T0 + 3), null);
    });

    it('accounts: update refuses a taken email and changes nothing; deleteCascade removes what the account owns', async () => {
      const a = await account();
      const b = await account();
      const bEmail = (await store.accounts.findById(b))!.email;
      assert.equal(await store.accounts.update(a, { name: 'x', email: bEmail }), 'email_taken');
      assert.equal((await store.accounts.findById(a))!.name, null);
      assert.equal(await store.accounts.update(2_000_000_000, { name: 'x' }), null);
      const renamed = await store.accounts.update(a, { name: 'New', email: `n-${hex(4)}@example.com` });
      assert.ok(renamed && renamed !== 'email_taken' && renamed.name === 'New');
      await store.apps.insert({ appId: `app_${hex(4)}`, accountId: a, name: 'app', createdAt: T0 });
      const sessionId = randomUUID();
      await store.sessions.insert({ id: sessionId, accountId: a, kind: 'chatapp', clientId: 'c', scope: '', createdAt: T0, expiresAt: T0 + 1000 });
      await store.sessions.insertAccessToken({ hash: hex(), sessionId, generation: 0, createdAt: T0, expiresAt: T0 + 1000 });
      await store.sessions.insertRefreshToken({ hash: hex(), sessionId, generation: 0, createdAt: T0, expiresAt: T0 + 1000 });
      const removed = await store.transaction((tx) => tx.accounts.deleteCascade(a));
      assert.ok(removed);
      assert.deepEqual(removed.sessionIds, [sessionId]);
      assert.equal(await store.accounts.findById(a), null);
      assert.equal(await store.sessions.findById(sessionId), null);
      assert.equal(await store.transaction((tx) => tx.accounts.deleteCascade(a)), null);
      assert.ok(await store.accounts.findById(b), 'another account went too');
    });
  });
}
