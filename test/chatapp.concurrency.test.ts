/**
 * Races decided by the database, over real HTTP: exactly one of N concurrent refreshes wins, and
 * the daily quota is exact under concurrent tokens.make.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { DAY_MS } from '../src/core/clock.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

async function post(url: string, init: { headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', ...init });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

for (const db of databases()) {
  describe(`ChatApp concurrency (${db})`, () => {
    let t: TestTokend;
    before(async () => {
      t = await startTokend({ db, listen: true });
    });
    after(async () => t.close());

    it('50 concurrent refreshes with one refresh token: exactly one 200, 20 times over', async () => {
      const u = await seedAccount(t.core);
      const made = await post(`${t.url}/v1/tokens`, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: u.email, password: u.password, appId: u.appId }),
      });
      assert.equal(made.status, 200);
      let refresh: string = made.body.data.refreshToken;
      for (let run = 0; run < 20; run++) {
        const results = await Promise.all(Array.from({ length: 50 }, () => post(`${t.url}/v1/tokens/refresh`, { headers: { refresh } })));
        const winners = results.filter((r) => r.status === 200);
        assert.equal(winners.length, 1, `run ${run}: ${winners.length} winners`);
        for (const r of results) if (r.status !== 200) assert.equal(r.status, 401, JSON.stringify(r.body));
        refresh = winners[0]!.body.data.refreshToken;
      }
      // Losers were inside the reuse grace period: the session survived and the last pair works.
      const check = await fetch(`${t.url}/v1/tokens/refresh`, { method: 'POST', headers: { refresh } });
      assert.equal(check.status, 200);
    });

    it('quota: with 99 used, 150 concurrent make -> exactly 1 succeeds; the rest get 429 with Retry-After', async () => {
      const u = await seedAccount(t.core);
      const now = t.core.clock.now();
      const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
      for (let i = 0; i < 99; i++) await t.core.store.counters.incrementBelow(`make:${u.email}:${u.appId}`, dayStart, 100, dayStart + DAY_MS);
      const body = JSON.stringify({ email: u.email, password: u.password, appId: u.appId });
      const results = await Promise.all(
        Array.from({ length: 150 }, () => post(`${t.url}/v1/tokens`, { headers: { 'content-type': 'application/json' }, body })),
      );
      const ok = results.filter((r) => r.status === 200);
      assert.equal(ok.length, 1);
      for (const r of results.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 429);
        assert.equal(r.body.error.code, 'ApiTokensLimitError');
        const retry = Number(r.headers.get('retry-after'));
        assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 86400, `Retry-After ${retry}`);
      }
      // Refresh does not count against the quota.
      const refreshed = await post(`${t.url}/v1/tokens/refresh`, { headers: { refresh: ok[0]!.body.data.refreshToken } });
      assert.equal(refreshed.status, 200);
    });

    it('the 101st make of a day gets 429; an upper-case or padded email shares the quota', async () => {
      const u = await seedAccount(t.core, { email: 'Quota.Case@Example.com' });
      assert.equal(u.email, 'quota.case@example.com');
      const variants = ['quota.case@example.com', '  QUOTA.CASE@EXAMPLE.COM  ', 'Quota.Case@Example.com\t'];
      let successes = 0;
      for (let i = 0; i < 100; i++) {
        const r = await post(`${t.url}/v1/tokens`, {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: variants[i % variants.length], password: u.password, appId: u.appId }),
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        successes++;
      }
      assert.equal(successes, 100);
      const over = await post(`${t.url}/v1/tokens`, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: '  QUOTA.case@example.COM', password: u.password, appId: u.appId }),
      });
      assert.equal(over.status, 429);
      assert.equal(over.body.error.code, 'ApiTokensLimitError');
      assert.ok(Number(over.headers.get('retry-after')) > 0);
      // Another app of the same account has its own quota.
      const app2 = await t.core.accounts.createApp({ accountId: u.accountId, name: 'second' }, { address: 'test' });
      const other = await post(`${t.url}/v1/tokens`, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: u.email, password: u.password, appId: app2.appId }),
      });
      assert.equal(other.status, 200);
    });
  });
}
