/**
 * The hoster.by-scheme client against a real tokend over HTTP: create once from the keys, send
 * `Access-Token` + `X-User-Id`, refresh when `dateExpires` has passed or the API answers
 * `access_token_expired`, one shared refresh for concurrent requests, one new token when the
 * refresh token is rejected, restarts reuse the stored pair.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileTokenStore } from '../client/src/file-store.ts';
import { HosterClient, InvalidCredentialsError, type HosterTokens } from '../client/src/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import { countingFetch } from './helpers/counting-fetch.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const CREATE = 'POST /service/account/create/token';
const REFRESH = 'PATCH /token/refresh';
const INFO = 'GET /token/info/access';
const CTX = { address: 'test' };

for (const db of databases()) {
  describe(`hoster.by client (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let dir: string;
    before(async () => {
      t = await startTokend({ db, clock, listen: true });
      dir = mkdtempSync(join(tmpdir(), 'tokend-hoster-client-'));
    });
    after(async () => {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function keys(actions = ['dns_orders_list']): Promise<{ accessKey: string; secretKey: string; userId: number }> {
      const u = await seedAccount(t.core);
      const sa = await t.core.serviceAccounts.create({ accountId: u.accountId, name: 'client test', actions }, CTX);
      const key = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      return { accessKey: key.key.accessKey, secretKey: key.secretKey, userId: u.accountId };
    }

    it('creates once, then 100 concurrent requests past dateExpires share exactly one refresh', async () => {
      const k = await keys(['dns_orders_list', 'billing_read']);
      const c = countingFetch();
      const client = new HosterClient({ baseUrl: t.url, ...k, fetch: c.fetch, now: () => clock.now() });
      const info = await client.info();
      assert.equal(info.userId, k.userId);
      assert.deepEqual(info.actions, ['dns_orders_list', 'billing_read']);
      const first = await client.tokens();
      clock.set(first.dateExpires * 1000 + 1000);
      const results = await Promise.all(Array.from({ length: 100 }, () => client.info()));
      for (const r of results) assert.equal(r.userId, k.userId);
      assert.equal(c.count(CREATE), 1);
      assert.equal(c.count(REFRESH), 1, 'one shared refresh, before any request was refused');
      assert.equal(c.count(INFO), 101);
    });

    it('refreshes once when the API says access_token_expired, even if the client clock disagrees', async () => {
      const k = await keys();
      const c = countingFetch();
      // A client whose clock lags: it cannot know the token expired; the API tells it.
      const client = new HosterClient({ baseUrl: t.url, ...k, fetch: c.fetch, now: () => 0 });
      await client.info();
      clock.advance(t.config.serviceAccessTtl + 1000);
      c.reset();
      assert.equal((await client.info()).userId, k.userId);
      assert.deepEqual(c.calls, [INFO, REFRESH, INFO]);
    });

    it('a client restarted with a file store reuses its stored tokens: zero create calls', async () => {
      const k = await keys();
      const path = join(dir, `hoster-${k.userId}.json`);
      await new HosterClient({ baseUrl: t.url, ...k, store: new FileTokenStore<HosterTokens>(path), now: () => clock.now() }).info();
      const c = countingFetch();
      const restarted = new HosterClient({ baseUrl: t.url, ...k, fetch: c.fetch, store: new FileTokenStore<HosterTokens>(path), now: () => clock.now() });
      await restarted.info();
      assert.deepEqual(c.calls, [INFO]);
    });

    it('revoked session: the refresh is rejected, exactly one new token from the keys, then success', async () => {
      const k = await keys();
      const c = countingFetch();
      const client = new HosterClient({ baseUrl: t.url, ...k, fetch: c.fetch, now: () => clock.now() });
      await client.info();
      const checked = await t.core.serviceAccounts.verifyAccessJwt((await client.tokens()).accessToken);
      assert.ok(checked.ok);
      assert.ok(await t.core.sessions.revoke(checked.session.id, CTX, 'test'));
      c.reset();
      assert.equal((await client.info()).userId, k.userId);
      assert.deepEqual(c.calls, [INFO, REFRESH, CREATE, INFO]);
    });

    it('revoked keys: a typed error and no loop', async () => {
      const k = await keys();
      const key = await t.core.serviceAccounts.findKeyByAccessKey(k.accessKey);
      assert.ok(key);
      assert.ok(await t.core.serviceAccounts.revokeKey(key.id, CTX));
      const c = countingFetch();
      const client = new HosterClient({ baseUrl: t.url, ...k, fetch: c.fetch, now: () => clock.now() });
      const error = await client.info().catch((e: unknown) => e);
      assert.ok(error instanceof InvalidCredentialsError);
      assert.equal(error.code, 'keys_revoked');
      assert.deepEqual(c.calls, [CREATE]);
    });
  });
}
