/**
 * Organisation API tokens: formats, hints, rotation with and without grace,
 * revocation and its bound across nodes, `last used` batching, and hashes only at rest
 * (test/invoicebox.cli.test.ts: the CLI).
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEMO, seedDemo } from '../src/cli/demo.ts';
import { apiTokenShape } from '../src/core/api-tokens.ts';
import { ManualClock } from '../src/core/clock.ts';
import { sha256Hex } from '../src/secrets/hash.ts';
import { parseNativeToken } from '../src/secrets/tokens.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';

const AUTH = '/v3/security/api/auth/auth';
const CTX = { address: 'test' };
const HOUR = 3_600_000;

async function status(t: TestTokend, token: string): Promise<number> {
  const res = await t.app.inject({ method: 'GET', url: AUTH, headers: { authorization: `Bearer ${token}` } });
  return res.statusCode;
}

for (const db of databases()) {
  describe(`API tokens (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let user: Awaited<ReturnType<typeof seedAccount>>;

    before(async () => {
      t = await startTokend({ db, clock });
      user = await seedAccount(t.core);
    });
    after(async () => t.close());

    it('creates each format with at least 128 random bits; l3 carries the account id', async () => {
      const v3 = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3', label: 'shop' }, CTX);
      assert.match(v3.token, /^[0-9a-f]{32}$/);
      const l3 = await t.core.apiTokens.create({ accountId: user.accountId, format: 'l3' }, CTX);
      assert.match(l3.token, new RegExp(`^${user.accountId}-API:[0-9a-f]{32}$`));
      const native = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native' }, CTX);
      assert.match(native.token, /^tdo_[0-9A-Za-z]{33}$/);
      assert.equal(parseNativeToken(native.token), 'apiToken');
      assert.deepEqual(apiTokenShape(l3.token), { format: 'l3', accountId: user.accountId });
      // The default format is v3 (the Invoicebox documentation's example).
      const dflt = await t.core.apiTokens.create({ accountId: user.accountId }, CTX);
      assert.equal(dflt.apiToken.format, 'v3');
    });

    it('lists tokens with a hint (start + last 4), label, created, last used and expiry; never the token', async () => {
      const other = await seedAccount(t.core);
      const expiresAt = clock.now() + 90 * 24 * HOUR;
      const created = await t.core.apiTokens.create({ accountId: other.accountId, format: 'l3', label: ' billing ', expiresAt }, CTX);
      const list = await t.core.apiTokens.listByAccount(other.accountId);
      assert.equal(list.length, 1);
      const [item] = list;
      assert.equal(item!.id, created.apiToken.id);
      assert.equal(item!.label, 'billing');
      assert.equal(item!.hint, `${other.accountId}-API:${created.token.split(':')[1]!.slice(0, 4)}…${created.token.slice(-4)}`);
      assert.equal(item!.createdAt, clock.now());
      assert.equal(item!.expiresAt, expiresAt);
      assert.equal(item!.lastUsedAt, null);
      assert.ok(!JSON.stringify(list).includes(created.token.split(':')[1]!));
    });

    it('rejects bad input: unknown account, past expiry, long label, unknown format', async () => {
      await assert.rejects(t.core.apiTokens.create({ accountId: 999_999 }, CTX), /no such account/);
      await assert.rejects(t.core.apiTokens.create({ accountId: user.accountId, expiresAt: clock.now() }, CTX), /future/);
      await assert.rejects(t.core.apiTokens.create({ accountId: user.accountId, label: 'x'.repeat(201) }, CTX), /200/);
      await assert.rejects(t.core.apiTokens.create({ accountId: user.accountId, format: 'v4' as 'v3' }, CTX), /one of/);
    });

    it('rotation with a grace period: both work during it, the old one fails after it', async () => {
      const old = await t.core.apiTokens.create({ accountId: user.accountId, format: 'l3', label: 'erp' }, CTX);
      assert.equal(await status(t, old.token), 200); // now in the verification cache
      const rotated = await t.core.apiTokens.rotate(old.apiToken.id, { graceMs: 24 * HOUR }, CTX);
      assert.ok(rotated.ok);
      const fresh = rotated.created;
      assert.notEqual(fresh.token, old.token);
      assert.equal(fresh.apiToken.format, 'l3');
      assert.equal(fresh.apiToken.label, 'erp');
      assert.equal(rotated.previous.replacedBy, fresh.apiToken.id);
      assert.equal(rotated.previous.expiresAt, clock.now() + 24 * HOUR);

      assert.equal(await status(t, old.token), 200);
      assert.equal(await status(t, fresh.token), 200);
      clock.advance(24 * HOUR - 1);
      assert.equal(await status(t, old.token), 200);
      clock.advance(1);
      assert.equal(await status(t, old.token), 401);
      assert.equal(await status(t, fresh.token), 200);
      // A replaced token cannot be rotated again (that would fork the chain).
      const again = await t.core.apiTokens.rotate(old.apiToken.id, { graceMs: 0 }, CTX);
      assert.deepEqual(again, { ok: false, code: 'not_active' });
    });

    it('rotation without grace: the old token is rejected at once on this node, even though it was cached', async () => {
      const old = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native' }, CTX);
      assert.equal(await status(t, old.token), 200);
      const rotated = await t.core.apiTokens.rotate(old.apiToken.id, {}, CTX);
      assert.ok(rotated.ok);
      assert.equal(await status(t, old.token), 401);
      assert.equal(await status(t, rotated.created.token), 200);
      assert.notEqual(rotated.previous.revokedAt, null);
    });

    it('rotation keeps the lifetime policy: a token that had one gets it again, counted from now', async () => {
      const old = await t.core.apiTokens.create({ accountId: user.accountId, expiresAt: clock.now() + 30 * 24 * HOUR }, CTX);
      clock.advance(10 * 24 * HOUR);
      const rotated = await t.core.apiTokens.rotate(old.apiToken.id, { graceMs: HOUR }, CTX);
      assert.ok(rotated.ok);
      assert.equal(rotated.created.apiToken.expiresAt, clock.now() + 30 * 24 * HOUR);
      // The grace never extends the old token beyond its own expiry.
      const short = await t.core.apiTokens.create({ accountId: user.accountId, expiresAt: clock.now() + HOUR }, CTX);
      const r2 = await t.core.apiTokens.rotate(short.apiToken.id, { graceMs: 24 * HOUR }, CTX);
      assert.ok(r2.ok);
      assert.equal(r2.previous.expiresAt, clock.now() + HOUR);
    });

    it('of concurrent rotations of one token exactly one wins', async () => {
      const old = await t.core.apiTokens.create({ accountId: user.accountId }, CTX);
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => t.core.apiTokens.rotate(old.apiToken.id, { graceMs: HOUR }, CTX)));
      assert.equal(outcomes.filter((o) => o.ok).length, 1);
      const list = await t.core.apiTokens.listByAccount(user.accountId);
      const successors = list.filter((x) => outcomes.some((o) => o.ok && o.created.apiToken.id === x.id));
      assert.equal(successors.length, 1);
    });

    it('revocation: rejected at once on this node, even though it was cached; revoking twice is false', async () => {
      const tok = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      assert.equal(await status(t, tok.token), 200);
      assert.equal(await t.core.apiTokens.revoke(tok.apiToken.id, CTX), true);
      assert.equal(await status(t, tok.token), 401);
      assert.equal(await t.core.apiTokens.revoke(tok.apiToken.id, CTX), false);
      assert.equal(await t.core.apiTokens.revoke('no-such-id', CTX), false);
      assert.deepEqual(await t.core.apiTokens.rotate(tok.apiToken.id, {}, CTX), { ok: false, code: 'not_active' });
      assert.deepEqual(await t.core.apiTokens.rotate('no-such-id', {}, CTX), { ok: false, code: 'not_found' });
    });

    it('the cabinet form (accountId given) cannot touch another account\'s token', async () => {
      const other = await seedAccount(t.core);
      const tok = await t.core.apiTokens.create({ accountId: other.accountId }, CTX);
      assert.equal(await t.core.apiTokens.revoke(tok.apiToken.id, CTX, { accountId: user.accountId }), false);
      assert.deepEqual(await t.core.apiTokens.rotate(tok.apiToken.id, { accountId: user.accountId }, CTX), { ok: false, code: 'not_found' });
      assert.equal(await status(t, tok.token), 200);
    });

    it('a check never writes: `last used` is noted in memory, written at most once a minute per token', async () => {
      const tok = await t.core.apiTokens.create({ accountId: user.accountId }, CTX);
      const lastUsed = async () => (await t.core.apiTokens.get(tok.apiToken.id))!.lastUsedAt;
      for (let i = 0; i < 5; i++) assert.equal(await status(t, tok.token), 200);
      assert.equal(await lastUsed(), null, 'nothing written on the request path');
      await t.core.apiTokens.flushLastUsed();
      const first = clock.now();
      assert.equal(await lastUsed(), first);
      clock.advance(59_000);
      assert.equal(await status(t, tok.token), 200);
      await t.core.apiTokens.flushLastUsed();
      assert.equal(await lastUsed(), first, 'within the minute: not written again');
      clock.advance(1_000);
      assert.equal(await status(t, tok.token), 200);
      await t.core.apiTokens.flushLastUsed();
      assert.equal(await lastUsed(), first + 60_000);
    });

    it('the demo seed is idempotent and keeps a revoked demo token revoked', async () => {
      const first = await seedDemo(t.core);
      const second = await seedDemo(t.core);
      assert.equal(second.created, false);
      assert.ok(first.lines.some((l) => l.includes(DEMO.v3Token)) && first.lines.some((l) => l.includes(DEMO.l3Token)));
      const demoTokens = await t.core.apiTokens.listByAccount(DEMO.accountId);
      assert.equal(demoTokens.length, 2);
      assert.deepEqual(demoTokens.map((x) => x.format).sort(), ['l3', 'v3']);
      const v3 = demoTokens.find((x) => x.format === 'v3')!;
      await t.core.apiTokens.revoke(v3.id, CTX);
      await seedDemo(t.core);
      assert.equal(await status(t, DEMO.v3Token), 401);
      assert.equal(await status(t, DEMO.l3Token), 200);
    });
  });

  describe(`API token revocation across nodes (${db})`, () => {
    const clock = new ManualClock();
    let shared: TestDatabase;
    let a: TestTokend;
    let b: TestTokend;

    before(async () => {
      shared = await createTestDatabase(db);
      a = await startTokend({ db: shared, clock });
      b = await startTokend({ db: shared, clock });
    });
    after(async () => {
      await b.close();
      await a.close();
      await shared.drop();
    });

    it('a token revoked or rotated on node A is rejected by node B within TOKEND_VERIFY_CACHE_TTL', async () => {
      const bound = b.config.verifyCacheTtl;
      assert.equal(bound, 5000, 'the documented default');
      const user = await seedAccount(a.core);
      const revoked = await a.core.apiTokens.create({ accountId: user.accountId }, CTX);
      const rotated = await a.core.apiTokens.create({ accountId: user.accountId, format: 'native' }, CTX);
      // Node B has both in its cache.
      assert.equal(await status(b, revoked.token), 200);
      assert.equal(await status(b, rotated.token), 200);
      await a.core.apiTokens.revoke(revoked.apiToken.id, CTX);
      const r = await a.core.apiTokens.rotate(rotated.apiToken.id, {}, CTX);
      assert.ok(r.ok);
      assert.equal(await status(a, revoked.token), 401);
      assert.equal(await status(a, rotated.token), 401);
      // B may still answer from memory inside the bound (unless the store bridged the change), never past it.
      clock.advance(bound);
      assert.equal(await status(b, revoked.token), 401);
      assert.equal(await status(b, rotated.token), 401);
      assert.equal(await status(b, r.created.token), 200);
    });
  });
}

describe('API tokens with the verification cache off', () => {
  it('a revocation elsewhere is seen on the very next check (bound 0)', async () => {
    const shared = await createTestDatabase('sqlite');
    const a = await startTokend({ db: shared, config: { verifyCacheTtl: 0 } });
    const b = await startTokend({ db: shared, config: { verifyCacheTtl: 0 } });
    try {
      const user = await seedAccount(a.core);
      const tok = await a.core.apiTokens.create({ accountId: user.accountId }, CTX);
      assert.equal(await status(b, tok.token), 200);
      await a.core.apiTokens.revoke(tok.apiToken.id, CTX);
      assert.equal(await status(b, tok.token), 401);
    } finally {
      await b.close();
      await a.close();
      await shared.drop();
    }
  });
});

describe('API tokens at rest (sqlite)', () => {
  it('no API token (any format), resource-server credential or admin token in the database file or WAL', async () => {
    const clock = new ManualClock();
    const t = await startTokend({ db: 'sqlite', clock });
    const secrets: string[] = [DEMO.v3Token, DEMO.l3Token];
    try {
      await seedDemo(t.core);
      const user = await seedAccount(t.core);
      for (const format of ['v3', 'l3', 'native'] as const) {
        const c = await t.core.apiTokens.create({ accountId: user.accountId, format }, CTX);
        secrets.push(c.token);
        assert.equal(await status(t, c.token), 200);
        const r = await t.core.apiTokens.rotate(c.apiToken.id, { graceMs: HOUR }, CTX);
        assert.ok(r.ok);
        secrets.push(r.created.token);
        assert.equal(await status(t, r.created.token), 200);
      }
      for (const token of [DEMO.v3Token, DEMO.l3Token]) assert.equal(await status(t, token), 200);
      secrets.push((await t.core.callers.createResourceServer('rs', CTX)).token);
      const admin = await t.core.callers.ensureAdminToken(CTX);
      assert.ok(admin.generated);
      secrets.push(admin.generated);
      await t.core.apiTokens.flushLastUsed();
      const files = ['tokend.db', 'tokend.db-wal'].map((f) => join(t.db.dataDir, f)).filter((f) => existsSync(f));
      assert.ok(files.length >= 1);
      const bytes = files.map((f) => readFileSync(f).toString('latin1')).join('\n');
      for (const s of secrets) {
        // The whole token, and its secret part alone (the 32 hex of v3/l3, the body of native ones).
        for (const part of [s, s.includes(':') ? s.split(':')[1]! : s.slice(4, -6)]) assert.ok(!bytes.includes(part), 'a token was found at rest');
      }
      // What is there is the SHA-256.
      assert.ok(bytes.includes(sha256Hex(DEMO.v3Token)));
      const logs = t.logs.join('\n');
      for (const s of secrets) assert.ok(!logs.includes(s), 'a token was found in the logs');
    } finally {
      await t.close();
    }
  });
});
