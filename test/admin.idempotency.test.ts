/**
 * `Idempotency-Key` on the admin API's creating POSTs (docs/admin-api.md), on SQLite and
 * PostgreSQL: a retry with the same key and body answers the first answer again (and creates
 * nothing), another body or route under the key is 409 `idempotency_conflict`, a retry while the
 * first is running is 409 `idempotency_in_progress`; keys are per credential and last 24 h; a
 * remembered answer that carries a secret is stored sealed, never in plain text.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { ManualClock } from '../src/core/clock.ts';
import { requestHash } from '../src/core/idempotency.ts';
import { createPasswordHasher, type PasswordHasher } from '../src/secrets/password.ts';
import { adminCaller, createOperatorKey } from './helpers/admin.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = testAdminToken();
const PASSWORD = 'correct horse battery';

/** The real hasher, with a gate the test can close to hold a request in its handler. */
class GatedHasher implements PasswordHasher {
  readonly #inner: PasswordHasher;
  #gate: Promise<void> | null = null;
  #open: (() => void) | null = null;
  entered: (() => void) | null = null;
  constructor(inner: PasswordHasher) {
    this.#inner = inner;
  }
  close(): Promise<void> {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
    return new Promise((resolve) => (this.entered = resolve));
  }
  open(): void {
    this.#open?.();
    this.#gate = null;
  }
  async hash(password: string): Promise<string> {
    if (this.#gate) {
      this.entered?.();
      await this.#gate;
    }
    return this.#inner.hash(password);
  }
  verify(storedHash: string | null, password: string): Promise<boolean> {
    return this.#inner.verify(storedHash, password);
  }
}

