/**
 * Clients that misbehave on purpose, against the ChatApp wire, and what the cabinet tells the
 * account (docs/client-advice.md): one that logs in before every request, one that throws away
 * unused pairs, one that refreshes on a timer; and a well-behaved one (make once, refresh only when
 * a check says the access token expired), never flagged. The quota warning shows from 80 % of the
 * daily tokens.make limit. Real tokend (SQLite and PostgreSQL), a manual clock for the time between
 * requests.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../src/core/clock.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const HOST = 'tokend.test';
const JSON_HEADERS = { 'content-type': 'application/json' };
const MINUTE = 60_000;

type User = Awaited<ReturnType<typeof seedAccount>>;

for (const db of databases()) {
  describe(`client advice (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;

    before(async () => {
      t = await startTokend({ db, clock, config: { chatappDailyMakeLimit: 40 } });
    });
    after(async () => t.close());

    async function make(u: User): Promise<{ accessToken: string; refreshToken: string }> {
      const res = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: JSON_HEADERS, payload: JSON.stringify({ email: u.email, password: u.password, appId: u.appId }) });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data;
    }
    async function check(accessToken: string): Promise<number> {
      return (await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: accessToken } })).statusCode;
    }
    async function refresh(refreshToken: string): Promise<{ accessToken: string; refreshToken: string }> {
      const res = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: refreshToken } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data;
    }

    /** What the cabinet's client-advice endpoint says about the user's app, as the user signed in. */
    async function advice(u: User): Promise<{ patterns: string[]; figures: Record<string, number>; quota: { used: number; limit: number; nearLimit: boolean } }> {
      const signIn = await t.app.inject({
        method: 'POST',
        url: '/api/cabinet/session',
        headers: { host: HOST, origin: `http://${HOST}`, ...JSON_HEADERS },
        payload: JSON.stringify({ email: u.email, password: u.password }),
      });
      assert.equal(signIn.statusCode, 200, signIn.body);
      const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
      const res: LightMyRequestResponse = await t.app.inject({ method: 'GET', url: '/api/cabinet/client-advice', headers: { host: HOST, cookie } });
      assert.equal(res.statusCode, 200, res.body);
      const app = res.json().apps.find((a: { appId: string }) => a.appId === u.appId);
      return { patterns: app.findings.map((f: { pattern: string }) => f.pattern), figures: app.figures, quota: app.quota };
    }

    it('a client that logs in before every request is told to keep the pair', async () => {
      const u = await seedAccount(t.core);
      for (let i = 0; i < 22; i++) {
        const pair = await make(u);
        assert.equal(await check(pair.accessToken), 200);
        clock.advance(MINUTE);
      }
      const a = await advice(u);
      assert.ok(a.patterns.includes('login_per_request'), JSON.stringify(a));
      assert.ok(a.patterns.includes('unused_pairs') === false, 'each pair was used once: not thrown away unused');
      assert.equal(a.figures.makes, 22);
    });

    it('a client that makes new pairs and never uses them is told it throws pairs away', async () => {
      const u = await seedAccount(t.core);
      for (let i = 0; i < 12; i++) {
        await make(u);
        clock.advance(5 * MINUTE);
      }
      const a = await advice(u);
      assert.ok(a.patterns.includes('unused_pairs'), JSON.stringify(a));
      assert.equal(a.figures.unusedMakes, 11, 'the first make had no previous pair');
    });

    it('a client that refreshes unexpired tokens on a timer is told to refresh only when refused', async () => {
      const u = await seedAccount(t.core);
      let pair = await make(u);
      for (let i = 0; i < 9; i++) {
        clock.advance(10 * MINUTE);
        assert.equal(await check(pair.accessToken), 200);
        pair = await refresh(pair.refreshToken);
      }
      const a = await advice(u);
      assert.ok(a.patterns.includes('timer_refresh'), JSON.stringify(a));
      assert.equal(a.figures.earlyRefreshes, 9);
      assert.equal(a.figures.timerRefreshes, 6, 'from the fourth regular interval on');
    });

    it('a well-behaved client (make once, refresh when the check says expired) is never flagged', async () => {
      const u = await seedAccount(t.core);
      let pair = await make(u);
      for (let day = 0; day < 5; day++) {
        for (let i = 0; i < 30; i++) {
          clock.advance(40 * MINUTE);
          if ((await check(pair.accessToken)) === 401) pair = await refresh(pair.refreshToken);
          assert.equal(await check(pair.accessToken), 200);
        }
      }
      const a = await advice(u);
      assert.deepEqual(a.patterns, []);
      assert.equal(a.figures.makes, 1);
      assert.equal(a.figures.earlyRefreshes, 0);
      assert.equal(a.quota.nearLimit, false);
    });

    it('warns from 80 % of the daily tokens.make limit', async () => {
      const u = await seedAccount(t.core);
      for (let i = 0; i < 31; i++) await make(u);
      assert.equal((await advice(u)).quota.nearLimit, false);
      await make(u);
      const a = await advice(u);
      assert.deepEqual(a.quota, { used: 32, limit: 40, nearLimit: true });
    });
  });
}
