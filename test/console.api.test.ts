/**
 * The cabinet API (/api/cabinet) and the admin API (/api/admin) behind the web console, on SQLite
 * and PostgreSQL: sign-in and its limits, cookie attributes, CSRF and Origin checks, every page's
 * data, secrets shown once, and the admin token.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../src/core/clock.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { seedServiceKey } from './helpers/hoster.ts';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789abcdef';
const HOST = 'tokend.test';
const ORIGIN = `http://${HOST}`;

interface Browser {
  cookie: string | null;
  csrf: string | null;
}

function cookieFrom(res: LightMyRequestResponse, name: string): { value: string; attributes: string } | null {
  const raw = res.headers['set-cookie'];
  const all = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const line = all.find((c) => c.startsWith(`${name}=`));
  if (!line) return null;
  const [pair, ...attrs] = line.split(';');
  return { value: pair!.slice(name.length + 1), attributes: attrs.map((a) => a.trim()).join('; ') };
}

for (const db of databases()) {
  describe(`console APIs (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let user: Awaited<ReturnType<typeof seedAccount>>;

    before(async () => {
      t = await startTokend({
        db,
        clock,
        config: { adminToken: ADMIN_TOKEN, chatappDailyMakeLimit: 3, loginMaxFailuresPerAccount: 3, loginMaxFailuresPerAddress: 1000 },
      });
      user = await seedAccount(t.core);
    });
    after(async () => t.close());

    async function call(
      b: Browser | null,
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<LightMyRequestResponse> {
      const h: Record<string, string> = { host: HOST, ...headers };
      if (b?.cookie) h.cookie = b.cookie;
      if (method !== 'GET' && b?.csrf && !('x-csrf-token' in h)) h['x-csrf-token'] = b.csrf;
      if (method !== 'GET' && !('origin' in h)) h.origin = ORIGIN;
      if (body !== undefined) h['content-type'] ??= 'application/json';
      return t.app.inject({ method, url, headers: h, ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    }

    async function signIn(email = user.email, password = user.password): Promise<Browser> {
      const res = await call(null, 'POST', '/api/cabinet/session', { email, password });
      assert.equal(res.statusCode, 200, res.body);
      const c = cookieFrom(res, 'tokend_cabinet');
      assert.ok(c);
      return { cookie: `tokend_cabinet=${c.value}`, csrf: res.json().csrfToken };
    }

    async function operator(): Promise<Browser> {
      const res = await call(null, 'POST', '/api/admin/session', { token: ADMIN_TOKEN });
      assert.equal(res.statusCode, 200, res.body);
      const c = cookieFrom(res, 'tokend_operator');
      assert.ok(c);
      return { cookie: `tokend_operator=${c.value}`, csrf: res.json().csrfToken };
    }

    describe('sign-in', () => {
      it('sets an HttpOnly, SameSite=Strict cookie scoped to the cabinet API, and returns the account and a CSRF token', async () => {
        const res = await call(null, 'POST', '/api/cabinet/session', { email: `  ${user.email.toUpperCase()} `, password: user.password });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers['cache-control'], 'no-store');
        const c = cookieFrom(res, 'tokend_cabinet')!;
        assert.match(c.value, /^tdc_[0-9A-Za-z]{33}$/);
        assert.match(c.attributes, /HttpOnly/);
        assert.match(c.attributes, /SameSite=Strict/);
        assert.match(c.attributes, /Path=\/api\/cabinet/);
        assert.doesNotMatch(c.attributes, /Secure/, 'plain http: no Secure flag, or the browser would drop the cookie');
        const body = res.json();
        assert.equal(body.account.id, user.accountId);
        assert.equal(body.account.email, user.email);
        assert.equal(typeof body.csrfToken, 'string');
        assert.ok(!res.body.includes(c.value), 'the session token is only in the cookie');
      });

      it('stores only the SHA-256 of the cookie token', async () => {
        const res = await call(null, 'POST', '/api/cabinet/session', { email: user.email, password: user.password });
        const token = cookieFrom(res, 'tokend_cabinet')!.value;
        const { sha256Hex } = await import('../src/secrets/hash.ts');
        assert.ok(await t.core.store.consoleSessions.find(sha256Hex(token)));
        assert.equal(await t.core.store.consoleSessions.find(token), null);
      });

      it('a wrong password and an unknown email get the same 401', async () => {
        const wrong = await call(null, 'POST', '/api/cabinet/session', { email: user.email, password: 'wrong-password' });
        const unknown = await call(null, 'POST', '/api/cabinet/session', { email: 'nobody@example.com', password: 'wrong-password' });
        assert.equal(wrong.statusCode, 401);
        assert.deepEqual(wrong.json(), unknown.json());
        assert.equal(wrong.json().error.code, 'invalid_credentials');
        assert.equal(cookieFrom(wrong, 'tokend_cabinet'), null);
      });

      it('does not consume the tokens.make daily quota', async () => {
        const other = await seedAccount(t.core);
        for (let i = 0; i < 5; i++) await signIn(other.email, other.password);
        for (let i = 0; i < 3; i++) {
          const res = await t.app.inject({
            method: 'POST',
            url: '/v1/tokens',
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify({ email: other.email, password: other.password, appId: other.appId }),
          });
          assert.equal(res.statusCode, 200, `make ${i + 1} of the limit 3: ${res.body}`);
        }
      });

      it('shares the LoginGuard limits of tokens.make: failures through either count, then 429 with Retry-After', async () => {
        const victim = await seedAccount(t.core);
        await call(null, 'POST', '/api/cabinet/session', { email: victim.email, password: 'nope-nope' });
        await t.app.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ email: victim.email, password: 'nope-nope', appId: victim.appId }),
        });
        await call(null, 'POST', '/api/cabinet/session', { email: victim.email, password: 'nope-nope' });
        const blocked = await call(null, 'POST', '/api/cabinet/session', { email: victim.email, password: victim.password });
        assert.equal(blocked.statusCode, 429, blocked.body);
        assert.equal(blocked.json().error.code, 'too_many_attempts');
        assert.match(String(blocked.headers['retry-after']), /^\d+$/);
        clock.advance(t.config.loginFailureWindow);
        await signIn(victim.email, victim.password);
      });

      it('refuses a sign-in posted from another origin (login CSRF)', async () => {
        const res = await call(null, 'POST', '/api/cabinet/session', { email: user.email, password: user.password }, { origin: 'https://evil.example' });
        assert.equal(res.statusCode, 403);
        assert.equal(res.json().error.code, 'csrf_failed');
      });

      it('rejects unknown fields, wrong types and non-JSON bodies', async () => {
        const extra = await call(null, 'POST', '/api/cabinet/session', { email: user.email, password: user.password, remember: true });
        assert.equal(extra.statusCode, 400);
        assert.equal(extra.json().error.code, 'validation_failed');
        const wrongType = await call(null, 'POST', '/api/cabinet/session', { email: 42, password: user.password });
        assert.equal(wrongType.statusCode, 400);
        const form = await call(null, 'POST', '/api/cabinet/session', `email=${encodeURIComponent(user.email)}&password=x`, {
          'content-type': 'application/x-www-form-urlencoded',
        });
        assert.equal(form.statusCode, 415);
        const text = await call(null, 'POST', '/api/cabinet/session', '{}', { 'content-type': 'text/plain' });
        assert.equal(text.statusCode, 415);
        const bad = await call(null, 'POST', '/api/cabinet/session', '{"email":', {});
        assert.equal(bad.statusCode, 400);
        assert.equal(bad.json().error.code, 'bad_request');
      });

      it('marks the cookie Secure when the request came over https through a trusted proxy', async () => {
        const proxied = await startTokend({ db, config: { trustedProxies: ['127.0.0.1'] } });
        try {
          const u = await seedAccount(proxied.core);
          const res = await proxied.app.inject({
            method: 'POST',
            url: '/api/cabinet/session',
            headers: { 'content-type': 'application/json', host: HOST, origin: `https://${HOST}`, 'x-forwarded-proto': 'https' },
            payload: JSON.stringify({ email: u.email, password: u.password }),
          });
          assert.equal(res.statusCode, 200, res.body);
          assert.match(cookieFrom(res, 'tokend_cabinet')!.attributes, /Secure/);
        } finally {
          await proxied.close();
        }
      });
    });

    describe('session lifetime and CSRF', () => {
      it('needs the cookie: 401 without it or with a forged one', async () => {
        const none = await call(null, 'GET', '/api/cabinet/me');
        assert.equal(none.statusCode, 401);
        assert.equal(none.json().error.code, 'unauthenticated');
        const forged = await call({ cookie: 'tokend_cabinet=tdc_notarealtokenatall', csrf: null }, 'GET', '/api/cabinet/me');
        assert.equal(forged.statusCode, 401);
      });

      it('/me returns the account, the CSRF token and the limits', async () => {
        const b = await signIn();
        const res = await call(b, 'GET', '/api/cabinet/me');
        assert.equal(res.statusCode, 200);
        const me = res.json();
        assert.equal(me.account.id, user.accountId);
        assert.equal(me.csrfToken, b.csrf);
        assert.equal(me.limits.dailyMakeLimit, 3);
      });

      it('every state change needs the CSRF token and our Origin', async () => {
        const b = await signIn();
        const noToken = await call({ ...b, csrf: null }, 'POST', '/api/cabinet/apps', { name: 'x' });
        assert.equal(noToken.statusCode, 403);
        assert.equal(noToken.json().error.code, 'csrf_failed');
        const wrong = await call(b, 'POST', '/api/cabinet/apps', { name: 'x' }, { 'x-csrf-token': 'A'.repeat(43) });
        assert.equal(wrong.statusCode, 403);
        const foreign = await call(b, 'POST', '/api/cabinet/apps', { name: 'x' }, { origin: 'https://evil.example' });
        assert.equal(foreign.statusCode, 403);
        const crossSite = await call(b, 'POST', '/api/cabinet/apps', { name: 'x' }, { origin: '', 'sec-fetch-site': 'cross-site' });
        assert.equal(crossSite.statusCode, 403);
        const nullOrigin = await call(b, 'POST', '/api/cabinet/apps', { name: 'x' }, { origin: 'null' });
        assert.equal(nullOrigin.statusCode, 403);
        const behindTls = await call(b, 'POST', '/api/cabinet/apps', { name: 'via https proxy' }, { origin: `https://${HOST}` });
        assert.equal(behindTls.statusCode, 201, 'a TLS-terminating proxy: the browser says https, tokend sees http');
        const otherSession = await signIn();
        const swapped = await call({ cookie: b.cookie, csrf: otherSession.csrf }, 'POST', '/api/cabinet/apps', { name: 'x' });
        assert.equal(swapped.statusCode, 403, "another sign-in's CSRF token does not fit");
        const signOut = await call({ ...b, csrf: null }, 'DELETE', '/api/cabinet/session');
        assert.equal(signOut.statusCode, 403);
        const ok = await call(b, 'POST', '/api/cabinet/apps', { name: 'x' });
        assert.equal(ok.statusCode, 201, ok.body);
      });

      it('ends after the idle timeout', async () => {
        const b = await signIn();
        clock.advance(t.config.consoleIdleTimeout - 60_000);
        assert.equal((await call(b, 'GET', '/api/cabinet/me')).statusCode, 200);
        clock.advance(t.config.consoleIdleTimeout - 60_000);
        assert.equal((await call(b, 'GET', '/api/cabinet/me')).statusCode, 200, 'activity extends it');
        clock.advance(t.config.consoleIdleTimeout);
        assert.equal((await call(b, 'GET', '/api/cabinet/me')).statusCode, 401);
      });

      it('ends at its absolute lifetime, however active', async () => {
        const b = await signIn();
        const step = t.config.consoleIdleTimeout / 2;
        let elapsed = 0;
        for (let i = 0; i < 1000 && elapsed + step < t.config.consoleSessionLifetime; i++) {
          clock.advance(step);
          elapsed += step;
          assert.equal((await call(b, 'GET', '/api/cabinet/me')).statusCode, 200);
        }
        clock.advance(t.config.consoleSessionLifetime - elapsed);
        assert.equal((await call(b, 'GET', '/api/cabinet/me')).statusCode, 401);
      });

      it('sign-out ends the session and clears the cookie', async () => {
        const b = await signIn();
        const res = await call(b, 'DELETE', '/api/cabinet/session');
        assert.equal(res.statusCode, 200, res.body);
        const cleared = cookieFrom(res, 'tokend_cabinet');
        assert.ok(cleared && (cleared.value === '' || /Expires=Thu, 01 Jan 1970/.test(cleared.attributes)));
        assert.equal((await call(b, 'GET', '/api/cabinet/me')).statusCode, 401);
      });
    });

    describe('pages', () => {
      it('apps: lists, creates, and the new appId works with tokens.make', async () => {
        const b = await signIn();
        const created = await call(b, 'POST', '/api/cabinet/apps', { name: 'Billing bot' });
        assert.equal(created.statusCode, 201);
        const app = created.json();
        assert.match(app.appId, /^app_/);
        const list = (await call(b, 'GET', '/api/cabinet/apps')).json();
        assert.ok(list.items.some((a: { appId: string }) => a.appId === app.appId));
        const empty = await call(b, 'POST', '/api/cabinet/apps', { name: '   ' });
        assert.equal(empty.statusCode, 400);
        assert.equal(empty.json().error.fields[0].name, 'name');
        const make = await t.app.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ email: user.email, password: user.password, appId: app.appId }),
        });
        assert.equal(make.statusCode, 200);
      });

      it("sessions: lists the account's token families and revokes one (its access token stops working)", async () => {
        const b = await signIn();
        clock.advance(1000); // the newest session is this one, not one started in the same millisecond
        const make = await t.app.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ email: user.email, password: user.password, appId: user.appId }),
        });
        assert.equal(make.statusCode, 200, make.body);
        const { accessToken } = make.json().data;
        const list = (await call(b, 'GET', '/api/cabinet/sessions')).json();
        assert.ok(list.items.length >= 1);
        const newest = list.items[0];
        assert.equal(newest.clientId, user.appId);
        assert.ok(!JSON.stringify(list).includes(accessToken));
        const revoked = await call(b, 'POST', `/api/cabinet/sessions/${newest.id}/revoke`);
        assert.equal(revoked.statusCode, 200, revoked.body);
        const check = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: accessToken } });
        assert.equal(check.statusCode, 401);
        const again = await call(b, 'POST', `/api/cabinet/sessions/${newest.id}/revoke`, {});
        assert.equal(again.statusCode, 404);
      });

      it('sessions: paged by cursor, with the client and the last refresh; "revoke all" ends every one of the account', async () => {
        const owner = await seedAccount(t.core);
        const other = await seedAccount(t.core);
        const key = await seedServiceKey(t.core, { accountId: owner.accountId });
        const otherKey = await seedServiceKey(t.core, { accountId: other.accountId });
        const pairs = [];
        for (let i = 0; i < 7; i++) {
          clock.advance(10);
          const made = await t.core.serviceAccounts.createTokens({ accessKey: key.accessKey, secretKey: key.secretKey }, { address: 'test' });
          assert.ok(made.ok);
          pairs.push(made.pair);
        }
        const otherPair = await t.core.serviceAccounts.createTokens({ accessKey: otherKey.accessKey, secretKey: otherKey.secretKey }, { address: 'test' });
        assert.ok(otherPair.ok);
        clock.advance(1000);
        const refreshed = await t.core.serviceAccounts.refresh(pairs[6]!.refreshToken, {}, { address: 'test' });
        assert.ok(refreshed.ok);

        const b = await signIn(owner.email, owner.password);
        const seen: string[] = [];
        let url = '/api/cabinet/sessions?limit=3';
        for (let page = 0; page < 5; page++) {
          const res = await call(b, 'GET', url);
          assert.equal(res.statusCode, 200, res.body);
          const body = res.json();
          assert.equal(body.total, 7);
          seen.push(...body.items.map((x: { id: string }) => x.id));
          if (page === 0) {
            assert.equal(body.items[0].id, pairs[6]!.session.id, 'newest first');
            assert.equal(body.items[0].clientId, key.accessKey);
            assert.equal(body.items[0].lastRefreshAt, clock.now());
            assert.equal(body.items[1].lastRefreshAt, null);
          }
          if (body.nextCursor === null) break;
          url = `/api/cabinet/sessions?limit=3&cursor=${encodeURIComponent(body.nextCursor)}`;
        }
        assert.deepEqual(seen, pairs.map((p) => p.session.id).reverse(), 'every session once, in order');
        for (const bad of ['x', '12_', '_abc', '1_zz!']) {
          assert.equal((await call(b, 'GET', `/api/cabinet/sessions?cursor=${encodeURIComponent(bad)}`)).statusCode, 400, bad);
        }

        const all = await call(b, 'POST', '/api/cabinet/sessions/revoke-all', {});
        assert.equal(all.statusCode, 200, all.body);
        assert.deepEqual(all.json(), { revoked: 7 });
        assert.equal((await call(b, 'GET', '/api/cabinet/sessions')).json().total, 0);
        for (const p of [pairs[0]!, refreshed.pair]) {
          assert.equal((await t.core.serviceAccounts.verifyAccessJwt(p.accessToken)).ok, false);
        }
        assert.equal((await t.core.serviceAccounts.verifyAccessJwt(otherPair.pair.accessToken)).ok, true, "another account's sessions stay");
        assert.equal((await call(b, 'GET', '/api/cabinet/me')).statusCode, 200, 'the console sign-in stays');
        assert.deepEqual((await call(b, 'POST', '/api/cabinet/sessions/revoke-all', {})).json(), { revoked: 0 });
        const noCsrf = await call(b, 'POST', '/api/cabinet/sessions/revoke-all', {}, { 'x-csrf-token': 'wrong' });
        assert.equal(noCsrf.statusCode, 403);
      });

      it("cannot revoke another account's session (404, as if it did not exist)", async () => {
        const other = await seedAccount(t.core);
        const make = await t.app.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ email: other.email, password: other.password, appId: other.appId }),
        });
        const sessionId = (await t.core.store.sessions.listActiveByAccount(other.accountId, clock.now()))[0]!.id;
        const b = await signIn();
        const res = await call(b, 'POST', `/api/cabinet/sessions/${sessionId}/revoke`, {});
        assert.equal(res.statusCode, 404);
        const check = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: make.json().data.accessToken } });
        assert.equal(check.statusCode, 200);
      });

      it('activity: the audit log of the account, newest first, filterable by type, paged', async () => {
        const b = await signIn();
        const all = (await call(b, 'GET', '/api/cabinet/activity')).json();
        assert.ok(all.items.length > 0);
        assert.ok(all.items.every((e: { id: number }, i: number, a: { id: number }[]) => i === 0 || a[i - 1]!.id > e.id));
        const signIns = (await call(b, 'GET', '/api/cabinet/activity?type=console.signed_in')).json();
        assert.ok(signIns.items.length > 0);
        assert.ok(signIns.items.every((e: { type: string }) => e.type === 'console.signed_in'));
        const page = (await call(b, 'GET', '/api/cabinet/activity?limit=2')).json();
        assert.equal(page.items.length, 2);
        const next = (await call(b, 'GET', `/api/cabinet/activity?limit=2&before=${page.nextBefore}`)).json();
        assert.ok(next.items[0].id < page.items[1].id);
        const bad = await call(b, 'GET', '/api/cabinet/activity?type=DROP%20TABLE');
        assert.equal(bad.statusCode, 400);
        const unknownParam = await call(b, 'GET', '/api/cabinet/activity?foo=1');
        assert.equal(unknownParam.statusCode, 400);
        assert.ok(!JSON.stringify(all).includes(user.password));
      });

      it("usage: today's tokens.make per app against the limit, and token checks per day", async () => {
        const fresh = await seedAccount(t.core);
        const b = await signIn(fresh.email, fresh.password);
        const make = await t.app.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ email: fresh.email, password: fresh.password, appId: fresh.appId }),
        });
        assert.equal(make.statusCode, 200);
        const created = (await call(b, 'POST', '/api/cabinet/api-tokens', { format: 'v3' })).json();
        for (let i = 0; i < 3; i++) assert.equal((await t.core.apiTokens.verify(created.token)).ok, true);
        const check = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: make.json().data.accessToken } });
        assert.equal(check.statusCode, 200);
        const failed = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: 'tda_nope' } });
        assert.equal(failed.statusCode, 401, 'a failed check is not counted');
        const usage = (await call(b, 'GET', '/api/cabinet/usage')).json();
        assert.equal(usage.dailyMakeLimit, 3);
        assert.deepEqual(usage.apps.map((a: { appId: string; used: number }) => [a.appId, a.used]), [[fresh.appId, 1]]);
        assert.equal(usage.checks.length, 14);
        assert.equal(usage.checks.at(-1).count, 4, 'counted in memory before any flush');
        await t.core.usage.flush();
        const flushed = (await call(b, 'GET', '/api/cabinet/usage?days=7')).json();
        assert.equal(flushed.checks.length, 7);
        assert.equal(flushed.checks.at(-1).count, 4, 'the same figure once written');
        assert.equal(await t.core.store.counters.get(`checks:${fresh.accountId}`, flushed.checks.at(-1).day), 4);
      });

      it('API tokens: created v3 / l3 / native, shown once, listed by hint only', async () => {
        const b = await signIn();
        for (const format of ['v3', 'l3', 'native'] as const) {
          const res = await call(b, 'POST', '/api/cabinet/api-tokens', { format, label: `ci ${format}` });
          assert.equal(res.statusCode, 201, res.body);
          const { token, apiToken } = res.json();
          if (format === 'v3') assert.match(token, /^[0-9a-f]{32}$/);
          if (format === 'l3') assert.match(token, new RegExp(`^${user.accountId}-API:[0-9a-f]{32}$`));
          if (format === 'native') assert.match(token, /^tdo_/);
          assert.equal(apiToken.status, 'active');
          assert.equal((await t.core.apiTokens.verify(token)).ok, true);
          const list = await call(b, 'GET', '/api/cabinet/api-tokens');
          assert.ok(!list.body.includes(token), 'a token is never listed');
          assert.ok(list.json().items.some((i: { id: string; hint: string }) => i.id === apiToken.id && token.endsWith(i.hint.slice(-4))));
        }
        const bad = await call(b, 'POST', '/api/cabinet/api-tokens', { format: 'v4' });
        assert.equal(bad.statusCode, 400);
      });

      it('API tokens: rotate with a grace period (both work) and without (the old one stops), revoke', async () => {
        let b = await signIn();
        const { token: first, apiToken } = (await call(b, 'POST', '/api/cabinet/api-tokens', { format: 'v3', label: 'rotating' })).json();
        const graced = await call(b, 'POST', `/api/cabinet/api-tokens/${apiToken.id}/rotate`, { graceSeconds: 3600 });
        assert.equal(graced.statusCode, 200, graced.body);
        const second = graced.json();
        assert.equal(second.previous.status, 'grace');
        assert.equal((await t.core.apiTokens.verify(first)).ok, true, 'the old token works during the grace period');
        assert.equal((await t.core.apiTokens.verify(second.token)).ok, true);
        const twice = await call(b, 'POST', `/api/cabinet/api-tokens/${apiToken.id}/rotate`, { graceSeconds: 0 });
        assert.equal(twice.statusCode, 409);
        assert.equal(twice.json().error.code, 'not_active');
        clock.advance(3600_000);
        assert.equal((await t.core.apiTokens.verify(first)).ok, false, 'and stops after it');

        b = await signIn(); // an hour idle ended the console sign-in
        const rotated = await call(b, 'POST', `/api/cabinet/api-tokens/${second.apiToken.id}/rotate`, {});
        assert.equal(rotated.statusCode, 200, rotated.body);
        const third = rotated.json();
        assert.equal((await t.core.apiTokens.verify(second.token)).ok, false, 'no grace: the old token stops at once');
        assert.equal((await t.core.apiTokens.verify(third.token)).ok, true);

        const revoked = await call(b, 'POST', `/api/cabinet/api-tokens/${third.apiToken.id}/revoke`);
        assert.equal(revoked.statusCode, 200);
        assert.equal((await t.core.apiTokens.verify(third.token)).ok, false);
        const listed = (await call(b, 'GET', '/api/cabinet/api-tokens')).json().items.find((i: { id: string }) => i.id === third.apiToken.id);
        assert.equal(listed.status, 'revoked');
      });

      it("API tokens: another account's token cannot be rotated or revoked", async () => {
        const other = await seedAccount(t.core);
        const theirs = await t.core.apiTokens.create({ accountId: other.accountId, format: 'v3' }, { address: 'test' });
        const b = await signIn();
        assert.equal((await call(b, 'POST', `/api/cabinet/api-tokens/${theirs.apiToken.id}/rotate`, {})).statusCode, 404);
        assert.equal((await call(b, 'POST', `/api/cabinet/api-tokens/${theirs.apiToken.id}/revoke`, {})).statusCode, 404);
        assert.equal((await t.core.apiTokens.verify(theirs.token)).ok, true);
      });
    });

    describe('service accounts', () => {
      it('create with actions, create a key (Secret Key shown once), obtain tokens with it, revoke it', async () => {
        const b = await signIn();
        const created = await call(b, 'POST', '/api/cabinet/service-accounts', { name: 'DNS robot', actions: ['dns_orders_list', ' dns_orders_list', 'cloud:read'] });
        assert.equal(created.statusCode, 201, created.body);
        const sa = created.json();
        assert.deepEqual(sa.actions, ['dns_orders_list', 'cloud:read']);
        assert.deepEqual(sa.keys, []);

        const keyRes = await call(b, 'POST', `/api/cabinet/service-accounts/${sa.id}/keys`, { expiresInDays: 90 });
        assert.equal(keyRes.statusCode, 201, keyRes.body);
        const { accessKey, secretKey, key } = keyRes.json();
        assert.match(secretKey, /^tds_/);
        assert.equal(key.expiresAt, clock.now() + 90 * 86_400_000);
        const list = await call(b, 'GET', '/api/cabinet/service-accounts');
        assert.ok(!list.body.includes(secretKey), 'the Secret Key is never listed');
        const listed = list.json().items.find((i: { id: number }) => i.id === sa.id);
        assert.equal(listed.keys[0].accessKey, accessKey);
        assert.equal(listed.keys[0].status, 'active');

        const tokens = await t.core.serviceAccounts.createTokens({ accessKey, secretKey }, { address: 'test' });
        assert.equal(tokens.ok, true);
        const revoked = await call(b, 'POST', `/api/cabinet/service-accounts/${sa.id}/keys/${key.id}/revoke`);
        assert.equal(revoked.statusCode, 200, revoked.body);
        assert.equal((await t.core.serviceAccounts.createTokens({ accessKey, secretKey }, { address: 'test' })).ok, false);
        const again = await call(b, 'POST', `/api/cabinet/service-accounts/${sa.id}/keys/${key.id}/revoke`);
        assert.equal(again.statusCode, 409);
      });

      it('disable and enable; bad actions are a validation error on the field', async () => {
        const b = await signIn();
        const sa = (await call(b, 'POST', '/api/cabinet/service-accounts', { name: 'temp', actions: ['a'] })).json();
        const disabled = await call(b, 'POST', `/api/cabinet/service-accounts/${sa.id}/disable`);
        assert.equal(disabled.json().status, 'disabled');
        const enabled = await call(b, 'POST', `/api/cabinet/service-accounts/${sa.id}/enable`, {});
        assert.equal(enabled.json().status, 'active');
        const bad = await call(b, 'POST', '/api/cabinet/service-accounts', { name: 'bad', actions: ['no spaces allowed'] });
        assert.equal(bad.statusCode, 400);
        assert.equal(bad.json().error.fields[0].name, 'actions');
        const none = await call(b, 'POST', '/api/cabinet/service-accounts', { name: 'bad', actions: [] });
        assert.equal(none.statusCode, 400);
      });

      it("another account's service account and keys answer 404", async () => {
        const other = await seedAccount(t.core);
        const sa = await t.core.serviceAccounts.create({ accountId: other.accountId, name: 'theirs', actions: ['x'] }, { address: 'test' });
        const { key } = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, { address: 'test' });
        const b = await signIn();
        assert.equal((await call(b, 'POST', `/api/cabinet/service-accounts/${sa.id}/keys`, {})).statusCode, 404);
        assert.equal((await call(b, 'POST', `/api/cabinet/service-accounts/${sa.id}/keys/${key.id}/revoke`)).statusCode, 404);
        assert.equal((await call(b, 'POST', `/api/cabinet/service-accounts/${sa.id}/disable`)).statusCode, 404);
        assert.equal((await t.core.serviceAccounts.getKey(key.id))?.revokedAt, null);
      });
    });

    describe('admin API', () => {
      it('signing keys: listed with their state, rotated (the new key is published before it signs)', async () => {
        const op = await operator();
        const before = (await call(op, 'GET', '/api/admin/signing-keys')).json();
        assert.ok(before.items.length >= 1);
        const active = before.items.find((k: { state: string }) => k.state === 'active');
        assert.ok(active && active.published && active.signing);
        const rotated = await call(op, 'POST', '/api/admin/signing-keys/rotate');
        assert.equal(rotated.statusCode, 200, rotated.body);
        const { key, previous } = rotated.json();
        assert.equal(key.published, true);
        assert.equal(previous.kid, active.kid);
        const jwks = await t.core.signing.jwks();
        const kids = jwks.keys.map((k) => k.kid);
        assert.ok(kids.includes(key.kid) && kids.includes(active.kid));
        const after = (await call(op, 'GET', '/api/admin/signing-keys')).json();
        assert.equal(after.items[0].kid, key.kid, 'newest first');
      });

      it('needs the admin token: Bearer, or an operator console sign-in', async () => {
        assert.equal((await call(null, 'GET', '/api/admin/accounts')).statusCode, 401);
        const wrong = await call(null, 'GET', '/api/admin/accounts', undefined, { authorization: 'Bearer not-the-admin-token' });
        assert.equal(wrong.statusCode, 401);
        const bearer = await call(null, 'GET', '/api/admin/accounts', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
        assert.equal(bearer.statusCode, 200, bearer.body);
        const badSignIn = await call(null, 'POST', '/api/admin/session', { token: 'not-the-admin-token' });
        assert.equal(badSignIn.statusCode, 401);
        const op = await operator();
        assert.equal((await call(op, 'GET', '/api/admin/accounts')).statusCode, 200);
        const account = await signIn();
        const crossed = await call({ cookie: account.cookie!.replace('tokend_cabinet', 'tokend_operator'), csrf: account.csrf }, 'GET', '/api/admin/accounts');
        assert.equal(crossed.statusCode, 401, 'an account sign-in is not an operator sign-in');
      });

      it('accounts: create, list with a filter, disable (sign-ins end, logins fail) and enable', async () => {
        const op = await operator();
        const email = `ops-${Date.now()}@example.com`;
        const created = await call(op, 'POST', '/api/admin/accounts', { email, password: 'correct horse battery', name: 'Ops' });
        assert.equal(created.statusCode, 201, created.body);
        const account = created.json();
        assert.equal(account.email, email);
        const dup = await call(op, 'POST', '/api/admin/accounts', { email, password: 'correct horse battery' });
        assert.equal(dup.statusCode, 400);
        assert.equal(dup.json().error.fields[0].name, 'email');
        const weak = await call(op, 'POST', '/api/admin/accounts', { email: `w${email}`, password: 'short' });
        assert.equal(weak.statusCode, 400);
        assert.equal(weak.json().error.fields[0].name, 'password');

        const found = (await call(op, 'GET', `/api/admin/accounts?q=${encodeURIComponent(email.slice(0, 12))}`)).json();
        assert.deepEqual(found.items.map((a: { id: number }) => a.id), [account.id]);
        const underscore = (await call(op, 'GET', '/api/admin/accounts?q=_')).json();
        assert.ok(underscore.items.every((a: { email: string }) => a.email.includes('_')), 'LIKE wildcards are literal');

        const cabinet = await signIn(email, 'correct horse battery');
        const noCsrf = await call({ ...op, csrf: null }, 'POST', `/api/admin/accounts/${account.id}/disable`);
        assert.equal(noCsrf.statusCode, 403);
        const disabled = await call(op, 'POST', `/api/admin/accounts/${account.id}/disable`);
        assert.equal(disabled.statusCode, 200, disabled.body);
        assert.equal(disabled.json().status, 'disabled');
        assert.equal((await call(cabinet, 'GET', '/api/cabinet/me')).statusCode, 401, 'its console sign-in ended');
        const again = await call(null, 'POST', '/api/cabinet/session', { email, password: 'correct horse battery' });
        assert.equal(again.statusCode, 403);
        assert.equal(again.json().error.code, 'account_disabled');
        const enabled = await call(op, 'POST', `/api/admin/accounts/${account.id}/enable`, {});
        assert.equal(enabled.json().status, 'active');
        await signIn(email, 'correct horse battery');
        assert.equal((await call(op, 'POST', '/api/admin/accounts/999999999/disable', {})).statusCode, 404);
      });

      it('settings: every setting, secrets only as set / not set', async () => {
        const res = await call(null, 'GET', '/api/admin/settings', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
        assert.equal(res.statusCode, 200);
        const body = res.json();
        assert.equal(body.database, db);
        const admin = body.items.find((s: { env: string }) => s.env === 'TOKEND_ADMIN_TOKEN');
        assert.equal(admin.value, null);
        assert.equal(admin.set, true);
        assert.ok(!res.body.includes(ADMIN_TOKEN));
        if (t.db.url) assert.ok(!res.body.includes(t.db.url));
        const limit = body.items.find((s: { env: string }) => s.env === 'TOKEND_CHATAPP_DAILY_MAKE_LIMIT');
        assert.equal(limit.value, '3');
        assert.equal(limit.isDefault, false);
      });

      it('a Bearer call needs no CSRF token (no cookie, nothing a browser sends by itself)', async () => {
        const res = await call(null, 'POST', '/api/admin/accounts', { email: `bearer-${Date.now()}@example.com`, password: 'long enough pw' }, {
          authorization: `Bearer ${ADMIN_TOKEN}`,
        });
        assert.equal(res.statusCode, 201, res.body);
      });
    });

    describe('store', () => {
      it('counters: add() batches, series() reads the windows of a scope in order', async () => {
        const scope = `checks:test-${Date.now()}`;
        assert.equal(await t.core.store.counters.add(scope, 86_400_000, 5, 9e12), 5);
        assert.equal(await t.core.store.counters.add(scope, 86_400_000, 7, 9e12), 12);
        await t.core.store.counters.add(scope, 3 * 86_400_000, 1, 9e12);
        await t.core.store.counters.add(`${scope}x`, 3 * 86_400_000, 1, 9e12);
        assert.deepEqual(await t.core.store.counters.series(scope, 0), [
          { windowStart: 86_400_000, count: 12 },
          { windowStart: 3 * 86_400_000, count: 1 },
        ]);
        assert.deepEqual(await t.core.store.counters.series(scope, 2 * 86_400_000), [{ windowStart: 3 * 86_400_000, count: 1 }]);
      });

      it('console sessions: touch never moves backwards; revoke once; purge removes only the expired', async () => {
        const repo = t.core.store.consoleSessions;
        const base = { kind: 'account' as const, accountId: user.accountId, createdAt: 1000, revokedAt: null, address: null, userAgent: null };
        await repo.insert({ ...base, id: 'a'.repeat(64), lastSeenAt: 1000, expiresAt: 5000 });
        await repo.insert({ ...base, id: 'b'.repeat(64), lastSeenAt: 1000, expiresAt: 9e12 });
        await repo.touch('a'.repeat(64), 3000);
        await repo.touch('a'.repeat(64), 2000);
        assert.equal((await repo.find('a'.repeat(64)))?.lastSeenAt, 3000);
        assert.equal(await repo.revoke('b'.repeat(64), 4000), true);
        assert.equal(await repo.revoke('b'.repeat(64), 4001), false);
        assert.equal((await repo.find('b'.repeat(64)))?.revokedAt, 4000);
        assert.ok((await repo.purgeExpired(6000)) >= 1);
        assert.equal(await repo.find('a'.repeat(64)), null);
        assert.ok(await repo.find('b'.repeat(64)));
      });
    });

    it('never logs a password, a cookie token or a new API token', async () => {
      const res = await call(null, 'POST', '/api/cabinet/session', { email: user.email, password: user.password });
      const b = { cookie: `tokend_cabinet=${cookieFrom(res, 'tokend_cabinet')!.value}`, csrf: res.json().csrfToken as string };
      const { token } = (await call(b, 'POST', '/api/cabinet/api-tokens', { format: 'native' })).json();
      const logs = t.logs.join('\n');
      for (const secret of [user.password, cookieFrom(res, 'tokend_cabinet')!.value, token, ADMIN_TOKEN, b.csrf]) {
        assert.ok(!logs.includes(secret), 'a secret reached the logs');
      }
    });
  });
}

describe('console static files', () => {
  async function serve(distDir: string): Promise<import('fastify').FastifyInstance> {
    const { default: Fastify } = await import('fastify');
    const { registerConsoleStatic } = await import('../src/http/native/console-static.ts');
    const app = Fastify();
    await app.register(async (scope) => registerConsoleStatic(scope, { distDir }));
    await app.ready();
    return app;
  }

  it('serves the built console: index for every page, hashed assets cached for good, a strict CSP, 404 for a missing file', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'tokend-console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    const app = await serve(dir);
    try {
      const root = await app.inject({ method: 'GET', url: '/' });
      assert.equal(root.statusCode, 302);
      assert.equal(root.headers.location, '/console/');
      for (const url of ['/console/', '/console/api-tokens', '/console/admin/accounts']) {
        const res = await app.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 200, url);
        assert.match(res.body, /<title>console<\/title>/);
        assert.match(String(res.headers['content-security-policy']), /default-src 'self'.*script-src 'self'/);
        assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['x-frame-options'], 'DENY');
      }
      const asset = await app.inject({ method: 'GET', url: '/console/assets/index-abc123.js' });
      assert.equal(asset.statusCode, 200);
      assert.match(String(asset.headers['cache-control']), /immutable/);
      const missing = await app.inject({ method: 'GET', url: '/console/assets/index-zzz.js' });
      assert.equal(missing.statusCode, 404);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a build, says how to make one instead of failing', async () => {
    const app = await serve('/nonexistent/tokend-console-dist/');
    try {
      const res = await app.inject({ method: 'GET', url: '/console/' });
      assert.equal(res.statusCode, 503);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(res.body, /npm run build:console/);
      assert.equal((await app.inject({ method: 'GET', url: '/console/usage' })).statusCode, 503);
    } finally {
      await app.close();
    }
  });
});