for (const db of databases()) {
  describe(`admin API: Idempotency-Key (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let hasher: GatedHasher;
    let admin: ReturnType<typeof adminCaller>;
    let seq = 0;
    const key = (): string => `key-${db}-${++seq}-${Date.now()}`;
    const email = (): string => `idem-${db}-${++seq}@example.com`;

    before(async () => {
      hasher = new GatedHasher(await createPasswordHasher({ memoryKiB: 19456, iterations: 2, parallelism: 1 }));
      t = await startTokend({ db, clock, hasher, config: { adminToken: ADMIN_TOKEN, credentialMaxFailures: 1000 } });
      admin = adminCaller(t, ADMIN_TOKEN);
    });
    after(async () => t.close());

    async function accountsNamed(address: string): Promise<number> {
      return (await admin('GET', `/api/admin/accounts?email=${encodeURIComponent(address)}`)).json().items.length;
    }

    it('the same key and body answer the first answer again, with Idempotent-Replayed, and create nothing more', async () => {
      const k = key();
      const address = email();
      const first = await admin('POST', '/api/admin/accounts', { email: address, password: PASSWORD, name: 'Once' }, { 'idempotency-key': k });
      assert.equal(first.statusCode, 201, first.body);
      assert.equal(first.headers['idempotent-replayed'], undefined);
      // The same body with its fields in another order is the same request.
      const again = await admin('POST', '/api/admin/accounts', { name: 'Once', password: PASSWORD, email: address }, { 'idempotency-key': k });
      assert.equal(again.statusCode, 201, again.body);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.deepEqual(again.json(), first.json());
      assert.equal(await accountsNamed(address), 1);
      // Without a key, a second create is a second request (and the email is taken).
      const plain = await admin('POST', '/api/admin/accounts', { email: address, password: PASSWORD });
      assert.equal(plain.statusCode, 400);
    });

    it('another body, or another route, under the same key: 409 idempotency_conflict, nothing created', async () => {
      const k = key();
      const first = await admin('POST', '/api/admin/accounts', { email: email(), password: PASSWORD }, { 'idempotency-key': k });
      assert.equal(first.statusCode, 201);
      const other = email();
      const conflict = await admin('POST', '/api/admin/accounts', { email: other, password: PASSWORD }, { 'idempotency-key': k });
      assert.equal(conflict.statusCode, 409, conflict.body);
      assert.equal(conflict.json().error.code, 'idempotency_conflict');
      assert.equal(await accountsNamed(other), 0);
      const route = await admin('POST', '/api/admin/operator-keys', { name: 'x', permissions: ['audit:read'] }, { 'idempotency-key': k });
      assert.equal(route.statusCode, 409);
      assert.equal(route.json().error.code, 'idempotency_conflict');
    });

    it('keys are per credential: an operator key using the admin token\'s key runs its own request', async () => {
      const k = key();
      const writer = await createOperatorKey(t, ADMIN_TOKEN, ['accounts:write']);
      const first = email();
      assert.equal((await admin('POST', '/api/admin/accounts', { email: first, password: PASSWORD }, { 'idempotency-key': k })).statusCode, 201);
      const second = email();
      const own = await adminCaller(t, writer.key)('POST', '/api/admin/accounts', { email: second, password: PASSWORD }, { 'idempotency-key': k });
      assert.equal(own.statusCode, 201, own.body);
      assert.equal(own.headers['idempotent-replayed'], undefined);
      assert.equal(await accountsNamed(second), 1);
    });

    it('a retry while the first request runs: 409 idempotency_in_progress; after it answers, the answer', async () => {
      const k = key();
      const address = email();
      const entered = hasher.close();
      const running = admin('POST', '/api/admin/accounts', { email: address, password: PASSWORD }, { 'idempotency-key': k });
      await entered;
      const retry = await admin('POST', '/api/admin/accounts', { email: address, password: PASSWORD }, { 'idempotency-key': k });
      assert.equal(retry.statusCode, 409, retry.body);
      assert.equal(retry.json().error.code, 'idempotency_in_progress');
      hasher.open();
      const first = await running;
      assert.equal(first.statusCode, 201, first.body);
      const replay = await admin('POST', '/api/admin/accounts', { email: address, password: PASSWORD }, { 'idempotency-key': k });
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.deepEqual(replay.json(), first.json());
      assert.equal(await accountsNamed(address), 1);
    });

    it('concurrent first requests under one key create one record', async () => {
      const k = key();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => admin('POST', '/api/admin/operator-keys', { name: 'burst', permissions: ['usage:read'] }, { 'idempotency-key': k })),
      );
      const created = results.filter((r) => r.statusCode === 201);
      assert.ok(created.length >= 1, results.map((r) => r.body).join('\n'));
      assert.ok(results.every((r) => r.statusCode === 201 || r.json().error.code === 'idempotency_in_progress'), results.map((r) => r.statusCode).join(','));
      assert.equal(new Set(created.map((r) => r.json().id)).size, 1, 'two keys were minted');
      const named = (await admin('GET', '/api/admin/operator-keys')).json().items.filter((i: { name: string }) => i.name === 'burst');
      assert.equal(named.length, 1);
    });

    it('a secret shown once is replayed to the same caller, and stored sealed, never in plain text', async () => {
      const k = key();
      const first = await admin('POST', '/api/admin/operator-keys', { name: 'sealed', permissions: ['audit:read'] }, { 'idempotency-key': k });
      assert.equal(first.statusCode, 201);
      const secret = first.json().key as string;
      const replay = await admin('POST', '/api/admin/operator-keys', { name: 'sealed', permissions: ['audit:read'] }, { 'idempotency-key': k });
      assert.equal(replay.json().key, secret);
      const rows = await sql<{ response: string | null; key: string }>`select response, key from idempotency_keys`.execute(t.core.store.dialect.db);
      assert.ok(rows.rows.every((r) => r.key !== k), 'the Idempotency-Key is stored as is');
      assert.ok(rows.rows.length > 0);
      for (const row of rows.rows) {
        assert.ok(row.response === null || row.response.startsWith('v1.'), 'a remembered answer is not sealed');
        assert.ok(!String(row.response).includes(secret));
        assert.ok(!String(row.response).includes('sealed'), 'the answer body is readable');
      }
      assert.ok(!t.logs.some((l) => l.includes(secret)), 'the key reached the log');
    });

    it('an API token created and rotated under a key: the retry gets the same token, one token exists, it works', async () => {
      const u = await seedAccount(t.core);
      const k = key();
      const body = { format: 'native', label: 'billing' };
      const first = await admin('POST', `/api/admin/accounts/${u.accountId}/api-tokens`, body, { 'idempotency-key': k });
      assert.equal(first.statusCode, 201, first.body);
      const retry = await admin('POST', `/api/admin/accounts/${u.accountId}/api-tokens`, body, { 'idempotency-key': k });
      assert.equal(retry.headers['idempotent-replayed'], 'true');
      assert.equal(retry.json().token, first.json().token);
      assert.equal((await t.core.apiTokens.listByAccount(u.accountId)).length, 1, 'the retry created a second token');
      const check = async (token: string): Promise<number> =>
        (await t.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } })).statusCode;
      assert.equal(await check(first.json().token), 200);

      const r = key();
      const rotated = await admin('POST', `/api/admin/api-tokens/${first.json().id}/rotate`, { grace: '1h' }, { 'idempotency-key': r });
      assert.equal(rotated.statusCode, 201, rotated.body);
      const again = await admin('POST', `/api/admin/api-tokens/${first.json().id}/rotate`, { grace: '1h' }, { 'idempotency-key': r });
      assert.equal(again.statusCode, 201, 'a retried rotation was refused (or ran twice)');
      assert.equal(again.json().token, rotated.json().token);
      assert.equal(await check(rotated.json().token), 200);
      assert.equal(await check(first.json().token), 200, 'the old token is still in its grace period');
      assert.equal((await t.core.apiTokens.listByAccount(u.accountId)).length, 2);
      const rows = await sql<{ response: string | null }>`select response from idempotency_keys`.execute(t.core.store.dialect.db);
      for (const row of rows.rows) {
        for (const secret of [first.json().token, rotated.json().token]) assert.ok(!String(row.response).includes(secret), 'a token is stored in plain text');
      }
    });

    it('a key is remembered 24 h; after that the same key runs again', async () => {
      const k = key();
      const body = { name: 'daily', permissions: ['usage:read'] };
      const first = (await admin('POST', '/api/admin/operator-keys', body, { 'idempotency-key': k })).json();
      clock.advance(24 * 3_600_000 - 1);
      assert.equal((await admin('POST', '/api/admin/operator-keys', body, { 'idempotency-key': k })).json().id, first.id);
      clock.advance(1);
      const later = await admin('POST', '/api/admin/operator-keys', body, { 'idempotency-key': k });
      assert.equal(later.statusCode, 201);
      assert.notEqual(later.json().id, first.id);
      assert.equal(later.headers['idempotent-replayed'], undefined);
      assert.ok((await t.core.purgeExpiredCounters()) >= 0);
    });

    it('a claim whose request never answered (its node stopped) stops blocking the key after a while', async () => {
      const k = key();
      const body = { name: 'orphan', permissions: ['usage:read'] };
      const hash = requestHash('POST', '/api/admin/operator-keys', body);
      const storedKey = createHash('sha256').update(k).digest('hex');
      await t.core.store.transaction((tx) => tx.idempotency.claim({ credential: 'admin', key: storedKey, requestHash: hash, createdAt: clock.now() }, { expiredBefore: 0, staleClaimBefore: 0 }));
      const blocked = await admin('POST', '/api/admin/operator-keys', body, { 'idempotency-key': k });
      assert.equal(blocked.json().error.code, 'idempotency_in_progress');
      clock.advance(10 * 60_000);
      assert.equal((await admin('POST', '/api/admin/operator-keys', body, { 'idempotency-key': k })).statusCode, 201);
    });

    it('a request refused by validation claims nothing; a malformed key is 400', async () => {
      const k = key();
      const bad = await admin('POST', '/api/admin/operator-keys', { name: 'x', permissions: ['nope:read'] }, { 'idempotency-key': k });
      assert.equal(bad.statusCode, 400);
      const good = await admin('POST', '/api/admin/operator-keys', { name: 'x', permissions: ['usage:read'] }, { 'idempotency-key': k });
      assert.equal(good.statusCode, 201, good.body);
      for (const header of ['x'.repeat(256), 'tab\there', 'é']) {
        const res = await admin('POST', '/api/admin/operator-keys', { name: 'x', permissions: ['usage:read'] }, { 'idempotency-key': header });
        assert.equal(res.statusCode, 400, `${JSON.stringify(header)}: ${res.body}`);
        assert.equal(res.json().error.code, 'validation_failed');
      }
    });

    it('a refusal is not remembered: it changed nothing, and a corrected retry under the same key runs', async () => {
      const k = key();
      const address = email();
      assert.equal((await admin('POST', '/api/admin/accounts', { email: address, password: PASSWORD })).statusCode, 201);
      const taken = await admin('POST', '/api/admin/accounts', { email: address, password: PASSWORD }, { 'idempotency-key': k });
      assert.equal(taken.statusCode, 400);
      const again = await admin('POST', '/api/admin/accounts', { email: address, password: PASSWORD }, { 'idempotency-key': k });
      assert.equal(again.statusCode, 400);
      assert.equal(again.headers['idempotent-replayed'], undefined);
      const corrected = await admin('POST', '/api/admin/accounts', { email: email(), password: PASSWORD }, { 'idempotency-key': k });
      assert.equal(corrected.statusCode, 201, corrected.body);
      const rows = await sql<{ n: number }>`select count(*) as n from idempotency_keys where key = ${createHash('sha256').update(k).digest('hex')}`.execute(t.core.store.dialect.db);
      assert.equal(Number(rows.rows[0]!.n), 1);
    });
  });
}
