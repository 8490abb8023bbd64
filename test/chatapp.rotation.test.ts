/** Rotation, reuse detection, absolute lifetime and login limits. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

for (const db of databases()) {
  describe(`ChatApp rotation and limits (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    before(async () => {
      t = await startTokend({
        db,
        clock,
        config: { loginMaxFailuresPerAccount: 5, loginMaxFailuresPerAddress: 1000, sessionMaxLifetime: 30 * 86_400_000 },
      });
    });
    after(async () => t.close());

    async function make(u: { email: string; password: string; appId: string }, remoteAddress = '127.0.0.1') {
      return t.app.inject({ method: 'POST', url: '/v1/tokens', remoteAddress, payload: { email: u.email, password: u.password, appId: u.appId } });
    }
    const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: token } });
    const check = (token: string) => t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: token } });

    it('replay inside the grace period is only rejected: the new pair keeps working', async () => {
      const u = await seedAccount(t.core);
      const first = (await make(u)).json().data;
      const second = (await refresh(first.refreshToken)).json().data;
      clock.advance(5_000);
      const replay = await refresh(first.refreshToken);
      assert.equal(replay.statusCode, 401);
      assert.equal(replay.json().error.code, 'ApiInvalidRefreshTokenError');
      assert.equal((await check(second.accessToken)).statusCode, 200);
      assert.equal((await refresh(second.refreshToken)).statusCode, 200);
    });

    it('replay after the grace period revokes the whole session, the new pair too, and is audited', async () => {
      const u = await seedAccount(t.core);
      const first = (await make(u)).json().data;
      const second = (await refresh(first.refreshToken)).json().data;
      assert.equal((await check(second.accessToken)).statusCode, 200);
      clock.advance(10_001);
      const replay = await refresh(first.refreshToken);
      assert.equal(replay.statusCode, 401);
      assert.equal(replay.json().error.code, 'ApiInvalidRefreshTokenError');
      assert.equal((await check(second.accessToken)).statusCode, 401, 'the new access token dies with the session');
      assert.equal((await refresh(second.refreshToken)).statusCode, 401, 'the new refresh token dies with the session');
      const events = await t.core.store.audit.list({ accountId: u.accountId, type: 'session.reuse_detected', limit: 10 });
      assert.equal(events.length, 1);
      assert.equal(events[0]!.address, '127.0.0.1');
      // Other sessions of the same account are untouched.
      const other = (await make(u)).json().data;
      assert.equal((await check(other.accessToken)).statusCode, 200);
    });

    it('sessions end at their absolute lifetime, however often they are refreshed', async () => {
      const u = await seedAccount(t.core);
      let pair = (await make(u)).json().data;
      for (let day = 0; day < 29; day++) {
        clock.advance(86_400_000);
        const r = await refresh(pair.refreshToken);
        assert.equal(r.statusCode, 200, `day ${day}`);
        pair = r.json().data;
      }
      // Tokens never outlive the session: the end times are capped by the 30-day lifetime.
      assert.ok(pair.refreshTokenEndTime <= Math.floor(clock.now() / 1000) + 86400);
      clock.advance(86_400_000);
      const r = await refresh(pair.refreshToken);
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().error.code, 'ApiRefreshTokenExpiredError');
    });

    it('failed logins are limited per email: 429 with Retry-After after the limit, even for the right password', async () => {
      const u = await seedAccount(t.core);
      for (let i = 0; i < 5; i++) {
        const r = await make({ ...u, password: `wrong-${i}` }, `10.0.0.${i + 1}`);
        assert.equal(r.statusCode, 401);
      }
      const blocked = await make(u, '10.0.1.1');
      assert.equal(blocked.statusCode, 429);
      assert.equal(blocked.json().error.code, 'ApiTooManyAttemptsError');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      // Upper-case is the same email for the limit, too.
      assert.equal((await make({ ...u, email: u.email.toUpperCase() })).statusCode, 429);
      clock.advance(15 * 60_000);
      assert.equal((await make(u)).statusCode, 200, 'the window ends');
    });

    it('correct logins never count towards the failure limit', async () => {
      const u = await seedAccount(t.core);
      for (let i = 0; i < 12; i++) assert.equal((await make(u)).statusCode, 200);
    });

    it('failed logins are limited per client address across emails', async () => {
      const local = await startTokend({ db, clock, config: { loginMaxFailuresPerAccount: 1000, loginMaxFailuresPerAddress: 3 } });
      try {
        const u = await seedAccount(local.core);
        for (let i = 0; i < 3; i++) {
          const r = await local.app.inject({ method: 'POST', url: '/v1/tokens', remoteAddress: '192.0.2.7', payload: { email: `guess${i}@example.com`, password: 'x', appId: u.appId } });
          assert.equal(r.statusCode, 401);
        }
        const r = await local.app.inject({ method: 'POST', url: '/v1/tokens', remoteAddress: '192.0.2.7', payload: { email: u.email, password: u.password, appId: u.appId } });
        assert.equal(r.statusCode, 429);
        const elsewhere = await local.app.inject({ method: 'POST', url: '/v1/tokens', remoteAddress: '192.0.2.8', payload: { email: u.email, password: u.password, appId: u.appId } });
        assert.equal(elsewhere.statusCode, 200);
      } finally {
        await local.close();
      }
    });

    it('audits logins, failures, refreshes', async () => {
      const u = await seedAccount(t.core);
      const pair = (await make(u)).json().data;
      await make({ ...u, password: 'nope-nope' });
      await refresh(pair.refreshToken);
      const types = (await t.core.store.audit.list({ accountId: u.accountId, limit: 50 })).map((e) => e.type);
      for (const type of ['account.created', 'app.created', 'login.succeeded', 'login.failed', 'session.refreshed']) {
        assert.ok(types.includes(type as never), `${type} missing from ${types.join(',')}`);
      }
      for (const e of await t.core.store.audit.list({ accountId: u.accountId, limit: 50 })) {
        const text = JSON.stringify(e);
        assert.ok(!text.includes(u.password) && !text.includes(pair.refreshToken) && !text.includes(pair.accessToken));
      }
    });
  });
}
