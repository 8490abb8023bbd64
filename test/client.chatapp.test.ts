/**
 * The ChatApp-scheme client against a real tokend over HTTP (the client rules of ChatApp's documentation): make once,
 * store, refresh only on ApiInvalidTokenError and retry once, one shared refresh for concurrent
 * requests, one make when the refresh token is rejected, a typed error when the quota is spent.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileTokenStore } from '../client/src/file-store.ts';
import { ChatAppClient, QuotaExceededError, TokendError, type ChatAppTokens } from '../client/src/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import { countingFetch } from './helpers/counting-fetch.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const HOUR = 3_600_000;
const MAKE = 'POST /v1/tokens';
const REFRESH = 'POST /v1/tokens/refresh';
const CHECK = 'GET /v1/tokens/check';
const DAILY_LIMIT = 3;

for (const db of databases()) {
  describe(`ChatApp client (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let dir: string;
    before(async () => {
      t = await startTokend({ db, clock, listen: true, config: { chatappDailyMakeLimit: DAILY_LIMIT } });
      dir = mkdtempSync(join(tmpdir(), 'tokend-client-'));
    });
    after(async () => {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function revokeSessionOf(accessToken: string): Promise<void> {
      const found = await t.core.sessions.lookupAccess(accessToken);
      assert.ok(found, 'the access token is known');
      assert.ok(await t.core.sessions.revoke(found.session.id, { address: 'test' }, 'test'));
    }

    it('makes once and reuses the pair: never make before each request', async () => {
      const u = await seedAccount(t.core);
      const c = countingFetch();
      const client = new ChatAppClient({ baseUrl: t.url, credentials: u, fetch: c.fetch });
      for (let i = 0; i < 10; i++) assert.equal((await client.check()).cabinetUserId, u.accountId);
      assert.equal(c.count(MAKE), 1);
      assert.equal(c.count(REFRESH), 0);
      assert.equal(c.count(CHECK), 10);
      const response = await client.fetch('/v1/tokens/check');
      assert.equal(response.status, 200, 'fetch returns the response as is');
      assert.equal(((await response.json()) as { data: { appId: string } }).data.appId, u.appId);
    });

    it('100 concurrent requests through an expired access token cause exactly one refresh and all succeed', async () => {
      const u = await seedAccount(t.core);
      const c = countingFetch();
      const client = new ChatAppClient({ baseUrl: t.url, credentials: u, fetch: c.fetch });
      const before = await client.tokens();
      clock.advance(25 * HOUR);
      const results = await Promise.all(Array.from({ length: 100 }, () => client.check()));
      for (const r of results) assert.equal(r.cabinetUserId, u.accountId);
      assert.equal(c.count(REFRESH), 1, 'one shared refresh');
      assert.equal(c.count(MAKE), 1, 'only the first make');
      assert.equal(c.count(CHECK), 200, 'each request: one refused try, one retry');
      const after = await client.tokens();
      assert.notEqual(after.accessToken, before.accessToken);
      assert.notEqual(after.refreshToken, before.refreshToken);
    });

    it('a client restarted with a file store reuses its stored tokens: zero make calls', async () => {
      const u = await seedAccount(t.core);
      const path = join(dir, 'nested', 'chatapp.json');
      const first = countingFetch();
      await new ChatAppClient({ baseUrl: t.url, credentials: u, fetch: first.fetch, store: new FileTokenStore<ChatAppTokens>(path) }).check();
      assert.equal(first.count(MAKE), 1);
      if (process.platform !== 'win32') assert.equal(statSync(path).mode & 0o777, 0o600, 'the token file is private');
      assert.deepEqual(readdirSync(join(dir, 'nested')), ['chatapp.json'], 'no temp file left behind');

      const second = countingFetch();
      const restarted = new ChatAppClient({ baseUrl: t.url, credentials: u, fetch: second.fetch, store: new FileTokenStore<ChatAppTokens>(path) });
      assert.equal((await restarted.check()).cabinetUserId, u.accountId);
      assert.equal(second.count(MAKE), 0);
      assert.equal(second.count(REFRESH), 0);

      // The refreshed pair is stored too: a third start after expiry refreshes once, never makes.
      clock.advance(25 * HOUR);
      await restarted.check();
      const third = countingFetch();
      await new ChatAppClient({ baseUrl: t.url, credentials: u, fetch: third.fetch, store: new FileTokenStore<ChatAppTokens>(path) }).check();
      assert.deepEqual(third.calls, [CHECK]);
    });

    it('refresh token revoked: exactly one make, then success', async () => {
      const u = await seedAccount(t.core);
      const c = countingFetch();
      const client = new ChatAppClient({ baseUrl: t.url, credentials: u, fetch: c.fetch });
      await client.check();
      await revokeSessionOf((await client.tokens()).accessToken);
      c.reset();
      assert.equal((await client.check()).cabinetUserId, u.accountId);
      assert.deepEqual(c.calls, [CHECK, REFRESH, MAKE, CHECK]);
    });

    it('quota spent: a typed error with the retry time, and no further calls', async () => {
      const u = await seedAccount(t.core);
      for (let i = 0; i < DAILY_LIMIT; i++) await new ChatAppClient({ baseUrl: t.url, credentials: u }).tokens();
      const c = countingFetch();
      const client = new ChatAppClient({ baseUrl: t.url, credentials: u, fetch: c.fetch });
      const error = await client.check().then(
        () => assert.fail('expected the quota error'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof QuotaExceededError);
      assert.ok(error instanceof TokendError);
      assert.equal(error.code, 'ApiTokensLimitError');
      assert.equal(error.status, 429);
      assert.ok(error.retryAfterSeconds > 0 && error.retryAfterSeconds <= 86_400, String(error.retryAfterSeconds));
      assert.ok(error.retryAt.getTime() > Date.now());
      assert.deepEqual(c.calls, [MAKE], 'no API call without a token');
      for (let i = 0; i < 5; i++) await assert.rejects(client.check(), QuotaExceededError);
      assert.deepEqual(c.calls, [MAKE], 'blocked until retryAt: no further calls');
    });

    it('revoked session with the quota spent: one refresh, one make, a typed error, then silence', async () => {
      const u = await seedAccount(t.core);
      const c = countingFetch();
      const client = new ChatAppClient({ baseUrl: t.url, credentials: u, fetch: c.fetch });
      await client.check();
      for (let i = 1; i < DAILY_LIMIT; i++) await new ChatAppClient({ baseUrl: t.url, credentials: u }).tokens();
      await revokeSessionOf((await client.tokens()).accessToken);
      c.reset();
      await assert.rejects(client.check(), QuotaExceededError);
      assert.deepEqual(c.calls, [CHECK, REFRESH, MAKE]);
      await assert.rejects(client.check(), QuotaExceededError);
      assert.deepEqual(c.calls, [CHECK, REFRESH, MAKE], 'no loop, no retry before retryAt');
    });
  });
}
