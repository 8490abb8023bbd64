/**
 * The API-token filter (src/core/token-filter.ts) on both databases: an API token that was never
 * stored ends before storage, in every format and on every path that checks API tokens, while
 * every stored token (whatever its status, whoever stored it) is still found at once.
 *
 * "Before storage" is observed on the real store: its lookup by hash is counted (the repository
 * method still runs; nothing is replaced).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadConfig } from '../src/config/load.ts';
import { newHex128, nativeTokenFromBody } from '../src/secrets/tokens.ts';
import { openServices, type Services } from '../src/services.ts';
import { LISTEN_INSERTS_APPLICATION_NAME } from '../src/store/dialect.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';

const CTX = { address: 'test' };
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(n: number): string {
  return Array.from(randomBytes(n), (b) => BASE62[b % 62]).join('');
}

/** Random candidates of every API-token format: v3, l3 under a real account's number, and native with a valid checksum. */
function unknownApiTokens(accountId: number, each: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < each; i++) {
    out.push(newHex128(), `${accountId}-API:${newHex128()}`, nativeTokenFromBody('apiToken', base62(27)));
  }
  return out;
}

/** Counts the store's lookups of API tokens and of session access tokens by hash (the real methods still run). */
function countReads(t: TestTokend): { apiTokens: () => number; sessions: () => number } {
  const apiTokens = t.services.db.apiTokens as unknown as { findByHash: (hash: string) => Promise<unknown> };
  const sessions = t.services.db.sessions as unknown as { findAccess: (hash: string) => Promise<unknown> };
  const realApi = apiTokens.findByHash;
  const realSessions = sessions.findAccess;
  let api = 0;
  let access = 0;
  apiTokens.findByHash = (hash) => {
    api++;
    return realApi(hash);
  };
  sessions.findAccess = (hash) => {
    access++;
    return realSessions(hash);
  };
  return { apiTokens: () => api, sessions: () => access };
}

