/**
 * The storage conformance suite: every repository of src/core/ports.ts held to its documented
 * contract, on SQLite and on PostgreSQL alike (STYLE 9). Core relies on these semantics, most of
 * all on the atomic ones: a quota that stops exactly at its limit, one winner of a refresh claim,
 * one winner of each conditional update, even with callers on separate connections (two stores
 * on one database stand for two tokend processes).
 */
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { apiTokenStatus } from '../src/core/api-tokens.ts';
import { StoreUnavailableError } from '../src/core/errors.ts';
import type { ApiToken, App } from '../src/core/model.ts';
import { rollback, type Repos, type Store } from '../src/core/ports.ts';
import type { PolicyRules } from '../src/core/policies/rules.ts';
import { createStore, type Database } from '../src/store/database.ts';
import { openDialect } from '../src/store/dialect.ts';
import { createTestDatabase, databases, type TestDatabase, TEST_DIALECT_OPTIONS } from './helpers/harness.ts';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;

function hex(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

/** N calls started together; their results in call order. */
function together<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
}

async function newAccount(repos: Repos, email = `u-${hex(4)}@example.com`): Promise<number> {
  const a = await repos.accounts.insert({ uid: randomUUID(), email, passwordHash: 'argon2-hash', name: null, isDemo: false, createdAt: T0 });
  assert.ok(a);
  return a.id;
}

async function newSession(repos: Repos, accountId: number, over: { clientId?: string; expiresAt?: number } = {}): Promise<string> {
  const id = randomUUID();
  await repos.sessions.insert({
    id,
    accountId,
    kind: 'chatapp',
    clientId: over.clientId ?? `app_${hex(4)}`,
    scope: '',
    createdAt: T0,
    expiresAt: over.expiresAt ?? T0 + 90 * 24 * HOUR,
  });
  return id;
}

