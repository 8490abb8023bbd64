/**
 * The rules of the hoster.by scheme, on SQLite and PostgreSQL: a refresh token
 * never outlives its key; revoking a key or disabling a service account stops creation and refresh
 * and is published on the change bus; rotation and reuse detection are SessionService's; signing
 * keys rotate with publish-before-sign and retire only after their last token expired; the
 * signing keys' private parts need the master key.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import type { Change } from '../src/core/changes.ts';
import { ManualClock } from '../src/core/clock.ts';
import { InvalidInputError } from '../src/core/errors.ts';
import { SigningKeyUnavailableError } from '../src/signing/key-ring.ts';
import { createTestDatabase, databases, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';
import { assertHosterError, assertHosterOk, CTX, hosterCalls, seedServiceKey } from './helpers/hoster.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const s = (ms: number): number => Math.floor(ms / 1000);

for (const db of databases()) {
  describe(`hoster.by rules (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let h: ReturnType<typeof hosterCalls>;
    const changes: Change[] = [];

    before(async () => {
      t = await startTokend({ db, clock });
      h = hosterCalls(t);
      t.core.changes.subscribe((c) => changes.push(c));
    });
    after(async () => t.close());

    it('the key expiry bounds the refresh token, the session and its access tokens', async () => {
      const keyExpiresAt = clock.now() + 2 * HOUR;
      const k = await seedServiceKey(t.core, { expiresAt: keyExpiresAt });
      const first = assertHosterOk(await h.create(k), 'create_token_success');
      assert.equal(first.dateExpires, s(clock.now() + t.config.serviceAccessTtl));
      assert.equal(assertHosterOk(await h.infoRefresh(k.accountId, first.refreshToken), 'refresh_token_info_success').dateExpires, s(keyExpiresAt));
      clock.advance(90 * MIN);
      const second = assertHosterOk(await h.refresh(k.accountId, first.refreshToken), 'refresh_token_success');
      // 30 minutes of key left: the access token ends with the key, not an hour from now.
      assert.equal(second.dateExpires, s(keyExpiresAt));
      assert.equal(assertHosterOk(await h.infoRefresh(k.accountId, second.refreshToken), 'refresh_token_info_success').dateExpires, s(keyExpiresAt));
      clock.advance(30 * MIN);
      assertHosterError(await h.refresh(k.accountId, second.refreshToken), 401, 'refresh_token_expired');
      assertHosterError(await h.infoRefresh(k.accountId, second.refreshToken), 401, 'refresh_token_expired');
      assertHosterError(await h.infoAccess(second.accessToken, k.accountId), 401, 'access_token_expired');
      assertHosterError(await h.create(k), 401, 'keys_expired');
    });

    it('revoking a key stops refresh at once, revokes its sessions and publishes the change; other keys go on', async () => {
      const k = await seedServiceKey(t.core);
      const sibling = await t.core.serviceAccounts.createKey({ serviceAccountId: k.serviceAccountId }, CTX);
      const a = assertHosterOk(await h.create(k), 'create_token_success');
      const b = assertHosterOk(await h.create(k), 'create_token_success');
      const c = assertHosterOk(await h.create({ accessKey: sibling.key.accessKey, secretKey: sibling.secretKey }), 'create_token_success');
      changes.length = 0;
      assert.equal(await t.core.serviceAccounts.revokeKey(k.keyId, CTX), true);
      assert.equal(await t.core.serviceAccounts.revokeKey(k.keyId, CTX), false);
      assert.ok(changes.some((ch) => ch.kind === 'service_key' && ch.ids.includes(String(k.keyId))));
      assert.equal(new Set(changes.filter((ch) => ch.kind === 'session').flatMap((ch) => ch.ids)).size, 2);
      for (const pair of [a, b]) {
        assertHosterError(await h.refresh(k.accountId, pair.refreshToken), 401, 'refresh_token_not_found');
        assertHosterError(await h.infoAccess(pair.accessToken, k.accountId), 401, 'access_token_not_found');
        assertHosterError(await h.infoRefresh(k.accountId, pair.refreshToken), 401, 'refresh_token_not_found');
      }
      assertHosterError(await h.create(k), 401, 'keys_revoked');
      assertHosterOk(await h.refresh(k.accountId, c.refreshToken), 'refresh_token_success');
      const keys = await t.core.serviceAccounts.listKeys(k.serviceAccountId);
      assert.equal(keys.find((x) => x.id === k.keyId)?.revokedAt !== null, true);
      for (const secret of [k.secretKey, sibling.secretKey]) assert.ok(!JSON.stringify(keys).includes(secret.slice(7, -4)), 'lists show hints only');
      assert.equal(keys.find((x) => x.id === k.keyId)?.secretHint, `${k.secretKey.slice(0, 7)}…${k.secretKey.slice(-4)}`);
    });

    it('disabling a service account revokes the sessions of all its keys; enabling does not revive them', async () => {
      const k = await seedServiceKey(t.core);
      const second = await t.core.serviceAccounts.createKey({ serviceAccountId: k.serviceAccountId }, CTX);
      const a = assertHosterOk(await h.create(k), 'create_token_success');
      const b = assertHosterOk(await h.create({ accessKey: second.key.accessKey, secretKey: second.secretKey }), 'create_token_success');
      changes.length = 0;
      assert.equal(await t.core.serviceAccounts.disable(k.serviceAccountId, CTX), true);
      assert.ok(changes.some((ch) => ch.kind === 'service_account' && ch.ids.includes(String(k.serviceAccountId))));
      assert.equal(changes.filter((ch) => ch.kind === 'session').flatMap((ch) => ch.ids).length, 2);
      for (const pair of [a, b]) {
        assertHosterError(await h.refresh(k.accountId, pair.refreshToken), 401, 'refresh_token_not_found');
        assertHosterError(await h.infoAccess(pair.accessToken), 401, 'access_token_not_found');
      }
      assertHosterError(await h.create(k), 403, 'service_account_disabled');
      assert.equal(await t.core.serviceAccounts.enable(k.serviceAccountId, CTX), true);
      assertHosterError(await h.refresh(k.accountId, a.refreshToken), 401, 'refresh_token_not_found');
      assertHosterOk(await h.create(k), 'create_token_success');
    });

    it('a refresh checks the key inside its transaction, even if its sessions were left standing', async () => {
      const k = await seedServiceKey(t.core);
      const pair = assertHosterOk(await h.create(k), 'create_token_success');
      // Revoke the key row only (as a partial failure or a manual edit would): canRefresh still says no.
      await t.core.store.serviceKeys.revoke(k.keyId, clock.now());
      assertHosterError(await h.refresh(k.accountId, pair.refreshToken), 401, 'refresh_token_not_found');
    });

    it('reuse detection is the shared mechanism: a replay after the grace period revokes the session', async () => {
      const k = await seedServiceKey(t.core);
      const r1 = assertHosterOk(await h.create(k), 'create_token_success');
      const r2 = assertHosterOk(await h.refresh(k.accountId, r1.refreshToken), 'refresh_token_success');
      // Inside the grace period a replay is only rejected.
      assertHosterError(await h.refresh(k.accountId, r1.refreshToken), 401, 'refresh_token_not_found');
      const r3 = assertHosterOk(await h.refresh(k.accountId, r2.refreshToken), 'refresh_token_success');
      clock.advance(t.config.refreshReuseGrace + 1000);
      assertHosterError(await h.refresh(k.accountId, r2.refreshToken), 401, 'refresh_token_not_found');
      assertHosterError(await h.refresh(k.accountId, r3.refreshToken), 401, 'refresh_token_not_found');
      assertHosterError(await h.infoAccess(r3.accessToken), 401, 'access_token_not_found');
      const events = await t.core.store.audit.list({ type: 'session.reuse_detected', limit: 10 });
      assert.ok(events.some((e) => e.accountId === k.accountId));
    });

    it('service accounts and keys validate their input', async () => {
      const k = await seedServiceKey(t.core);
      const field = (name: string) => (e: unknown) => e instanceof InvalidInputError && e.field === name;
      await assert.rejects(t.core.serviceAccounts.create({ accountId: k.accountId, name: ' ', actions: ['a'] }, CTX), field('name'));
      await assert.rejects(t.core.serviceAccounts.create({ accountId: k.accountId, name: 'x', actions: [] }, CTX), field('actions'));
      await assert.rejects(t.core.serviceAccounts.create({ accountId: k.accountId, name: 'x', actions: ['has space'] }, CTX), field('actions'));
      await assert.rejects(t.core.serviceAccounts.create({ accountId: 987654, name: 'x', actions: ['a'] }, CTX), field('account'));
      await assert.rejects(t.core.serviceAccounts.createKey({ serviceAccountId: 987654 }, CTX), field('serviceAccount'));
      await assert.rejects(t.core.serviceAccounts.createKey({ serviceAccountId: k.serviceAccountId, expiresAt: clock.now() - 1 }, CTX), field('expiresAt'));
      await assert.rejects(t.core.serviceAccounts.revokeKey(987654, CTX), field('key'));
      await assert.rejects(t.core.serviceAccounts.disable(987654, CTX), field('serviceAccount'));
      const dedup = await t.core.serviceAccounts.create({ accountId: k.accountId, name: 'dedup', actions: ['a', ' b ', 'a'] }, CTX);
      assert.deepEqual(dedup.actions, ['a', 'b']);
      const listed = await t.core.serviceAccounts.listByAccount(k.accountId);
      assert.deepEqual(
        listed.map((x) => x.id),
        [k.serviceAccountId, dedup.id],
      );
    });
  });

  describe(`signing-key rotation (${db})`, () => {
    const clock = new ManualClock();
    let database: TestDatabase;
    let node1: TestTokend;
    let node2: TestTokend;
    const config = { signingKeyPublishDelay: 10 * MIN, serviceAccessTtl: HOUR };

    before(async () => {
      database = await createTestDatabase(db);
      node1 = await startTokend({ db: database, clock, config });
      // A second node on the same database and data dir (so the same master key), ES256 for new keys.
      node2 = await startTokend({ db: database, clock, config: { ...config, jwtAlgorithm: 'ES256' } });
    });
    after(async () => {
      await node2.close();
      await node1.close();
      await database.drop();
    });

    const kidOf = (token: string): string => String(decodeProtectedHeader(token).kid);
    async function jwksKids(t: TestTokend): Promise<string[]> {
      const r = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      return (r.json() as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();
    }

    it('publishes the new key before it signs, keeps old tokens valid until they expire, then retires the old key', async () => {
      const t0 = clock.now();
      const h1 = hosterCalls(node1);
      const h2 = hosterCalls(node2);
      const k = await seedServiceKey(node1.core);
      const early = assertHosterOk(await h1.create(k), 'create_token_success');
      const a = kidOf(early.accessToken);
      assert.equal(decodeProtectedHeader(early.accessToken).alg, 'EdDSA');

      const rotation = await node2.core.signing.rotate(CTX);
      const b = rotation.key.kid;
      assert.notEqual(b, a);
      assert.equal(rotation.key.state, 'pending');
      assert.equal(rotation.key.alg, 'ES256');
      assert.equal(rotation.key.activatesAt, t0 + 10 * MIN);
      assert.equal(rotation.previous?.kid, a);
      assert.equal(rotation.previous?.publishedUntil, t0 + 10 * MIN + HOUR);
      // Published at once, on both nodes (node1 hears of it through the store: an unknown kid reloads, or the next refresh).
      assert.deepEqual(await jwksKids(node2), [a, b].sort());

      // Before activation every node still signs with the old key.
      clock.advance(10 * MIN - 1000);
      const last = assertHosterOk(await h1.create(k), 'create_token_success');
      assert.equal(kidOf(last.accessToken), a);
      assert.deepEqual(await jwksKids(node1), [a, b].sort());

      // From activation, new tokens carry the new kid, on both nodes; old tokens stay valid.
      clock.advance(2000);
      const fresh1 = assertHosterOk(await h1.create(k), 'create_token_success');
      const fresh2 = assertHosterOk(await h2.create(k), 'create_token_success');
      assert.equal(kidOf(fresh1.accessToken), b);
      assert.equal(kidOf(fresh2.accessToken), b);
      assert.equal(decodeProtectedHeader(fresh1.accessToken).alg, 'ES256');
      for (const node of [h1, h2]) {
        for (const token of [early.accessToken, last.accessToken, fresh1.accessToken, fresh2.accessToken]) {
          assertHosterOk(await node.infoAccess(token, k.accountId), 'access_token_info_success');
        }
      }
      // A refresh of an old pair gets a new-key token.
      const refreshed = assertHosterOk(await h1.refresh(k.accountId, early.refreshToken), 'refresh_token_success');
      assert.equal(kidOf(refreshed.accessToken), b);

      // The last token the old key signed lives until t0 + 10m - 1s + 1h: the old key stays published that long.
      clock.set(t0 + 10 * MIN + HOUR - 2000);
      assertHosterOk(await h2.infoAccess(last.accessToken, k.accountId), 'access_token_info_success');
      assert.deepEqual(await jwksKids(node1), [a, b].sort());
      clock.set(t0 + 10 * MIN + HOUR - 500);
      assertHosterError(await h2.infoAccess(last.accessToken, k.accountId), 401, 'access_token_expired');
      assert.deepEqual(await jwksKids(node1), [a, b].sort());
      // Once no live token can carry it, the old key leaves the JWKS and verifies nothing more.
      clock.set(t0 + 10 * MIN + HOUR + 1000);
      assert.deepEqual(await jwksKids(node1), [b]);
      assertHosterError(await h2.infoAccess(last.accessToken, k.accountId), 401, 'access_token_not_found');
      const states = await node1.core.signing.list();
      assert.equal(states.find((x) => x.kid === a)?.state, 'retired');
      assert.equal(states.find((x) => x.kid === b)?.state, 'active');

      // The next rotation deletes the retired key.
      const next = await node1.core.signing.rotate(CTX);
      assert.deepEqual(next.deleted, [a]);
      assert.equal(next.key.alg, 'EdDSA');
      assert.deepEqual((await node1.core.signing.list()).map((x) => x.kid).sort(), [b, next.key.kid].sort());
    });

    it('a node with another master key cannot open the keys: it refuses to start signing and to rotate', async () => {
      const stranger = await startTokend({ db: database, clock, config: { ...config, masterKey: 'x'.repeat(40) } });
      try {
        await assert.rejects(stranger.core.signing.ready(), SigningKeyUnavailableError);
        await assert.rejects(stranger.core.signing.rotate(CTX), SigningKeyUnavailableError);
      } finally {
        await stranger.close();
      }
    });
  });
}
