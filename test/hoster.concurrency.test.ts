/**
 * Races decided by the database, over real HTTP: of 50 concurrent refreshes with one
 * hoster.by refresh token exactly one wins, 20 times over; the daily creation limit per key is
 * exact under concurrent creations; a revocation racing with creations leaves no live session.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { DAY_MS } from '../src/core/clock.ts';
import { databases, startTokend, type TestTokend } from './helpers/harness.ts';
import { CTX, seedServiceKey } from './helpers/hoster.ts';

interface Answer {
  status: number;
  text: string;
  body: Record<string, any>;
  headers: Headers;
}

async function send(url: string, method: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, any>, headers: res.headers };
}

for (const db of databases()) {
  describe(`hoster.by concurrency (${db})`, () => {
    let t: TestTokend;
    before(async () => {
      // A small daily limit keeps the quota race quick to set up; no other test here comes near it.
      t = await startTokend({ db, listen: true, config: { serviceDailyCreateLimit: 40 } });
    });
    after(async () => t.close());

    const create = (k: { accessKey: string; secretKey: string }): Promise<Answer> =>
      send(`${t.url}/service/account/create/token`, 'POST', { 'content-type': 'application/json', 'access-key': k.accessKey, 'secret-key': k.secretKey });
    const refresh = (userId: number, token: string): Promise<Answer> =>
      send(`${t.url}/token/refresh`, 'PATCH', { 'content-type': 'application/json', 'x-user-id': String(userId), 'refresh-token': token });

    it('50 concurrent refreshes with one refresh token: exactly one 200, 20 times over', async () => {
      const k = await seedServiceKey(t.core);
      const made = await create(k);
      assert.equal(made.status, 200, made.text);
      let token: string = made.body.payload.refreshToken;
      for (let run = 0; run < 20; run++) {
        const results = await Promise.all(Array.from({ length: 50 }, () => refresh(k.accountId, token)));
        const winners = results.filter((r) => r.status === 200);
        assert.equal(winners.length, 1, `run ${run}: ${winners.length} winners`);
        assert.ok(winners[0]!.text.includes('"httpCode": 200'));
        for (const r of results) {
          if (r.status === 200) continue;
          assert.equal(r.status, 401, r.text);
          assert.equal(r.body.httpCode, 401);
          assert.deepEqual(r.body.codeList, { error: ['refresh_token_not_found'] });
        }
        token = winners[0]!.body.payload.refreshToken;
      }
      // The losers were inside the reuse grace period: the session survived, the last pair works.
      const last = await refresh(k.accountId, token);
      assert.equal(last.status, 200, last.text);
    });

    it('daily limit: with limit - 1 used, 60 concurrent creations -> exactly one 200, the rest 429', async () => {
      assert.equal(t.config.serviceDailyCreateLimit, 40);
      const k = await seedServiceKey(t.core);
      const limit = t.config.serviceDailyCreateLimit;
      const now = t.core.clock.now();
      const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
      for (let i = 0; i < limit - 1; i++) {
        assert.notEqual(await t.core.store.counters.incrementBelow(`service-create:${k.keyId}`, dayStart, limit, dayStart + DAY_MS), null);
      }
      const results = await Promise.all(Array.from({ length: 60 }, () => create(k)));
      assert.equal(results.filter((r) => r.status === 200).length, 1);
      for (const r of results.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 429, r.text);
        assert.deepEqual(r.body.codeList, { error: ['token_limit_exceeded'] });
        const retry = Number(r.headers.get('retry-after'));
        assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 86_400, `Retry-After ${retry}`);
      }
    });

    it('a key revoked while creations race leaves none of their sessions alive', async () => {
      const k = await seedServiceKey(t.core);
      const racing = Array.from({ length: 30 }, () => create(k));
      const revoked = t.core.serviceAccounts.revokeKey(k.keyId, CTX);
      const results = await Promise.all(racing);
      await revoked;
      for (const r of results) {
        if (r.status !== 200) {
          assert.equal(r.status, 401, r.text);
          continue;
        }
        // Whatever won the race before the revocation was revoked with the key.
        const info = await send(`${t.url}/token/info/access`, 'GET', { 'access-token': r.body.payload.accessToken });
        assert.equal(info.status, 401, info.text);
        const again = await refresh(k.accountId, r.body.payload.refreshToken);
        assert.equal(again.status, 401, again.text);
      }
      const sessions = await t.core.store.sessions.listActiveByAccount(k.accountId, t.core.clock.now());
      assert.equal(sessions.length, 0);
    });
  });
}