for (const kind of databases()) {
  describe(`storage conformance (${kind})`, () => {
    let tdb: TestDatabase;
    let store: Database;
    /** A second store on the same database: another process, with its own connections. */
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

    describe('migrations', () => {
      it('are idempotent and safe to run from two processes at once', async () => {
        const [x, y] = await Promise.all([store.migrate(), other.migrate()]);
        assert.deepEqual([...x, ...y], []);
      });

      it('on a fresh database, three processes migrating at once apply each migration exactly once', { skip: kind === 'sqlite' ? 'SQLite: one server process per file (the CLI migrates beside it, covered above)' : false }, async () => {
        const fresh = await createTestDatabase(kind);
        const stores = [0, 1, 2].map(() => createStore(openDialect(fresh.url, fresh.dataDir, TEST_DIALECT_OPTIONS)));
        try {
          const applied = await Promise.all(stores.map((s) => s.migrate()));
          const all = applied.flat();
          assert.ok(all.length > 0);
          assert.equal(new Set(all).size, all.length, `applied twice: ${all.join(', ')}`);
          assert.deepEqual(await stores[0]!.migrate(), []);
        } finally {
          for (const s of stores) await s.close();
          await fresh.drop();
        }
      });
    });

    describe('accounts', () => {
      it('insert returns the account; a taken email gives null', async () => {
        const email = `dup-${hex(4)}@example.com`;
        const first = await store.accounts.insert({ uid: randomUUID(), email, passwordHash: 'h', name: 'N', isDemo: true, createdAt: T0 });
        assert.ok(first);
        assert.equal(first.email, email);
        assert.equal(first.status, 'active');
        assert.equal(first.isDemo, true);
        assert.equal(first.name, 'N');
        assert.equal(first.createdAt, T0);
        assert.equal(await store.accounts.insert({ uid: randomUUID(), email, passwordHash: 'h', name: null, isDemo: false, createdAt: T0 }), null);
      });

      it('of concurrent inserts with one email, exactly one succeeds', async () => {
        const email = `race-${hex(4)}@example.com`;
        const results = await together(12, (i) =>
          both(i).accounts.insert({ uid: randomUUID(), email, passwordHash: 'h', name: null, isDemo: false, createdAt: T0 }),
        );
        assert.equal(results.filter((r) => r !== null).length, 1);
      });

      it('an explicit id is kept and later ids continue after it', async () => {
        const id = 900_000 + Math.floor(Math.random() * 1000);
        const a = await store.accounts.insert({ id, uid: randomUUID(), email: `fixed-${hex(4)}@example.com`, passwordHash: 'h', name: null, isDemo: true, createdAt: T0 });
        assert.equal(a?.id, id);
        const next = await newAccount(store);
        assert.ok(next > id, `${next} > ${id}`);
      });

      it('finds by id and by email (with the password hash), sets status, lists newest first with paging and filter', async () => {
        const email = `find-${hex(4)}@example.com`;
        const id = await newAccount(store, email);
        assert.equal((await store.accounts.findById(id))?.email, email);
        const byEmail = await store.accounts.findByEmail(email);
        assert.equal(byEmail?.id, id);
        assert.equal(byEmail?.passwordHash, 'argon2-hash');
        assert.equal(await store.accounts.findById(-1), null);
        assert.equal(await store.accounts.findByEmail('nobody@example.com'), null);
        assert.equal(await store.accounts.setStatus(id, 'disabled'), true);
        assert.equal((await store.accounts.findById(id))?.status, 'disabled');
        assert.equal(await store.accounts.setStatus(-1, 'disabled'), false);

        const page = await store.accounts.list({ limit: 3 });
        assert.ok(page.length <= 3);
        for (let i = 1; i < page.length; i++) assert.ok(page[i - 1]!.id > page[i]!.id);
        const next = await store.accounts.list({ limit: 3, beforeId: page.at(-1)!.id });
        for (const a of next) assert.ok(a.id < page.at(-1)!.id);
        const filtered = await store.accounts.list({ limit: 10, emailContains: email.slice(0, 12).toUpperCase() });
        assert.deepEqual(filtered.map((a) => a.id), [id]);
        // LIKE metacharacters are literal text.
        assert.deepEqual(await store.accounts.list({ limit: 10, emailContains: '%' }), []);
        assert.deepEqual(await store.accounts.list({ limit: 10, emailContains: '_' }), []);
      });
    });

    describe('apps', () => {
      it('insert, a taken appId gives null, find, list by account in creation order', async () => {
        const accountId = await newAccount(store);
        const appId = `app_${hex(6)}`;
        const app = await store.apps.insert({ appId, accountId, name: 'one', createdAt: T0 });
        assert.equal(app?.appId, appId);
        assert.equal(await other.apps.insert({ appId, accountId, name: 'two', createdAt: T0 }), null);
        await store.apps.insert({ appId: `${appId}_2`, accountId, name: 'three', createdAt: T0 });
        assert.equal((await store.apps.findByAppId(appId))?.accountId, accountId);
        assert.equal(await store.apps.findByAppId('nope'), null);
        assert.deepEqual((await store.apps.listByAccount(accountId)).map((a) => a.name), ['one', 'three']);
      });

      it('holdForUse: a deletion from another process waits for the holding transaction, then deletes', async () => {
        const accountId = await newAccount(store);
        const appId = `app_${hex(6)}`;
        await store.apps.insert({ appId, accountId, name: 'held', createdAt: T0 });
        let deletion: Promise<boolean> | undefined;
        let settled = false;
        await store.transaction(async (tx) => {
          assert.equal((await tx.apps.holdForUse(appId))?.appId, appId);
          assert.equal(await tx.apps.holdForUse('app_missing'), null);
          deletion = other.apps.delete(appId).finally(() => {
            settled = true;
          });
          await new Promise((resolve) => setTimeout(resolve, 300));
          assert.equal(settled, false, 'the deletion waits while the app is held');
        });
        assert.equal(await deletion, true);
        assert.equal(await store.apps.findByAppId(appId), null);
      });

      it('pages by id, renames, deletes (one delete wins)', async () => {
        const accountId = await newAccount(store);
        const otherAccount = await newAccount(store);
        const ids: App[] = [];
        for (let i = 0; i < 5; i++) ids.push((await store.apps.insert({ appId: `app_${hex(6)}`, accountId, name: `a${i}`, createdAt: T0 }))!);
        await store.apps.insert({ appId: `app_${hex(6)}`, accountId: otherAccount, name: 'theirs', createdAt: T0 });
        const first = await store.apps.pageByAccount(accountId, { limit: 2 });
        assert.deepEqual(first.map((a) => a.name), ['a0', 'a1']);
        const next = await store.apps.pageByAccount(accountId, { limit: 10, afterId: first[1]!.id });
        assert.deepEqual(next.map((a) => a.name), ['a2', 'a3', 'a4']);
        assert.equal(await store.apps.rename(ids[2]!.appId, 'renamed'), true);
        assert.equal(await store.apps.rename('app_missing', 'x'), false);
        assert.equal((await store.apps.findByAppId(ids[2]!.appId))?.name, 'renamed');
        const deleted = await together(6, (i) => both(i).apps.delete(ids[3]!.appId));
        assert.equal(deleted.filter(Boolean).length, 1, 'one delete wins');
        assert.equal(await store.apps.findByAppId(ids[3]!.appId), null);
        assert.deepEqual((await store.apps.listByAccount(accountId)).map((a) => a.name), ['a0', 'a1', 'renamed', 'a4']);
        await store.transaction(async (tx) => {
          assert.equal(await tx.apps.delete(ids[4]!.appId), true);
        });
        assert.equal((await store.apps.pageByAccount(accountId, { limit: 10 })).length, 3);
      });
    });

    describe('sessions', () => {
      it('stores a session with its tokens and finds them by hash with the account status', async () => {
        const accountId = await newAccount(store);
        const sessionId = await newSession(store, accountId, { clientId: 'app_x' });
        const access = hex();
        const refresh = hex();
        await store.sessions.insertAccessToken({ hash: access, sessionId, generation: 1, createdAt: T0, expiresAt: T0 + HOUR });
        await store.sessions.insertRefreshToken({ hash: refresh, sessionId, generation: 1, createdAt: T0, expiresAt: T0 + 2 * HOUR });
        const a = await store.sessions.findAccess(access);
        assert.ok(a);
        assert.deepEqual(a.token, { hash: access, sessionId, generation: 1, createdAt: T0, expiresAt: T0 + HOUR });
        assert.equal(a.session.id, sessionId);
        assert.equal(a.session.clientId, 'app_x');
        assert.equal(a.session.generation, 1);
        assert.equal(a.session.revokedAt, null);
        assert.equal(a.accountStatus, 'active');
        const r = await store.sessions.findRefresh(refresh);
        assert.equal(r?.token.rotatedAt, null);
        assert.equal(r?.token.expiresAt, T0 + 2 * HOUR);
        assert.equal(await store.sessions.findAccess(refresh), null, 'an access lookup never finds a refresh token');
        assert.equal(await store.sessions.findRefresh(access), null);
        assert.equal((await store.sessions.findById(sessionId))?.accountId, accountId);
        assert.equal(await store.sessions.findById(randomUUID()), null);
        await store.accounts.setStatus(accountId, 'disabled');
        assert.equal((await store.sessions.findAccess(access))?.accountStatus, 'disabled');
      });

      it('claimRefresh: of 40 concurrent claims on two connections, exactly one wins', async () => {
        const accountId = await newAccount(store);
        const sessionId = await newSession(store, accountId);
        for (let round = 0; round < 5; round++) {
          const hash = hex();
          await store.sessions.insertRefreshToken({ hash, sessionId, generation: 1, createdAt: T0, expiresAt: T0 + HOUR });
          const wins = await together(40, (i) => both(i).sessions.claimRefresh(hash, T0 + i));
          assert.equal(wins.filter(Boolean).length, 1, `round ${round}`);
          const claimedAt = (await store.sessions.findRefresh(hash))?.token.rotatedAt;
          assert.equal(claimedAt, T0 + wins.indexOf(true));
          assert.equal(await store.sessions.claimRefresh(hash, T0 + 100), false);
        }
        assert.equal(await store.sessions.claimRefresh(hex(), T0), false, 'an unknown token is never claimed');
      });

      it('claimRefresh inside concurrent transactions: one commits the rotation', async () => {
        const accountId = await newAccount(store);
        const sessionId = await newSession(store, accountId);
        const hash = hex();
        await store.sessions.insertRefreshToken({ hash, sessionId, generation: 1, createdAt: T0, expiresAt: T0 + HOUR });
        // SQLite runs one write transaction at a time per process; two connections in one process
        // would only wait on each other, so transactions race on one store there.
        const on = (i: number): Store => (kind === 'postgres' ? both(i) : store);
        const results = await together(20, (i) =>
          on(i).transaction(async (tx) => {
            if (!(await tx.sessions.claimRefresh(hash, T0 + i))) return false;
            assert.equal(await tx.sessions.advance(sessionId, 1), true);
            return true;
          }),
        );
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await store.sessions.findById(sessionId))?.generation, 2);
      });

      it('rotate: of 40 concurrent rotations on two connections, exactly one stores its pair and its entry', async () => {
        const accountId = await newAccount(store);
        const sessionId = await newSession(store, accountId);
        const hash = hex();
        await store.sessions.insertRefreshToken({ hash, sessionId, generation: 1, createdAt: T0, expiresAt: T0 + HOUR });
        const on = (i: number): Store => (kind === 'postgres' ? both(i) : store);
        const pairs = Array.from({ length: 40 }, () => ({ access: hex(), refresh: hex() }));
        const wins = await together(40, (i) =>
          on(i).write((tx) =>
            tx.sessions.rotate(
              {
                hash,
                sessionId,
                fromGeneration: 1,
                now: T0 + 1,
                access: { hash: pairs[i]!.access, createdAt: T0 + 1, expiresAt: T0 + HOUR },
                refresh: { hash: pairs[i]!.refresh, createdAt: T0 + 1, expiresAt: T0 + 2 * HOUR },
              },
              { at: T0 + 1, type: 'session.refreshed', accountId, sessionId, address: '192.0.2.1', detail: { kind: 'chatapp', generation: 2, i } },
            ),
          ),
        );
        assert.equal(wins.filter(Boolean).length, 1);
        const w = wins.indexOf(true);
        assert.equal((await store.sessions.findById(sessionId))?.generation, 2);
        assert.equal((await store.sessions.findRefresh(hash))?.token.rotatedAt, T0 + 1);
        for (const [i, p] of pairs.entries()) {
          const access = await store.sessions.findAccess(p.access);
          const refresh = await store.sessions.findRefresh(p.refresh);
          if (i !== w) {
            assert.equal(access, null);
            assert.equal(refresh, null);
            continue;
          }
          assert.deepEqual(access?.token, { hash: p.access, sessionId, generation: 2, createdAt: T0 + 1, expiresAt: T0 + HOUR });
          assert.deepEqual(refresh?.token, { hash: p.refresh, sessionId, generation: 2, createdAt: T0 + 1, expiresAt: T0 + 2 * HOUR, rotatedAt: null });
        }
        const entries = await store.audit.list({ accountId, type: 'session.refreshed', limit: 50 });
        assert.deepEqual(
          entries.map((e) => ({ sessionId: e.sessionId, address: e.address, detail: e.detail })),
          [{ sessionId, address: '192.0.2.1', detail: { kind: 'chatapp', generation: 2, i: w } }],
        );
        await store.audit.settle();
        assert.equal(await store.audit.countUnchained(), 0);
      });

      it('rotate writes nothing for a token used, expired or of another generation, nor for a session revoked, expired or of a disabled account', async () => {
        const attempt = async (setup: (ids: { accountId: number; sessionId: string; hash: string }) => Promise<void>, over: { fromGeneration?: number; now?: number } = {}) => {
          const accountId = await newAccount(store);
          const sessionId = await newSession(store, accountId, { expiresAt: T0 + 10 * HOUR });
          const hash = hex();
          await store.sessions.insertRefreshToken({ hash, sessionId, generation: 1, createdAt: T0, expiresAt: T0 + HOUR });
          await setup({ accountId, sessionId, hash });
          const next = { access: hex(), refresh: hex() };
          const now = over.now ?? T0 + 1;
          const done = await store.write((tx) =>
            tx.sessions.rotate(
              {
                hash,
                sessionId,
                fromGeneration: over.fromGeneration ?? 1,
                now,
                access: { hash: next.access, createdAt: now, expiresAt: now + HOUR },
                refresh: { hash: next.refresh, createdAt: now, expiresAt: now + HOUR },
              },
              { at: now, type: 'session.refreshed', accountId, sessionId, address: null, detail: {} },
            ),
          );
          assert.equal(done, false);
          assert.equal(await store.sessions.findAccess(next.access), null);
          assert.equal(await store.sessions.findRefresh(next.refresh), null);
          assert.deepEqual(await store.audit.list({ accountId, type: 'session.refreshed', limit: 5 }), []);
        };
        await attempt(async ({ hash }) => void (await store.sessions.claimRefresh(hash, T0)));
        await attempt(async () => {}, { now: T0 + HOUR });
        await attempt(async () => {}, { fromGeneration: 2 });
        await attempt(async ({ sessionId }) => void (await store.sessions.revoke(sessionId, T0, 'test')));
        await attempt(async ({ accountId }) => void (await store.accounts.setStatus(accountId, 'disabled')));
        await attempt(async ({ sessionId }) => void (await store.sessions.advance(sessionId, 1)));
        await attempt(async () => {}, { now: T0 + 10 * HOUR + 1 });
      });

      it('rotateUnread: one of 40 concurrent rotations wins; ends capped by the session; an unknown hash is told apart from a refused one', async () => {
        const accountId = await newAccount(store);
        const sessionId = await newSession(store, accountId, { expiresAt: T0 + 3 * HOUR });
        const hash = hex();
        await store.sessions.insertRefreshToken({ hash, sessionId, generation: 1, createdAt: T0, expiresAt: T0 + HOUR });
        const on = (i: number): Store => (kind === 'postgres' ? both(i) : store);
        const pairs = Array.from({ length: 40 }, () => ({ access: hex(), refresh: hex() }));
        const unread = (s: Store, r: { hash: string; kind?: 'chatapp' | 'service'; now?: number; access: string; refresh: string }, i: number) =>
          s.write((tx) =>
            tx.sessions.rotateUnread(
              { hash: r.hash, kind: r.kind ?? 'chatapp', now: r.now ?? T0 + 1, access: { hash: r.access, ttlMs: HOUR }, refresh: { hash: r.refresh, ttlMs: 30 * HOUR } },
              (generation) => ({ at: T0 + 1, type: 'session.refreshed', accountId: null, sessionId: null, address: null, detail: { kind: 'chatapp', generation, i } }),
            ),
          );
        const results = await together(40, (i) => unread(on(i), { hash, ...pairs[i]! }, i));
        const won = results.flatMap((r, i) => (r.ok ? [{ r, i }] : []));
        assert.equal(won.length, 1);
        const { r, i: w } = won[0]!;
        assert.ok(r.ok);
        assert.equal(r.issuedAt, T0);
        assert.deepEqual({ id: r.session.id, accountId: r.session.accountId, generation: r.session.generation, expiresAt: r.session.expiresAt }, { id: sessionId, accountId, generation: 2, expiresAt: T0 + 3 * HOUR });
        for (const x of results) if (!x.ok) assert.equal(x.known, true);
        assert.deepEqual((await store.sessions.findAccess(pairs[w]!.access))?.token, { hash: pairs[w]!.access, sessionId, generation: 2, createdAt: T0 + 1, expiresAt: T0 + 1 + HOUR });
        assert.equal((await store.sessions.findRefresh(pairs[w]!.refresh))?.token.expiresAt, T0 + 3 * HOUR, 'capped by the session');
        const entries = await store.audit.list({ accountId, type: 'session.refreshed', limit: 50 });
        assert.deepEqual(entries.map((e) => ({ sessionId: e.sessionId, detail: e.detail })), [{ sessionId, detail: { kind: 'chatapp', generation: 2, i: w } }]);
        assert.deepEqual(await unread(store, { hash: hex(), access: hex(), refresh: hex() }, 0), { ok: false, known: false });
        assert.deepEqual(await unread(store, { hash: pairs[w]!.refresh, kind: 'service', access: hex(), refresh: hex() }, 0), { ok: false, known: true }, 'another kind');
        assert.deepEqual(await unread(store, { hash: pairs[w]!.refresh, now: T0 + 3 * HOUR, access: hex(), refresh: hex() }, 0), { ok: false, known: true }, 'expired');
        assert.equal((await store.sessions.findById(sessionId))?.generation, 2);
      });

      it('startSession: the quota stops exactly at its limit under concurrent creations; each created session, pair and entry stored once', async () => {
        const accountId = await newAccount(store);
        const sa = await store.serviceAccounts.insert({ accountId, name: 'dns', actions: ['a'], createdAt: T0 });
        const key = await store.serviceKeys.insert({ serviceAccountId: sa.id, accessKey: `AK${hex(8)}`, secretHash: hex(), secretHint: 'tds_…abcd', createdAt: T0, expiresAt: null });
        assert.ok(key);
        const on = (i: number): Store => (kind === 'postgres' ? both(i) : store);
        const scope = `service-create:${key.id}:${hex(4)}`;
        const start = (s: Store, i: number, now = T0 + 1) => {
          const sessionId = randomUUID();
          const tokens = { access: hex(), refresh: hex() };
          return s
            .write((tx) =>
              tx.serviceKeys.startSession(
                {
                  serviceAccountId: sa.id,
                  keyId: key.id,
                  now,
                  quota: { scope, windowStart: T0, limit: 5, expiresAt: T0 + 24 * HOUR },
                  session: { id: sessionId, accountId, kind: 'service', clientId: key.accessKey, scope: 'a', createdAt: now, expiresAt: now + HOUR },
                  access: { hash: tokens.access, createdAt: now, expiresAt: now + HOUR },
                  refresh: { hash: tokens.refresh, createdAt: now, expiresAt: now + HOUR },
                },
                (quotaUsed) => ({ at: now, type: 'service_token.created', accountId, sessionId, address: null, detail: { accessKey: key.accessKey, i, quotaUsed } }),
              ),
            )
            .then((used) => ({ used, sessionId, tokens }));
        };
        const results = await together(20, (i) => start(on(i), i));
        const made = results.filter((r) => r.used !== null);
        assert.deepEqual(made.map((r) => r.used).sort(), [1, 2, 3, 4, 5]);
        assert.equal(await store.counters.get(scope, T0), 5);
        for (const r of results) {
          const found = await store.sessions.findAccess(r.tokens.access);
          const refresh = await store.sessions.findRefresh(r.tokens.refresh);
          if (r.used === null) {
            assert.equal(found, null);
            assert.equal(await store.sessions.findById(r.sessionId), null);
            continue;
          }
          assert.equal(found?.session.id, r.sessionId);
          assert.equal(found?.token.generation, 1);
          assert.equal(refresh?.session.kind, 'service');
        }
        const entries = await store.audit.list({ accountId, type: 'service_token.created', limit: 50 });
        assert.deepEqual(
          entries.map((e) => e.detail.quotaUsed).sort(),
          [1, 2, 3, 4, 5],
        );
        for (const e of entries) assert.equal(made.find((r) => r.sessionId === e.sessionId)?.used, e.detail.quotaUsed);
        assert.equal((await store.serviceKeys.findById(key.id))?.lastUsedAt, T0 + 1);

        // Refused for its key: no session, and no use of the service account recorded either.
        const other = await store.serviceAccounts.insert({ accountId, name: 'other', actions: ['a'], createdAt: T0 });
        const revoked = await store.serviceKeys.insert({ serviceAccountId: other.id, accessKey: `AK${hex(8)}`, secretHash: hex(), secretHint: 'tds_…abcd', createdAt: T0, expiresAt: null });
        assert.ok(revoked);
        await store.serviceKeys.revoke(revoked.id, T0);
        const refused = await store.write((tx) =>
          tx.serviceKeys.startSession(
            {
              serviceAccountId: other.id,
              keyId: revoked.id,
              now: T0 + 2,
              quota: { scope: `${scope}:other`, windowStart: T0, limit: 5, expiresAt: T0 + 24 * HOUR },
              session: { id: randomUUID(), accountId, kind: 'service', clientId: revoked.accessKey, scope: 'a', createdAt: T0 + 2, expiresAt: T0 + HOUR },
              access: { hash: hex(), createdAt: T0 + 2, expiresAt: T0 + HOUR },
              refresh: { hash: hex(), createdAt: T0 + 2, expiresAt: T0 + HOUR },
            },
            (quotaUsed) => ({ at: T0 + 2, type: 'service_token.created', accountId, sessionId: null, address: null, detail: { quotaUsed } }),
          ),
        );
        assert.equal(refused, null);
        assert.equal((await store.serviceAccounts.findById(other.id))?.lastUsedAt, null);
        assert.equal(await store.counters.get(`${scope}:other`, T0), 0);
        await store.serviceAccounts.setStatus(sa.id, 'disabled');
        assert.equal((await start(store, 99, T0 + 3)).used, null);
        assert.equal((await store.serviceKeys.findById(key.id))?.lastUsedAt, T0 + 1, 'no use recorded for a disabled service account');
      });

      it("startSession then the account's deletion: the key's sessions go, its day keeps its count, and a key made after it has a new id and an unused quota", async () => {
        const accountId = await newAccount(store);
        const sa = await store.serviceAccounts.insert({ accountId, name: 'dns', actions: ['a'], createdAt: T0 });
        const keyOf = () => ({ serviceAccountId: sa.id, accessKey: `AK${hex(8)}`, secretHash: hex(), secretHint: 'tds_…abcd', createdAt: T0, expiresAt: null });
        const key = await store.serviceKeys.insert(keyOf());
        assert.ok(key);
        // The scope core writes (service-create:<key id>): a reused id would be charged the deleted key's day.
        const scopeOf = (keyId: number): string => `service-create:${keyId}`;
        const start = (s: Store, keyId: number, accessKey: string, serviceAccountId: number, owner: number) => {
          const sessionId = randomUUID();
          return s.write((tx) =>
            tx.serviceKeys.startSession(
              {
                serviceAccountId,
                keyId,
                now: T0 + 1,
                quota: { scope: scopeOf(keyId), windowStart: T0, limit: 5, expiresAt: T0 + 24 * HOUR },
                session: { id: sessionId, accountId: owner, kind: 'service', clientId: accessKey, scope: 'a', createdAt: T0 + 1, expiresAt: T0 + HOUR },
                access: { hash: hex(), createdAt: T0 + 1, expiresAt: T0 + HOUR },
                refresh: { hash: hex(), createdAt: T0 + 1, expiresAt: T0 + HOUR },
              },
              (quotaUsed) => ({ at: T0 + 1, type: 'service_token.created', accountId: owner, sessionId, address: null, detail: { quotaUsed } }),
            ),
          );
        };
        assert.deepEqual([await start(store, key.id, key.accessKey, sa.id, accountId), await start(other, key.id, key.accessKey, sa.id, accountId)], [1, 2]);
        assert.equal(await store.counters.get(scopeOf(key.id), T0), 2);
        assert.equal((await store.sessions.listActiveByAccount(accountId, T0 + 1)).length, 2);

        const removed = await store.transaction((tx) => tx.accounts.deleteCascade(accountId));
        assert.equal(removed?.sessionIds.length, 2);
        assert.deepEqual(removed?.serviceKeyIds, [key.id]);
        assert.equal(await store.serviceKeys.findById(key.id), null);
        assert.equal(await store.serviceKeys.findByAccessKey(key.accessKey), null);
        assert.equal(await store.counters.get(scopeOf(key.id), T0), 2, 'the day keeps the count it was charged');

        // The deleted key's id was the largest: the next key's id must still not take it.
        const nextAccount = await newAccount(store);
        const nextSa = await store.serviceAccounts.insert({ accountId: nextAccount, name: 'dns', actions: ['a'], createdAt: T0 });
        const next = await store.serviceKeys.insert({ ...keyOf(), serviceAccountId: nextSa.id });
        assert.ok(next);
        assert.ok(next.id > key.id, `key id ${next.id} after the deleted ${key.id}`);
        assert.equal(await store.counters.get(scopeOf(next.id), T0), 0);
        assert.equal(await start(store, next.id, next.accessKey, nextSa.id, nextAccount), 1);
        // A creation for the deleted key finds nothing to claim: no count, no session.
        assert.equal(await start(store, key.id, key.accessKey, sa.id, accountId), null);
        assert.equal(await store.counters.get(scopeOf(key.id), T0), 2);
      });

      it('advance moves one generation, only from the current one, never for a revoked session', async () => {
        const accountId = await newAccount(store);
        const sessionId = await newSession(store, accountId);
        const moved = await together(10, (i) => both(i).sessions.advance(sessionId, 1));
        assert.equal(moved.filter(Boolean).length, 1);
        assert.equal((await store.sessions.findById(sessionId))?.generation, 2);
        assert.equal(await store.sessions.advance(sessionId, 1), false, 'a stale generation does not move it');
        await store.sessions.revoke(sessionId, T0, 'test');
        assert.equal(await store.sessions.advance(sessionId, 2), false);
      });

      it('listActivePage pages live sessions newest first by a (createdAt, id) cursor, with the last refresh time', async () => {
        const accountId = await newAccount(store);
        const live: string[] = [];
        // Same creation time for all: the id breaks the tie, so no page repeats or skips one.
        for (let i = 0; i < 7; i++) live.push(await newSession(store, accountId));
        const revoked = await newSession(store, accountId);
        await store.sessions.revoke(revoked, T0, 'test');
        await newSession(store, accountId, { expiresAt: T0 - 1 });
        const later = randomUUID();
        await store.sessions.insert({ id: later, accountId, kind: 'service', clientId: 'AK_X', scope: 'a b', createdAt: T0 + 5, expiresAt: T0 + HOUR });
        await store.sessions.insertRefreshToken({ hash: hex(), sessionId: later, generation: 1, createdAt: T0 + 5, expiresAt: T0 + HOUR });
        await store.sessions.advance(later, 1);
        await store.sessions.insertRefreshToken({ hash: hex(), sessionId: later, generation: 2, createdAt: T0 + 9, expiresAt: T0 + HOUR });

        assert.equal(await store.sessions.countActive(accountId, T0), 8);
        const seen: string[] = [];
        let before: { createdAt: number; id: string } | undefined;
        for (let page = 0; page < 5; page++) {
          const items = await store.sessions.listActivePage(accountId, T0, { limit: 3, ...(before ? { before } : {}) });
          seen.push(...items.map((s) => s.id));
          if (items.length < 3) break;
          const last = items.at(-1)!;
          before = { createdAt: last.createdAt, id: last.id };
        }
        assert.deepEqual(seen, [later, ...[...live].sort().reverse()]);
        const first = (await store.sessions.listActivePage(accountId, T0, { limit: 2 }))[0]!;
        assert.equal(first.id, later);
        assert.equal(first.lastRefreshAt, T0 + 9);
        assert.equal((await store.sessions.listActivePage(accountId, T0, { limit: 2 }))[1]!.lastRefreshAt, null, 'never refreshed');
        assert.deepEqual(await store.sessions.listActivePage(accountId + 1000, T0, { limit: 3 }), []);
      });

      it('revoke: one of concurrent calls revokes; by account and by client return the ids they revoked', async () => {
        const accountId = await newAccount(store);
        const s1 = await newSession(store, accountId, { clientId: 'app_a' });
        const s2 = await newSession(store, accountId, { clientId: 'app_b' });
        const s3 = await newSession(store, accountId, { clientId: 'app_b', expiresAt: T0 - 1 });
        const results = await together(10, (i) => both(i).sessions.revoke(s1, T0 + i, 'r'));
        assert.equal(results.filter(Boolean).length, 1);
        const revoked = await store.sessions.findById(s1);
        assert.equal(revoked?.revokedAt, T0 + results.indexOf(true));

        const active = await store.sessions.listActiveByAccount(accountId, T0);
        assert.deepEqual(active.map((s) => s.id), [s2], 'revoked and expired sessions are not active');

        assert.deepEqual((await store.sessions.revokeByClient('app_b', T0, 'client')).sort(), [s2, s3].sort());
        assert.deepEqual(await store.sessions.revokeByClient('app_b', T0, 'client'), []);
        const s4 = await newSession(store, accountId);
        const [x, y] = await Promise.all([store.sessions.revokeByAccount(accountId, T0, 'acct'), other.sessions.revokeByAccount(accountId, T0, 'acct')]);
        assert.deepEqual([...x, ...y], [s4], 'each session is reported revoked by exactly one caller');
      });
    });

    describe('counters', () => {
      it('incrementBelow: 60 concurrent callers on two connections, limit 25: exactly 25 succeed, counts 1..25 once each', async () => {
        const scope = `quota:${hex(4)}`;
        const counts = await together(60, (i) => both(i).counters.incrementBelow(scope, T0, 25, T0 + HOUR));
        const granted = counts.filter((c): c is number => c !== null).sort((p, q) => p - q);
        assert.deepEqual(granted, Array.from({ length: 25 }, (_, i) => i + 1));
        assert.equal(await store.counters.get(scope, T0), 25);
        assert.equal(await store.counters.incrementBelow(scope, T0, 25, T0 + HOUR), null);
        // Windows are independent.
        assert.equal(await store.counters.incrementBelow(scope, T0 + HOUR, 25, T0 + 2 * HOUR), 1);
      });

      it('incrementBelow with limit-1 used: of 50 concurrent callers exactly one gets the last unit', async () => {
        const scope = `quota:${hex(4)}`;
        for (let i = 0; i < 99; i++) await store.counters.incrementBelow(scope, T0, 100, T0 + HOUR);
        const counts = await together(50, (i) => both(i).counters.incrementBelow(scope, T0, 100, T0 + HOUR));
        assert.deepEqual(counts.filter((c) => c !== null), [100]);
      });

      it('incrementBelow inside a transaction that rolls back gives the unit back', async () => {
        const scope = `quota:${hex(4)}`;
        await assert.rejects(
          store.transaction(async (tx) => {
            assert.equal(await tx.counters.incrementBelow(scope, T0, 1, T0 + HOUR), 1);
            throw new Error('after the quota');
          }),
          /after the quota/,
        );
        assert.equal(await store.counters.get(scope, T0), 0);
        assert.equal(await store.counters.incrementBelow(scope, T0, 1, T0 + HOUR), 1);
      });

      it('increment and add are exact under concurrency; series lists windows oldest first; purge drops expired ones', async () => {
        const scope = `c:${hex(4)}`;
        const inc = await together(30, (i) => both(i).counters.increment(scope, T0, T0 + HOUR));
        assert.deepEqual([...inc].sort((p, q) => p - q), Array.from({ length: 30 }, (_, i) => i + 1));
        await together(10, (i) => both(i).counters.add(scope, T0, 5, T0 + HOUR));
        assert.equal(await store.counters.get(scope, T0), 80);
        assert.equal(await store.counters.add(scope, T0 + HOUR, 7, T0 + 2 * HOUR), 7);
        assert.equal(await store.counters.get(scope, T0 + 5 * HOUR), 0);
        assert.deepEqual(await store.counters.series(scope, T0), [
          { windowStart: T0, count: 80 },
          { windowStart: T0 + HOUR, count: 7 },
        ]);
        assert.deepEqual(await store.counters.series(scope, T0 + 1), [{ windowStart: T0 + HOUR, count: 7 }]);
        assert.ok((await store.counters.purgeExpired(T0 + HOUR)) >= 1);
        assert.equal(await store.counters.get(scope, T0), 0);
        assert.equal(await store.counters.get(scope, T0 + HOUR), 7);
      });

      it('addMany adds to many counters in one statement, new and existing alike, exactly under concurrency', async () => {
        const a = `m:${hex(4)}`;
        const b = `m:${hex(4)}`;
        await store.counters.add(a, T0, 3, T0 + HOUR);
        await together(10, (i) =>
          both(i).counters.addMany([
            { scope: a, windowStart: T0, amount: 2, expiresAt: T0 + HOUR },
            { scope: b, windowStart: T0, amount: 1, expiresAt: T0 + HOUR },
            { scope: b, windowStart: T0 + HOUR, amount: 5, expiresAt: T0 + 2 * HOUR },
          ]),
        );
        assert.equal(await store.counters.get(a, T0), 23);
        assert.equal(await store.counters.get(b, T0), 10);
        assert.equal(await store.counters.get(b, T0 + HOUR), 50);
        await store.counters.addMany([]);
      });

      it('seriesSum adds every scope of a prefix per window, and only those (LIKE characters in the prefix are literal)', async () => {
        const prefix = `sum_${hex(4)}%:`;
        const start = T0 + 100 * HOUR;
        await store.counters.add(`${prefix}1`, start, 3, start + HOUR);
        await store.counters.add(`${prefix}2`, start, 4, start + HOUR);
        await store.counters.add(`${prefix}2`, start + HOUR, 5, start + HOUR);
        await store.counters.add(`${prefix.replace('%', 'x')}3`, start, 100, start + HOUR);
        await store.counters.add(`other:${prefix}`, start, 100, start + HOUR);
        assert.deepEqual(await store.counters.seriesSum(prefix, start), [
          { windowStart: start, count: 7 },
          { windowStart: start + HOUR, count: 5 },
        ]);
        assert.deepEqual(await store.counters.seriesSum(prefix, start + 1), [{ windowStart: start + HOUR, count: 5 }]);
        assert.deepEqual(await store.counters.seriesSum(`none_${hex(4)}`, start), []);
      });
    });

    describe('audit', () => {
      it('appends and lists newest first, filtered and paged, details intact', async () => {
        const accountId = await newAccount(store);
        for (let i = 0; i < 5; i++) {
          await store.audit.append({
            at: T0 + i,
            type: i % 2 ? 'login.failed' : 'login.succeeded',
            accountId,
            sessionId: null,
            address: '127.0.0.1',
            detail: { i, nested: { ok: true } },
          });
        }
        const all = await store.audit.list({ accountId, limit: 10 });
        assert.deepEqual(all.map((e) => e.detail.i), [4, 3, 2, 1, 0]);
        assert.deepEqual(all[0]!.detail, { i: 4, nested: { ok: true } });
        const failed = await store.audit.list({ accountId, type: 'login.failed', limit: 10 });
        assert.deepEqual(failed.map((e) => e.detail.i), [3, 1]);
        const page = await store.audit.list({ accountId, limit: 2, before: all[1]!.id });
        assert.deepEqual(page.map((e) => e.detail.i), [2, 1]);
      });

      it('query: filters by account, type and time; keyset pages by (at, id) both ways, ties on time included', async () => {
        const accountId = await newAccount(store);
        const at = T0 + 500 * HOUR;
        // Two entries share each time: the id breaks the tie, and a page boundary between them loses none.
        for (let i = 0; i < 10; i++) {
          await store.audit.append({ at: at + Math.floor(i / 2), type: i % 3 === 0 ? 'policy.updated' : 'login.failed', accountId, sessionId: null, address: null, detail: { i } });
        }
        await store.audit.append({ at: at + 1, type: 'login.failed', accountId: null, sessionId: null, address: null, detail: { i: -1 } });
        const mine = { accountId };
        const walk = async (order: 'asc' | 'desc', limit: number): Promise<number[]> => {
          const seen: number[] = [];
          let after: { at: number; id: number } | undefined;
          for (;;) {
            const rows = await store.audit.query({ ...mine, order, limit, ...(after ? { after } : {}) });
            seen.push(...rows.map((e) => e.detail.i as number));
            const last = rows.at(-1);
            if (rows.length < limit || !last) return seen;
            after = { at: last.at, id: last.id };
          }
        };
        assert.deepEqual(await walk('asc', 3), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(await walk('desc', 3), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        assert.deepEqual(await walk('asc', 1), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        const typed = await store.audit.query({ ...mine, type: 'policy.updated', order: 'desc', limit: 10 });
        assert.deepEqual(typed.map((e) => e.detail.i), [9, 6, 3, 0]);
        const window = await store.audit.query({ ...mine, since: at + 1, until: at + 3, order: 'asc', limit: 10 });
        assert.deepEqual(window.map((e) => e.detail.i), [2, 3, 4, 5], 'since inclusive, until exclusive');
        const anyAccount = await store.audit.query({ since: at + 1, until: at + 2, order: 'asc', limit: 10 });
        assert.deepEqual(anyAccount.map((e) => e.detail.i), [2, 3, -1]);
        assert.equal(anyAccount[2]!.accountId, null);
        assert.deepEqual(await store.audit.query({ ...mine, type: 'account.created', order: 'asc', limit: 10 }), []);
      });
    });

    describe('API tokens', () => {
      function tokenRow(accountId: number, over: Partial<{ id: string; hash: string; expiresAt: number | null }> = {}) {
        return {
          id: over.id ?? randomUUID(),
          accountId,
          format: 'v3' as const,
          hash: over.hash ?? hex(),
          hint: 'abcd…1234',
          label: 'ci',
          createdAt: T0,
          expiresAt: over.expiresAt === undefined ? null : over.expiresAt,
        };
      }

      it('pages the fingerprint of every hash in order (the API-token filter\'s load) and finds the hashes of a span of time-ordered ids', async () => {
        const accountId = await newAccount(store);
        const mine = Array.from({ length: 7 }, () => tokenRow(accountId, { id: `0190${randomBytes(14).toString('hex')}` }));
        for (const r of mine) await store.apiTokens.insert(r);
        const fingerprints: string[] = [];
        const lasts: string[] = [];
        for (let after: string | null = null; ; ) {
          const page = await store.apiTokens.pageFingerprints(after, 3);
          assert.equal(page.packed.length, 16 * page.count, 'one 16-character fingerprint a hash');
          fingerprints.push(...(page.packed.match(/.{16}/g) ?? []));
          if (page.count < 3) break;
          assert.ok(page.last !== null && (after === null || page.last > after), 'each page ends past the one before');
          lasts.push(page.last);
          after = page.last;
        }
        const empty = await store.apiTokens.pageFingerprints('g', 3);
        assert.deepEqual(empty, { packed: '', count: 0, last: null }, 'past the last hash: an empty page');
        assert.equal(new Set(fingerprints).size, fingerprints.length, 'no hash twice');
        for (const r of mine) assert.ok(fingerprints.includes(r.hash.slice(0, 16)));
        for (const last of lasts) assert.ok(fingerprints.includes(last.slice(0, 16)), 'a page\'s last hash is one of its own');
        assert.equal(await store.apiTokens.countHashes(), fingerprints.length, 'the count the filter is sized for: every hash the pages give');
        const span = [...mine].sort((x, y) => (x.id < y.id ? -1 : 1));
        const between = await store.apiTokens.hashesWithIdsBetween(span[2]!.id, span[5]!.id);
        assert.deepEqual(between.sort(), span.slice(2, 5).map((r) => r.hash).sort(), 'from inclusive, to exclusive');
      });

      it('insert (a taken hash gives false), find by hash with the account, by id, list newest first', async () => {
        const accountId = await newAccount(store);
        const row = tokenRow(accountId);
        assert.equal(await store.apiTokens.insert(row), true);
        assert.equal(await other.apiTokens.insert({ ...row, id: randomUUID() }), false);
        const found = await store.apiTokens.findByHash(row.hash);
        assert.equal(found?.token.id, row.id);
        assert.equal(found?.token.format, 'v3');
        assert.equal(found?.token.expiresAt, null);
        assert.equal(found?.accountStatus, 'active');
        assert.equal(found?.accountUid, (await store.accounts.findById(accountId))?.uid);
        assert.equal((await store.apiTokens.findById(row.id))?.hint, 'abcd…1234');
        assert.equal(await store.apiTokens.findByHash(hex()), null);
        const later = { ...tokenRow(accountId), createdAt: T0 + 1 };
        await store.apiTokens.insert(later);
        assert.deepEqual((await store.apiTokens.listByAccount(accountId)).map((t) => t.id), [later.id, row.id]);
      });

      it('revoke and retire: one winner each under concurrency; retire never extends an expiry', async () => {
        const accountId = await newAccount(store);
        const a = tokenRow(accountId);
        await store.apiTokens.insert(a);
        const revoked = await together(10, (i) => both(i).apiTokens.revoke(a.id, T0 + i, 'r'));
        assert.equal(revoked.filter(Boolean).length, 1);
        assert.equal(await store.apiTokens.retire(a.id, randomUUID(), T0 + HOUR), false, 'a revoked token is not rotated');

        const b = tokenRow(accountId, { expiresAt: T0 + HOUR });
        await store.apiTokens.insert(b);
        const retired = await together(10, (i) => both(i).apiTokens.retire(b.id, `replacement-${i}`, T0 + 24 * HOUR));
        assert.equal(retired.filter(Boolean).length, 1);
        const after = await store.apiTokens.findById(b.id);
        assert.equal(after?.replacedBy, `replacement-${retired.indexOf(true)}`);
        assert.equal(after?.expiresAt, T0 + HOUR, 'the grace never extends an expiry');

        const c = tokenRow(accountId);
        await store.apiTokens.insert(c);
        assert.equal(await store.apiTokens.retire(c.id, 'next', T0 + HOUR), true);
        assert.equal((await store.apiTokens.findById(c.id))?.expiresAt, T0 + HOUR);
        assert.equal(await store.apiTokens.retire('missing', 'next', T0), false);

        const d = tokenRow(accountId);
        await store.apiTokens.insert(d);
        const [x, y] = await Promise.all([store.apiTokens.revokeByAccount(accountId, T0, 'acct'), other.apiTokens.revokeByAccount(accountId, T0, 'acct')]);
        assert.deepEqual([...x, ...y].sort(), [b.id, c.id, d.id].sort());
      });

      it('pageByAccount: newest first a page at a time, and each status filter keeps exactly what apiTokenStatus says', async () => {
        const accountId = await newAccount(store);
        const now = T0 + 10 * HOUR;
        const made: ApiToken[] = [];
        async function add(createdAt: number, set: Partial<Pick<ApiToken, 'expiresAt' | 'revokedAt' | 'replacedBy'>>): Promise<void> {
          const row = { ...tokenRow(accountId, { expiresAt: set.expiresAt ?? null }), createdAt };
          await store.apiTokens.insert(row);
          if (set.replacedBy) await store.apiTokens.retire(row.id, set.replacedBy, set.expiresAt ?? now + HOUR);
          if (set.revokedAt) await store.apiTokens.revoke(row.id, set.revokedAt, 'r');
          made.push((await store.apiTokens.findById(row.id))!);
        }
        await add(T0, {}); // active
        await add(T0 + 1, { expiresAt: now + HOUR }); // active, expiring later
        await add(T0 + 2, { expiresAt: now - 1 }); // expired
        await add(T0 + 3, { expiresAt: now + HOUR, replacedBy: 'n1' }); // grace
        await add(T0 + 4, { expiresAt: now - HOUR, replacedBy: 'n2' }); // replaced: the grace ended
        await add(T0 + 5, { expiresAt: now - HOUR, replacedBy: 'n3', revokedAt: now - HOUR }); // replaced: revoked as the grace ended
        await add(T0 + 6, { expiresAt: now + HOUR, replacedBy: 'n4', revokedAt: now - 2 * HOUR }); // revoked during its grace
        await add(T0 + 7, { revokedAt: now - HOUR }); // revoked
        await add(T0 + 7, { expiresAt: now - 2 * HOUR, revokedAt: now - HOUR }); // revoked after it expired: revoked
        const expected = new Map(made.map((t) => [t.id, apiTokenStatus(t, now)]));
        assert.deepEqual([...new Set(expected.values())].sort(), ['active', 'expired', 'grace', 'replaced', 'revoked']);
        for (const status of ['active', 'grace', 'replaced', 'revoked', 'expired'] as const) {
          const got = await store.apiTokens.pageByAccount(accountId, { limit: 50, status, now });
          const want = made.filter((t) => expected.get(t.id) === status).map((t) => t.id);
          assert.deepEqual(got.map((t) => t.id).sort(), want.sort(), status);
        }
        const seen: string[] = [];
        let before: { createdAt: number; id: string } | undefined;
        for (;;) {
          const rows = await store.apiTokens.pageByAccount(accountId, { limit: 2, now, ...(before ? { before } : {}) });
          seen.push(...rows.map((t) => t.id));
          const last = rows.at(-1);
          if (rows.length < 2 || !last) break;
          before = { createdAt: last.createdAt, id: last.id };
        }
        const newestFirst = [...made].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)).map((t) => t.id);
        assert.deepEqual(seen, newestFirst, 'every token once, newest first, ties on time by id');
      });

      it('touchLastUsed never moves a time backwards', async () => {
        const accountId = await newAccount(store);
        const t = tokenRow(accountId);
        await store.apiTokens.insert(t);
        await store.apiTokens.touchLastUsed([{ id: t.id, at: T0 + 10 }]);
        await store.apiTokens.touchLastUsed([{ id: t.id, at: T0 + 5 }, { id: 'missing', at: T0 }]);
        assert.equal((await store.apiTokens.findById(t.id))?.lastUsedAt, T0 + 10);
        await store.transaction((tx) => tx.apiTokens.touchLastUsed([{ id: t.id, at: T0 + 20 }]));
        assert.equal((await store.apiTokens.findById(t.id))?.lastUsedAt, T0 + 20);
      });
    });

    describe('resource servers and instance secrets', () => {
      it('resource servers: insert, find by hash, list newest first, one revoke wins', async () => {
        const hash = hex();
        const id = randomUUID();
        await store.resourceServers.insert({ id, name: 'api', hash, hint: 'td…abcd', createdAt: T0 + 50, revokedAt: null });
        assert.equal((await store.resourceServers.findByHash(hash))?.id, id);
        assert.equal(await store.resourceServers.findByHash(hex()), null);
        assert.equal((await store.resourceServers.list())[0]?.id, id);
        const r = await together(8, (i) => both(i).resourceServers.revoke(id, T0 + i));
        assert.equal(r.filter(Boolean).length, 1);
        assert.ok((await store.resourceServers.findByHash(hash))?.revokedAt);
      });

      it('insertIfAbsent: of concurrent callers exactly one inserts, and its hash stays', async () => {
        const name = `secret-${hex(4)}`;
        const results = await together(10, (i) => both(i).instanceSecrets.insertIfAbsent(name, `hash-${i}`, T0));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal(await store.instanceSecrets.getHash(name), `hash-${results.indexOf(true)}`);
        assert.equal(await store.instanceSecrets.getHash('absent'), null);
      });
    });

    describe('service accounts and keys', () => {
      it('service accounts: insert, find, list oldest first, setStatus reports a change once, claimUse only when active', async () => {
        const accountId = await newAccount(store);
        const sa = await store.serviceAccounts.insert({ accountId, name: 'dns', actions: ['dns_orders_list', 'dns_records_edit'], createdAt: T0 });
        assert.deepEqual(sa.actions, ['dns_orders_list', 'dns_records_edit']);
        assert.equal(sa.status, 'active');
        const none = await store.serviceAccounts.insert({ accountId, name: 'empty', actions: [], createdAt: T0 });
        assert.deepEqual(none.actions, []);
        assert.deepEqual((await store.serviceAccounts.listByAccount(accountId)).map((s) => s.id), [sa.id, none.id]);
        assert.equal(await store.serviceAccounts.claimUse(sa.id, T0 + 1), true);
        assert.equal((await store.serviceAccounts.findById(sa.id))?.lastUsedAt, T0 + 1);
        const changed = await together(8, (i) => both(i).serviceAccounts.setStatus(sa.id, 'disabled'));
        assert.equal(changed.filter(Boolean).length, 1);
        assert.equal(await store.serviceAccounts.claimUse(sa.id, T0 + 2), false);
        assert.equal(await store.serviceAccounts.setStatus(sa.id, 'active'), true);
        assert.equal(await store.serviceAccounts.findById(-1), null);
      });

      it('service accounts page by id and rename; keys of several service accounts come in one read', async () => {
        const accountId = await newAccount(store);
        const sas = [];
        for (let i = 0; i < 4; i++) sas.push(await store.serviceAccounts.insert({ accountId, name: `sa${i}`, actions: ['a'], createdAt: T0 }));
        const first = await store.serviceAccounts.pageByAccount(accountId, { limit: 3 });
        assert.deepEqual(first.map((s) => s.name), ['sa0', 'sa1', 'sa2']);
        assert.deepEqual((await store.serviceAccounts.pageByAccount(accountId, { limit: 3, afterId: first[2]!.id })).map((s) => s.name), ['sa3']);
        assert.equal(await store.serviceAccounts.rename(sas[1]!.id, 'renamed'), true);
        assert.equal(await store.serviceAccounts.rename(2_000_000_000, 'x'), false);
        assert.equal((await store.serviceAccounts.findById(sas[1]!.id))?.name, 'renamed');
        const keyOf = (serviceAccountId: number) => ({ serviceAccountId, accessKey: `AK${hex(8)}`, secretHash: hex(), secretHint: 'tds_…abcd', createdAt: T0, expiresAt: null });
        const k2 = await store.serviceKeys.insert(keyOf(sas[2]!.id));
        const k0a = await store.serviceKeys.insert(keyOf(sas[0]!.id));
        const k0b = await store.serviceKeys.insert(keyOf(sas[0]!.id));
        await store.serviceKeys.insert(keyOf(sas[3]!.id));
        const keys = await store.serviceKeys.listByServiceAccounts([sas[2]!.id, sas[0]!.id, sas[1]!.id]);
        assert.deepEqual(keys.map((k) => k.id), [k0a!.id, k0b!.id, k2!.id]);
        assert.deepEqual(await store.serviceKeys.listByServiceAccounts([]), []);
      });

      it('keys: unique Access Key and secret hash, lookup with the service account and account, one revoke wins, claimUse honours revocation and expiry', async () => {
        const accountId = await newAccount(store);
        const sa = await store.serviceAccounts.insert({ accountId, name: 'k', actions: ['a'], createdAt: T0 });
        const base = { serviceAccountId: sa.id, secretHint: 'tds_…abcd', createdAt: T0 };
        const accessKey = `AK${hex(8)}`;
        const secretHash = hex();
        const key = await store.serviceKeys.insert({ ...base, accessKey, secretHash, expiresAt: T0 + HOUR });
        assert.ok(key);
        assert.equal(await other.serviceKeys.insert({ ...base, accessKey, secretHash: hex(), expiresAt: null }), null);
        assert.equal(await other.serviceKeys.insert({ ...base, accessKey: `AK${hex(8)}`, secretHash, expiresAt: null }), null);
        const found = await store.serviceKeys.findByAccessKey(accessKey);
        assert.equal(found?.key.id, key.id);
        assert.equal(found?.secretHash, secretHash);
        assert.equal(found?.serviceAccount.id, sa.id);
        assert.deepEqual(found?.serviceAccount.actions, ['a']);
        assert.equal(found?.accountStatus, 'active');
        assert.equal(await store.serviceKeys.findByAccessKey('AKnone'), null);
        assert.equal((await store.serviceKeys.findById(key.id))?.accessKey, accessKey);

        assert.equal(await store.serviceKeys.claimUse(key.id, T0 + 1), true);
        assert.equal(await store.serviceKeys.claimUse(key.id, T0 + HOUR), false, 'expired at its expiry instant');
        const second = await store.serviceKeys.insert({ ...base, accessKey: `AK${hex(8)}`, secretHash: hex(), expiresAt: null });
        assert.ok(second);
        assert.deepEqual((await store.serviceKeys.listByServiceAccount(sa.id)).map((k) => k.id), [key.id, second.id]);
        const revoked = await together(8, (i) => both(i).serviceKeys.revoke(second.id, T0 + i));
        assert.equal(revoked.filter(Boolean).length, 1);
        assert.equal(await store.serviceKeys.claimUse(second.id, T0 + 10), false);
      });
    });

    describe('policies', () => {
      const rules = (over: Partial<PolicyRules> = {}): PolicyRules => ({ rateLimits: [], credits: null, ipAllowList: null, scopes: null, expiry: null, ...over });
      const withCredits = (remaining: number, refill: number | null = null): PolicyRules =>
        rules({ credits: { remaining, cost: 1, refill: refill === null ? null : { amount: refill, interval: 'daily' } } });

      it('put replaces, get, list, listByAccount, delete once', async () => {
        const accountId = await newAccount(store);
        const subject = { kind: 'api_token', id: randomUUID() } as const;
        const first = rules({ rateLimits: [{ limit: 10, windowSeconds: 1 }], ipAllowList: ['10.0.0.0/8', '2001:db8::/32'] });
        await store.policies.put({ subject, accountId, rules: first, credits: null, updatedAt: T0 });
        assert.deepEqual(await other.policies.get(subject), { subject, accountId, rules: first, credits: null, updatedAt: T0 });
        const second = withCredits(50);
        await other.policies.put({ subject, accountId, rules: second, credits: { remaining: 50, period: 0 }, updatedAt: T0 + 1 });
        assert.deepEqual(await store.policies.get(subject), { subject, accountId, rules: second, credits: { remaining: 50, period: 0 }, updatedAt: T0 + 1 });
        const app = { kind: 'app', id: `app_${hex(4)}` } as const;
        await store.policies.put({ subject: app, accountId, rules: first, credits: null, updatedAt: T0 });
        assert.deepEqual((await store.policies.listByAccount(accountId)).map((p) => p.subject), [subject, app].sort((a, b) => a.kind.localeCompare(b.kind)));
        assert.ok((await store.policies.list()).some((p) => p.subject.id === app.id));
        assert.deepEqual(await Promise.all([store.policies.delete(app), other.policies.delete(app)]).then((r) => r.sort()), [false, true]);
        assert.equal(await store.policies.get(app), null);
      });

      it('spendCredits: subtracts, clamps at zero, and concurrent flushes from two nodes lose nothing', async () => {
        const accountId = await newAccount(store);
        const subject = { kind: 'service_key', id: `AK${hex(8)}` } as const;
        await store.policies.put({ subject, accountId, rules: withCredits(1000), credits: { remaining: 1000, period: 0 }, updatedAt: T0 });
        await together(40, (i) => both(i).policies.spendCredits(subject, 0, 7, null));
        assert.deepEqual((await store.policies.get(subject))?.credits, { remaining: 1000 - 280, period: 0 });
        assert.deepEqual(await other.policies.spendCredits(subject, 0, 10_000, null), { remaining: 0, period: 0 });
        assert.deepEqual(await store.policies.spendCredits(subject, 0, 1, null), { remaining: 0, period: 0 });
      });

      it('spendCredits: a newer period refills first, an older one is ignored; no credits rule gives null', async () => {
        const accountId = await newAccount(store);
        const subject = { kind: 'app', id: `app_${hex(4)}` } as const;
        const day = 86_400_000;
        await store.policies.put({ subject, accountId, rules: withCredits(3, 100), credits: { remaining: 3, period: T0 }, updatedAt: T0 });
        assert.deepEqual(await store.policies.spendCredits(subject, T0 + day, 10, 100), { remaining: 90, period: T0 + day });
        assert.deepEqual(await other.policies.spendCredits(subject, T0, 2, 100), { remaining: 90, period: T0 + day });
        assert.deepEqual(await other.policies.spendCredits(subject, T0 + day, 5, 100), { remaining: 85, period: T0 + day });
        const bare = { kind: 'api_token', id: randomUUID() } as const;
        await store.policies.put({ subject: bare, accountId, rules: rules(), credits: null, updatedAt: T0 });
        assert.equal(await store.policies.spendCredits(bare, 0, 1, null), null);
        assert.equal(await store.policies.spendCredits({ kind: 'api_token', id: 'none' }, 0, 1, null), null);
      });

      it('spendCreditsMany: many subjects in one call, the same rules as one by one; a subject twice (two periods) in order; concurrent flushes lose nothing', async () => {
        const accountId = await newAccount(store);
        const day = 86_400_000;
        const subjects = Array.from({ length: 1200 }, () => ({ kind: 'api_token', id: randomUUID() }) as const);
        for (const subject of subjects) await store.policies.put({ subject, accountId, rules: withCredits(100), credits: { remaining: 100, period: 0 }, updatedAt: T0 });
        const refilled = { kind: 'app', id: `app_${hex(4)}` } as const;
        await store.policies.put({ subject: refilled, accountId, rules: withCredits(3, 50), credits: { remaining: 3, period: T0 }, updatedAt: T0 });
        const bare = { kind: 'api_token', id: randomUUID() } as const;
        await store.policies.put({ subject: bare, accountId, rules: rules(), credits: null, updatedAt: T0 });
        const after = await store.policies.spendCreditsMany([
          ...subjects.map((subject, i) => ({ subject, period: 0, used: i % 150, refillAmount: null })),
          { subject: refilled, period: T0, used: 2, refillAmount: 50 },
          { subject: refilled, period: T0 + day, used: 10, refillAmount: 50 },
          { subject: bare, period: 0, used: 1, refillAmount: null },
          { subject: { kind: 'api_token', id: 'none' }, period: 0, used: 1, refillAmount: null },
        ]);
        assert.equal(after.length, subjects.length + 4);
        subjects.forEach((_, i) => assert.deepEqual(after[i], { remaining: Math.max(0, 100 - (i % 150)), period: 0 }));
        assert.deepEqual(after.slice(subjects.length), [{ remaining: 1, period: T0 }, { remaining: 40, period: T0 + day }, null, null]);
        assert.deepEqual((await other.policies.get(subjects[7]!))?.credits, { remaining: 93, period: 0 });
        await together(20, (i) => both(i).policies.spendCreditsMany(subjects.slice(0, 50).map((subject) => ({ subject, period: 0, used: 1, refillAmount: null }))));
        assert.deepEqual((await store.policies.get(subjects[40]!))?.credits, { remaining: 100 - 40 - 20, period: 0 });
        assert.deepEqual((await store.policies.get(subjects[3]!))?.credits, { remaining: 100 - 3 - 20, period: 0 });
        assert.deepEqual((await store.policies.get(subjects[149]!))?.credits, { remaining: 0, period: 0 });
      });
    });

    describe('signing keys', () => {
      it('insert, list by activation then kid, raise never lowers, delete by kid', async () => {
        const rec = (kid: string, activatesAt: number) => ({
          kid,
          alg: 'EdDSA' as const,
          publicJwk: '{"kty":"OKP"}',
          privateJwkSealed: 'v1.sealed',
          createdAt: T0,
          activatesAt,
          maxTokenTtlMs: 1000,
        });
        const p = hex(4);
        await store.signingKeys.insert(rec(`${p}-b`, T0 + 1));
        await store.signingKeys.insert(rec(`${p}-a`, T0 + 1));
        await store.signingKeys.insert(rec(`${p}-c`, T0));
        const mine = (await store.signingKeys.list()).filter((k) => k.kid.startsWith(p));
        assert.deepEqual(mine.map((k) => k.kid), [`${p}-c`, `${p}-a`, `${p}-b`]);
        await together(10, (i) => both(i).signingKeys.raiseMaxTokenTtl(`${p}-a`, 1000 + i * 100));
        await store.signingKeys.raiseMaxTokenTtl(`${p}-a`, 10);
        assert.equal((await store.signingKeys.list()).find((k) => k.kid === `${p}-a`)?.maxTokenTtlMs, 1900);
        assert.equal(await store.signingKeys.delete([`${p}-a`, `${p}-b`, 'absent']), 2);
        assert.equal(await store.signingKeys.delete([]), 0);
      });
    });

    describe('console sessions', () => {
      it('insert, find, touch is monotonic, one revoke wins, by account, purge', async () => {
        const accountId = await newAccount(store);
        const id = hex();
        await store.consoleSessions.insert({
          id, kind: 'account', accountId, createdAt: T0, lastSeenAt: T0, expiresAt: T0 + HOUR, revokedAt: null, address: '127.0.0.1', userAgent: 'test',
        });
        assert.equal((await store.consoleSessions.find(id))?.accountId, accountId);
        await store.consoleSessions.touch(id, T0 + 10);
        await store.consoleSessions.touch(id, T0 + 5);
        assert.equal((await store.consoleSessions.find(id))?.lastSeenAt, T0 + 10);
        const r = await together(6, (i) => both(i).consoleSessions.revoke(id, T0 + 20 + i));
        assert.equal(r.filter(Boolean).length, 1);
        const id2 = hex();
        await store.consoleSessions.insert({
          id: id2, kind: 'operator', accountId: null, createdAt: T0, lastSeenAt: T0, expiresAt: T0 + 2 * HOUR, revokedAt: null, address: null, userAgent: null,
        });
        assert.equal((await store.consoleSessions.find(id2))?.kind, 'operator');
        const id3 = hex();
        await store.consoleSessions.insert({
          id: id3, kind: 'account', accountId, createdAt: T0, lastSeenAt: T0, expiresAt: T0 + 2 * HOUR, revokedAt: null, address: null, userAgent: null,
        });
        assert.equal(await store.consoleSessions.revokeByAccount(accountId, T0), 1);
        assert.ok((await store.consoleSessions.purgeExpired(T0 + HOUR)) >= 1);
        assert.equal(await store.consoleSessions.find(id), null);
        assert.ok(await store.consoleSessions.find(id2));
      });
    });

    describe('transactions and failures', () => {
      it('a transaction commits everything or nothing', async () => {
        const email = `tx-${hex(4)}@example.com`;
        await assert.rejects(
          store.transaction(async (tx) => {
            await newAccount(tx, email);
            throw new Error('rollback');
          }),
        );
        assert.equal(await store.accounts.findByEmail(email), null);
        const id = await store.transaction((tx) => newAccount(tx, email));
        assert.equal((await other.accounts.findByEmail(email))?.id, id);
      });

      it('a transaction that returns rollback(value) lands nothing and returns the value, beside committed ones', async () => {
        const undone = `undone-${hex(4)}@example.com`;
        const kept = `kept-${hex(4)}@example.com`;
        // Concurrent, so that on SQLite the three share one group commit (each in its savepoint).
        const [a, b, c] = await Promise.all([
          store.transaction(async (tx) => {
            const id = await newAccount(tx, undone);
            await tx.counters.increment(`rollback-${undone}`, T0, T0 + HOUR);
            await tx.audit.append({ at: T0, type: 'account.created', accountId: id, sessionId: null, address: null, detail: {} });
            return rollback({ refused: true, id });
          }),
          store.transaction((tx) => newAccount(tx, kept)),
          other.transaction(async (tx) => rollback(await tx.accounts.findByEmail(kept))),
        ]);
        assert.equal(a.refused, true);
        assert.equal(typeof b, 'number');
        assert.ok(c === null || c.id === b);
        assert.equal(await store.accounts.findByEmail(undone), null);
        assert.equal(await other.accounts.findByEmail(undone), null);
        assert.equal(await store.counters.get(`rollback-${undone}`, T0), 0);
        assert.equal((await store.audit.list({ accountId: a.id, limit: 10 })).length, 0);
        assert.equal((await other.accounts.findByEmail(kept))?.id, b);
      });

      it('retries a transaction that hit a transient conflict, so the caller sees one clean result', async () => {
        let calls = 0;
        const transient = kind === 'postgres' ? Object.assign(new Error('deadlock detected'), { code: '40P01' }) : Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' });
        const result = await store.transaction(async () => {
          calls++;
          if (calls < 3) throw transient;
          return 'done';
        });
        assert.equal(result, 'done');
        assert.equal(calls, 3);
      });

      it('a database that cannot be reached is StoreUnavailableError, for reads, writes, transactions and ping', { skip: kind === 'sqlite' ? 'an embedded file has no server to lose' : false }, async () => {
        const unreachable = createStore(openDialect('postgres://postgres@127.0.0.1:1/none', tdb.dataDir));
        try {
          await assert.rejects(unreachable.ping(), StoreUnavailableError);
          await assert.rejects(unreachable.accounts.findById(1), StoreUnavailableError);
          await assert.rejects(unreachable.counters.incrementBelow('s', T0, 1, T0 + 1), StoreUnavailableError);
          await assert.rejects(unreachable.transaction((tx) => tx.accounts.findById(1)), StoreUnavailableError);
        } finally {
          await unreachable.close();
        }
      });
    });
  });
}
