/**
 * Operator keys (docs/admin-api.md), on SQLite and PostgreSQL: created by the admin token only and
 * shown once; each admin route takes a key only with the permission the route declares (403
 * `permission_denied` otherwise, and nothing changes); expiry; revocation at once; `last used`
 * noted in memory and written in batches; every admin route declares a permission.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.ts';
import { PERMISSIONS, type RouteAccess } from '../src/http/native/admin/access.ts';
import { newToken, parseNativeToken } from '../src/secrets/tokens.ts';
import { adminCaller, createOperatorKey } from './helpers/admin.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = testAdminToken();
const CTX = { address: 'test' };

/** A value each kind of route parameter accepts, so a call gets past validation when it gets that far. */
function fill(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, (_m, name: string) => (name === 'id' && url.includes('operator-keys') ? '00000000-0000-4000-8000-000000000000' : name === 'appId' ? 'app_1_x' : '1'));
}

for (const db of databases()) {
  describe(`operator keys (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let admin: ReturnType<typeof adminCaller>;

    before(async () => {
      t = await startTokend({ db, clock, config: { adminToken: ADMIN_TOKEN, credentialMaxFailures: 1000 } });
      admin = adminCaller(t, ADMIN_TOKEN);
    });
    after(async () => t.close());

    it('every admin route declares the permission it needs (but the sign-in, which takes the admin token in its body)', () => {
      const admins = t.routes.filter((r) => r.url.startsWith('/api/admin') && !(r.url === '/api/admin/session' && r.method === 'POST'));
      assert.ok(admins.length >= 15, `only ${admins.length} admin routes`);
      for (const r of admins) {
        const access = (r.config as { permission?: RouteAccess } | undefined)?.permission;
        assert.ok(access !== undefined, `${String(r.method)} ${r.url} declares no permission`);
        assert.ok(access === 'admin' || access === 'any' || (PERMISSIONS as readonly string[]).includes(access), `${r.url}: ${access}`);
      }
    });

    it('registering an admin route without a permission fails the start', async () => {
      const { checkAdminRoute } = await import('../src/http/native/admin/auth.ts');
      assert.throws(() => checkAdminRoute({ method: 'GET', url: '/api/admin/forgotten', handler: () => {} } as never), /declares no permission/);
    });

    it('is created by the admin token, shown once, listed without the key, a tdp_ token with a checksum', async () => {
      const res = await admin('POST', '/api/admin/operator-keys', { name: ' billing ', permissions: ['accounts:write', 'accounts:read', 'accounts:read'], expiresIn: '90d' });
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json();
      assert.equal(parseNativeToken(created.key), 'operatorKey');
      assert.equal(created.name, 'billing');
      assert.deepEqual(created.permissions, ['accounts:read', 'accounts:write']);
      assert.equal(created.expiresAt, clock.now() + 90 * 86_400_000);
      const list = await admin('GET', '/api/admin/operator-keys');
      assert.equal(list.statusCode, 200);
      assert.ok(!list.body.includes(created.key), 'the list shows the key');
      const listed = list.json().items.find((k: { id: string }) => k.id === created.id);
      assert.equal(listed.status, 'active');
      assert.equal(listed.hint, `${created.key.slice(0, 7)}…${created.key.slice(-4)}`);
      assert.equal(listed.lastUsedAt, null);
    });

    it('bad input: unknown permission, none, unknown field, bad duration, name too long: 400, nothing created', async () => {
      const before = (await admin('GET', '/api/admin/operator-keys')).json().items.length;
      for (const body of [
        { name: 'x', permissions: ['accounts:admin'] },
        { name: 'x', permissions: [] },
        { name: 'x', permissions: ['accounts:read'], extra: true },
        { name: 'x', permissions: ['accounts:read'], expiresIn: '90 days' },
        { name: 'x', permissions: ['accounts:read'], expiresIn: '0d' },
        { name: 'x'.repeat(201), permissions: ['accounts:read'] },
        { name: '   ', permissions: ['accounts:read'] },
        { permissions: ['accounts:read'] },
      ]) {
        const res = await admin('POST', '/api/admin/operator-keys', body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
        assert.equal(res.json().error.code, 'validation_failed');
      }
      const unknown = await admin('POST', '/api/admin/operator-keys', { name: 'x', permissions: ['accounts:read'], extra: true });
      assert.deepEqual(unknown.json().error.fields.map((f: { name: string }) => f.name), ['extra'], unknown.body);
      assert.equal((await admin('GET', '/api/admin/operator-keys')).json().items.length, before);
    });

    it('a key may do what its permissions allow, write includes read, and nothing else: 403 permission_denied, nothing changed', async () => {
      const reader = await createOperatorKey(t, ADMIN_TOKEN, ['accounts:read']);
      const asReader = adminCaller(t, reader.key);
      assert.equal((await asReader('GET', '/api/admin/accounts')).statusCode, 200);
      const count = async (): Promise<number> => (await admin('GET', '/api/admin/accounts?limit=500')).json().items.length;
      const accountsBefore = await count();
      const refused = await asReader('POST', '/api/admin/accounts', { email: `nope-${Date.now()}@example.com`, password: 'correct horse battery' });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(refused.json().error.code, 'permission_denied');
      assert.equal(await count(), accountsBefore, 'an account was created anyway');

      const writer = await createOperatorKey(t, ADMIN_TOKEN, ['accounts:write']);
      const asWriter = adminCaller(t, writer.key);
      assert.equal((await asWriter('GET', '/api/admin/accounts')).statusCode, 200, 'write includes read');
      const made = await asWriter('POST', '/api/admin/accounts', { email: `made-${Date.now()}@example.com`, password: 'correct horse battery' });
      assert.equal(made.statusCode, 201, made.body);

      // A key without `policies:write` cannot change an API token's rules (the `tokens`/`policies` areas).
      const u = await seedAccount(t.core);
      const { apiToken: created } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'native', label: 'x' }, CTX);
      const url = `/api/admin/api-tokens/${created.id}/policy`;
      const put = await asWriter('PUT', url, { rateLimits: [{ limit: 1, windowSeconds: 60 }] });
      assert.equal(put.statusCode, 403, put.body);
      assert.equal(put.json().error.code, 'permission_denied');
      const read = await admin('GET', url);
      assert.equal(read.statusCode, 200, read.body);
      assert.deepEqual(read.json().rules.rateLimits, [], 'the rules changed anyway');
      assert.equal(read.json().updatedAt, null);
      // And the settings of the instance need `settings:read`.
      assert.equal((await asWriter('GET', '/api/admin/settings')).statusCode, 403);
    });

    it('a key with no permission a route names gets 403 on every admin route, before anything runs', async () => {
      const key = await createOperatorKey(t, ADMIN_TOKEN, ['webhooks:read']);
      const asKey = adminCaller(t, key.key);
      for (const r of t.routes) {
        if (!r.url.startsWith('/api/admin') || r.url === '/api/admin/session' && r.method === 'POST') continue;
        const access = (r.config as { permission?: RouteAccess }).permission!;
        if (access === 'any' || access.startsWith('webhooks:')) continue;
        for (const method of [r.method].flat()) {
          if (method === 'HEAD') continue;
          const res = await asKey(method as 'GET', fill(r.url), method === 'GET' || method === 'DELETE' ? undefined : {});
          assert.equal(res.statusCode, 403, `${method} ${r.url}: ${res.body}`);
          assert.equal(res.json().error.code, 'permission_denied');
        }
      }
    });

    it('managing operator keys takes the admin token: a key can never list, mint or revoke keys, its own included', async () => {
      const key = await createOperatorKey(t, ADMIN_TOKEN, [...PERMISSIONS]);
      const asKey = adminCaller(t, key.key);
      assert.equal((await asKey('GET', '/api/admin/operator-keys')).statusCode, 403);
      assert.equal((await asKey('POST', '/api/admin/operator-keys', { name: 'child', permissions: ['accounts:read'] })).statusCode, 403);
      assert.equal((await asKey('POST', `/api/admin/operator-keys/${key.id}/revoke`, {})).statusCode, 403);
      assert.equal((await asKey('GET', '/api/admin/accounts')).statusCode, 200, 'the key still works');
      const me = await asKey('GET', '/api/admin/me');
      assert.equal(me.statusCode, 200, me.body);
      assert.deepEqual(me.json().credential, { kind: 'operator_key', id: key.id, name: 'test key', permissions: [...PERMISSIONS].sort() });
    });

    it('a wrong, malformed or other kind of credential is 401', async () => {
      for (const credential of [newToken('operatorKey').token, `${newToken('operatorKey').token.slice(0, -1)}x`, newToken('resourceServer').token, 'tdp_short']) {
        const res = await adminCaller(t, credential)('GET', '/api/admin/accounts');
        assert.equal(res.statusCode, 401, credential);
        assert.equal(res.json().error.code, 'unauthenticated');
      }
    });

    it('expires on the millisecond', async () => {
      const key = await createOperatorKey(t, ADMIN_TOKEN, ['accounts:read'], { expiresIn: '1h' });
      const asKey = adminCaller(t, key.key);
      clock.advance(3_600_000 - 1);
      assert.equal((await asKey('GET', '/api/admin/accounts')).statusCode, 200);
      clock.advance(1);
      assert.equal((await asKey('GET', '/api/admin/accounts')).statusCode, 401);
      const listed = (await admin('GET', '/api/admin/operator-keys')).json().items.find((k: { id: string }) => k.id === key.id);
      assert.equal(listed.status, 'expired');
    });

    it('revocation takes effect at once (the cached key is dropped); unknown 404, malformed 400', async () => {
      const key = await createOperatorKey(t, ADMIN_TOKEN, ['accounts:read']);
      const asKey = adminCaller(t, key.key);
      assert.equal((await asKey('GET', '/api/admin/accounts')).statusCode, 200);
      const revoked = await admin('POST', `/api/admin/operator-keys/${key.id}/revoke`, {});
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.equal(revoked.json().status, 'revoked');
      assert.equal((await asKey('GET', '/api/admin/accounts')).statusCode, 401);
      const again = await admin('POST', `/api/admin/operator-keys/${key.id}/revoke`, {});
      assert.equal(again.statusCode, 200, 'revoking twice is harmless');
      assert.equal((await admin('POST', '/api/admin/operator-keys/00000000-0000-4000-8000-000000000000/revoke', {})).statusCode, 404);
      assert.equal((await admin('POST', '/api/admin/operator-keys/not-an-id/revoke', {})).statusCode, 400);
      assert.equal((await admin('POST', `/api/admin/operator-keys/${key.id}/revoke`, { extra: 1 })).statusCode, 400);
    });

    it('last used: noted in memory (no write per request), written in a batch, to the minute', async () => {
      const key = await createOperatorKey(t, ADMIN_TOKEN, ['accounts:read']);
      const asKey = adminCaller(t, key.key);
      const usedAt = clock.now();
      for (let i = 0; i < 5; i++) assert.equal((await asKey('GET', '/api/admin/accounts')).statusCode, 200);
      const row = async (): Promise<{ lastUsedAt: number | null }> => (await t.core.operatorKeys.get(key.id))!;
      assert.equal((await row()).lastUsedAt, null, 'a request wrote last_used_at');
      await t.core.operatorKeys.flushLastUsed();
      assert.equal((await row()).lastUsedAt, usedAt);
      clock.advance(30_000);
      await asKey('GET', '/api/admin/accounts');
      await t.core.operatorKeys.flushLastUsed();
      assert.equal((await row()).lastUsedAt, usedAt, 'noted again within the minute');
      clock.advance(31_000);
      await asKey('GET', '/api/admin/accounts');
      await t.core.operatorKeys.flushLastUsed();
      assert.equal((await row()).lastUsedAt, usedAt + 61_000);
    });

    it('the key is stored only as a hash', async () => {
      const key = await createOperatorKey(t, ADMIN_TOKEN, ['audit:read']);
      const stored = await t.core.store.operatorKeys.findById(key.id);
      assert.ok(stored);
      assert.ok(!JSON.stringify(stored).includes(key.key));
    });
  });
}