for (const kind of databases()) {
  describe(`API-token filter (${kind})`, () => {
    let db: TestDatabase;
    let t: TestTokend;
    let other: Services;
    let reads: ReturnType<typeof countReads>;
    let account: Awaited<ReturnType<typeof seedAccount>>;
    const loaded: string[] = [];

    const invoicebox = (token: string) => t.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });
    const forwardAuth = (token: string) => t.app.inject({ method: 'GET', url: '/auth/verify', headers: { authorization: `Bearer ${token}` } });

    before(async () => {
      db = await createTestDatabase(kind);
      t = await startTokend({ db, config: { verifyCacheTtl: 60_000 } });
      reads = countReads(t);
      account = await seedAccount(t.core);
      for (const format of ['v3', 'l3', 'native'] as const) loaded.push((await t.core.apiTokens.create({ accountId: account.accountId, format }, CTX)).token);
      // Another writer on the same database: the CLI beside the server on SQLite, another node on PostgreSQL.
      other = await openServices(loadConfig({ env: {}, overrides: { databaseUrl: db.url, dataDir: db.dataDir, databaseStatementTimeout: 120_000 } }));
    });

    after(async () => {
      await other?.close();
      await t?.close();
      await db?.drop();
    });

    it('before it is loaded, every candidate goes to storage (nothing is refused on a guess)', async () => {
      const before = reads.apiTokens();
      for (const token of unknownApiTokens(account.accountId, 2)) assert.equal((await invoicebox(token)).statusCode, 401);
      assert.equal(reads.apiTokens() - before, 6, 'the lookups are counted: this test could see them');
      assert.equal(t.core.apiTokenFilter.stats.state, 'off');
    });

    it('loads every stored token at start', async () => {
      await t.services.startApiTokenFilter();
      const stats = t.core.apiTokenFilter.stats;
      assert.equal(stats.state, 'ready');
      assert.equal(stats.entries, 3);
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /^tokend_api_token_filter_ready 1$/m);
      assert.match(metrics.body, /^tokend_api_token_filter_tokens 3$/m);
    });

    it('refuses random tokens of every API-token format without a storage read, on every path', async () => {
      const before = reads.apiTokens();
      const candidates = unknownApiTokens(account.accountId, 30);
      for (const token of candidates) {
        const res = await invoicebox(token);
        assert.equal(res.statusCode, 401);
        assert.equal(res.json().error.code, 'unauthorized');
      }
      for (const token of candidates.slice(0, 15)) assert.equal((await forwardAuth(token)).statusCode, 401);
      for (const token of candidates.slice(0, 15)) {
        const outcome = await t.core.verification.check(token, { accept: ['api_token'], address: null });
        assert.deepEqual(outcome, { ok: false, kind: 'api_token', reason: 'invalid' });
      }
      assert.equal(await t.core.verification.revoke(candidates[0]!, CTX), false, 'RFC 7009 revocation of an unknown token');
      assert.equal(reads.apiTokens() - before, 0, 'an unknown API token reached storage');
      assert.ok(t.core.apiTokenFilter.stats.refused >= candidates.length);
    });

    it('random ChatApp access tokens and JWTs stop at their checksum and signature', async () => {
      const before = reads.sessions();
      for (let i = 0; i < 20; i++) {
        const access = `tda_${base62(33)}`;
        const chat = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: access } });
        assert.equal(chat.statusCode, 401);
        const jwt = ['eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ', randomBytes(60).toString('base64url'), randomBytes(64).toString('base64url')].join('.');
        const hoster = await t.app.inject({ method: 'GET', url: '/token/info/access', headers: { 'access-token': jwt } });
        assert.equal(hoster.statusCode, 401);
        assert.equal((await forwardAuth(jwt)).statusCode, 401);
      }
      assert.equal(reads.sessions() - before, 0);
    });

    it('finds every stored token: loaded, created and rotated here, revoked and expired ones answer as before', async () => {
      for (const token of loaded) assert.equal((await invoicebox(token)).statusCode, 200, token.slice(0, 4));
      for (const format of ['v3', 'l3', 'native'] as const) {
        const created = await t.core.apiTokens.create({ accountId: account.accountId, format }, CTX);
        assert.equal((await invoicebox(created.token)).statusCode, 200);
        const rotated = await t.core.apiTokens.rotate(created.apiToken.id, { graceMs: 0 }, CTX);
        assert.ok(rotated.ok);
        assert.equal((await invoicebox(rotated.created.token)).statusCode, 200);
        // The replaced token is still stored: its answer is "revoked", not "unknown".
        const old = await t.core.verification.check(created.token, { accept: ['api_token'], address: null });
        assert.deepEqual(old, { ok: false, kind: 'api_token', reason: 'revoked' });
      }
      const revoked = await t.core.apiTokens.create({ accountId: account.accountId, format: 'v3' }, CTX);
      assert.ok(await t.core.apiTokens.revoke(revoked.apiToken.id, CTX));
      assert.deepEqual(await t.core.verification.check(revoked.token, { accept: ['api_token'], address: null }), { ok: false, kind: 'api_token', reason: 'revoked' });
      const soon = await t.core.apiTokens.create({ accountId: account.accountId, format: 'l3', expiresAt: t.core.clock.now() + 300 }, CTX);
      await sleep(400);
      assert.deepEqual(await t.core.verification.check(soon.token, { accept: ['api_token'], address: null }), { ok: false, kind: 'api_token', reason: 'expired' });
    });

    it('accepts at once a token another writer stored on the same database', async () => {
      for (let i = 0; i < 15; i++) {
        const format = (['v3', 'l3', 'native'] as const)[i % 3];
        const created = await other.core.apiTokens.create({ accountId: account.accountId, format }, CTX);
        const res = await invoicebox(created.token);
        assert.equal(res.statusCode, 200, `round ${i} (${format}): ${res.body}`);
      }
      // And random ones are still refused without storage after those catch-ups.
      const before = reads.apiTokens();
      for (const token of unknownApiTokens(account.accountId, 5)) assert.equal((await invoicebox(token)).statusCode, 401);
      assert.equal(reads.apiTokens() - before, 0);
    });

    if (kind === 'postgres') {
      it('without its LISTEN session it asks storage, and reloads once it is back', async () => {
        const admin = new pg.Client({ connectionString: db.url });
        await admin.connect();
        try {
          const killed = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1', [LISTEN_INSERTS_APPLICATION_NAME]);
          assert.equal(killed.rowCount, 1);
        } finally {
          await admin.end();
        }
        // Until it listens again and has reloaded, nothing is refused on the filter's word.
        const created = await other.core.apiTokens.create({ accountId: account.accountId, format: 'v3' }, CTX);
        assert.equal((await invoicebox(created.token)).statusCode, 200);
        const deadline = Date.now() + 15_000;
        while (t.core.apiTokenFilter.stats.state !== 'ready' && Date.now() < deadline) await sleep(50);
        assert.equal(t.core.apiTokenFilter.stats.state, 'ready', 'the filter did not reload after the LISTEN session came back');
        const again = await other.core.apiTokens.create({ accountId: account.accountId, format: 'l3' }, CTX);
        assert.equal((await invoicebox(again.token)).statusCode, 200);
        const before = reads.apiTokens();
        for (const token of unknownApiTokens(account.accountId, 5)) assert.equal((await invoicebox(token)).statusCode, 401);
        assert.equal(reads.apiTokens() - before, 0);
      });
    }
  });
}
