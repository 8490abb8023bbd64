/**
 * One limit on guessing credentials (docs/admin-api.md, "Authentication"), on SQLite and
 * PostgreSQL: wrong admin tokens, operator keys, resource-server credentials, metrics tokens and
 * reset links count per client address towards one limit, whichever endpoint they hit
 * (`/api/admin`, `/oauth2/introspect`, `/oauth2/revoke`, `/metrics`, the operator sign-in, reset
 * links); once reached, every such endpoint answers 429 with Retry-After to that address, even for
 * the right credential, until the window passes. Other addresses are not affected.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../src/core/clock.ts';
import { newToken } from '../src/secrets/tokens.ts';
import { adminCaller, createOperatorKey } from './helpers/admin.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const ADMIN_TOKEN = testAdminToken();
const METRICS_TOKEN = `metrics-${'m'.repeat(40)}`;
const MAX = 5;
const WINDOW_MS = 60_000;
const HOST = 'tokend.test';

for (const db of databases()) {
  describe(`credential guessing (${db})`, () => {
    // Mid-window start, so that a window boundary never falls inside a test by accident.
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 1));
    let t: TestTokend;
    let operatorKey: string;
    let resourceServer: string;
    let accessToken: string;
    let n = 0;
    /** A fresh documentation-range address per test: each starts below the limit. */
    const nextAddress = (): string => `198.51.100.${++n}`;

    before(async () => {
      t = await startTokend({
        db,
        clock,
        config: { adminToken: ADMIN_TOKEN, metricsToken: METRICS_TOKEN, credentialMaxFailures: MAX, credentialFailureWindow: WINDOW_MS },
      });
      operatorKey = (await createOperatorKey(t, ADMIN_TOKEN, ['accounts:read'])).key;
      resourceServer = (await t.core.callers.createResourceServer('api', { address: 'test' })).token;
      const u = await seedAccount(t.core);
      const made = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
      accessToken = made.json().data.accessToken;
    });
    after(async () => t.close());

    const endpoints = {
      admin: (address: string, credential: string | null): Promise<LightMyRequestResponse> => adminCaller(t, credential, address)('GET', '/api/admin/accounts'),
      introspect: (address: string, credential: string | null): Promise<LightMyRequestResponse> =>
        t.app.inject({ method: 'POST', url: '/oauth2/introspect', remoteAddress: address, headers: credential ? { authorization: `Bearer ${credential}` } : {}, payload: { token: accessToken } }),
      revoke: (address: string, credential: string | null): Promise<LightMyRequestResponse> =>
        t.app.inject({ method: 'POST', url: '/oauth2/revoke', remoteAddress: address, headers: credential ? { authorization: `Bearer ${credential}` } : {}, payload: { token: 'tda_not-a-real-token' } }),
      metrics: (address: string, credential: string | null): Promise<LightMyRequestResponse> =>
        t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: address, headers: credential ? { authorization: `Bearer ${credential}` } : {} }),
      signIn: (address: string, credential: string | null): Promise<LightMyRequestResponse> =>
        t.app.inject({ method: 'POST', url: '/api/admin/session', remoteAddress: address, headers: { host: HOST, origin: `http://${HOST}` }, payload: { token: credential ?? '' } }),
    };

    function assertThrottled(res: LightMyRequestResponse, where: string): void {
      assert.equal(res.statusCode, 429, `${where}: ${res.statusCode} ${res.body}`);
      const retry = Number(res.headers['retry-after']);
      assert.ok(retry >= 1 && retry <= WINDOW_MS / 1000, `${where}: Retry-After ${res.headers['retry-after']}`);
      const body = res.json();
      const code = typeof body.error === 'string' ? body.error : body.error.code;
      assert.equal(code, 'too_many_attempts', where);
    }

    it('wrong credentials at every endpoint count towards one limit; then every endpoint refuses even the right one', async () => {
      const address = nextAddress();
      const wrong = [
        () => endpoints.admin(address, 'not-the-admin-token'),
        () => endpoints.admin(address, newToken('operatorKey').token),
        () => endpoints.introspect(address, newToken('resourceServer').token),
        () => endpoints.revoke(address, `${ADMIN_TOKEN}x`),
        () => endpoints.metrics(address, 'not-the-metrics-token'),
      ];
      assert.equal(wrong.length, MAX);
      for (const [i, call] of wrong.entries()) {
        const res = await call();
        assert.ok(res.statusCode === 401, `guess ${i}: ${res.statusCode} ${res.body}`);
      }
      assertThrottled(await endpoints.admin(address, ADMIN_TOKEN), '/api/admin with the admin token');
      assertThrottled(await endpoints.admin(address, operatorKey), '/api/admin with an operator key');
      assertThrottled(await endpoints.introspect(address, resourceServer), '/oauth2/introspect with a resource-server credential');
      assertThrottled(await endpoints.introspect(address, ADMIN_TOKEN), '/oauth2/introspect with the admin token');
      assertThrottled(await endpoints.revoke(address, resourceServer), '/oauth2/revoke');
      assertThrottled(await endpoints.metrics(address, METRICS_TOKEN), '/metrics');
      assertThrottled(await endpoints.signIn(address, ADMIN_TOKEN), 'operator sign-in');
      // The OAuth endpoints answer in the RFC 6749 form.
      const oauth = await endpoints.introspect(address, ADMIN_TOKEN);
      assert.equal(typeof oauth.json().error, 'string');
      // Another address is not affected.
      const other = nextAddress();
      assert.equal((await endpoints.admin(other, ADMIN_TOKEN)).statusCode, 200);
      assert.equal((await endpoints.introspect(other, resourceServer)).statusCode, 200);
      assert.equal((await endpoints.metrics(other, METRICS_TOKEN)).statusCode, 200);
      // The window passes: the right credential works again.
      clock.advance(WINDOW_MS);
      assert.equal((await endpoints.admin(address, ADMIN_TOKEN)).statusCode, 200);
      assert.equal((await endpoints.introspect(address, ADMIN_TOKEN)).statusCode, 200);
    });

    it('the operator sign-in and reset links count too, and an operator console sign-in is refused once past the limit', async () => {
      const address = nextAddress();
      const signedIn = await endpoints.signIn(address, ADMIN_TOKEN);
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      const cookie = String(([signedIn.headers['set-cookie']].flat() as string[]).find((c) => c.startsWith('tokend_operator='))).split(';')[0]!;
      for (let i = 0; i < MAX - 1; i++) assert.equal((await endpoints.signIn(address, `wrong-${i}`)).statusCode, 401);
      const reset = await t.app.inject({
        method: 'POST',
        url: '/api/cabinet/password-reset',
        remoteAddress: address,
        headers: { host: HOST, origin: `http://${HOST}` },
        payload: { token: newToken('passwordReset').token, password: 'a new password' },
      });
      assert.equal(reset.statusCode, 400, reset.body);
      const console = await t.app.inject({ method: 'GET', url: '/api/admin/me', remoteAddress: address, headers: { cookie } });
      assertThrottled(console, 'operator console');
      const nextReset = await t.app.inject({
        method: 'POST',
        url: '/api/cabinet/password-reset',
        remoteAddress: address,
        headers: { host: HOST, origin: `http://${HOST}` },
        payload: { token: newToken('passwordReset').token, password: 'a new password' },
      });
      assertThrottled(nextReset, 'reset link');
    });

    it('no credential at all is not a guess: it is refused without counting', async () => {
      const address = nextAddress();
      for (let i = 0; i < MAX * 2; i++) {
        assert.equal((await endpoints.introspect(address, null)).statusCode, 401);
        assert.equal((await endpoints.admin(address, null)).statusCode, 401);
        assert.equal((await endpoints.metrics(address, null)).statusCode, 401);
      }
      assert.equal((await endpoints.admin(address, ADMIN_TOKEN)).statusCode, 200);
    });

    it('right credentials never count', async () => {
      const address = nextAddress();
      for (let i = 0; i < MAX * 2; i++) assert.equal((await endpoints.introspect(address, resourceServer)).statusCode, 200);
      assert.equal((await endpoints.admin(address, 'wrong')).statusCode, 401, 'the first guess after many right calls is still only a guess');
    });

    it('a burst of guesses sent at once: at most the limit are answered as wrong, the rest as throttled', async () => {
      const address = nextAddress();
      const results = await Promise.all(Array.from({ length: MAX * 3 }, (_, i) => endpoints.admin(address, `burst-guess-${i}`)));
      const wrong = results.filter((r) => r.statusCode === 401).length;
      const throttled = results.filter((r) => r.statusCode === 429).length;
      assert.ok(wrong <= MAX, `${wrong} guesses were told they were wrong`);
      assert.equal(wrong + throttled, results.length);
      assertThrottled(await endpoints.admin(address, ADMIN_TOKEN), 'after the burst');
    });

    it('loopback reads /metrics without a credential, and a wrong credential from loopback is not a metrics guess', async () => {
      for (let i = 0; i < MAX * 2; i++) {
        const res = await endpoints.metrics('127.0.0.1', 'anything');
        assert.equal(res.statusCode, 200);
      }
    });
  });
}
