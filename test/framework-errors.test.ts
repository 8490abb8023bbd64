/**
 * Failures raised by the framework before any route or hook runs still get the envelope of the
 * surface the path belongs to, `no-store`, and never echo the request. Each case here was
 * found by the fuzz pass (test/helpers/fuzz-suite.ts) and is kept as a regression test.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { newToken } from '../src/secrets/tokens.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { checkResponse } from './helpers/envelopes.ts';
import { sendRaw } from './helpers/fuzz.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

for (const db of databases()) {
  describe(`framework failures in the surface's envelope (${db})`, () => {
    let t: TestTokend;
    before(async () => {
      t = await startTokend({ db, listen: true, config: { adminToken: testAdminToken() } });
    });
    after(async () => t.close());

    it('a path that cannot be percent-decoded: 404 in the envelope, the URL (and a token in it) not echoed', async () => {
      const token = newToken('access').token;
      for (const url of [`/v1/tokens/%ff?x=${token}`, `/token/info/%ff?q=${token}`, `/v3/security/%?t=${token}`, `/api/cabinet/apps%ff?token=${token}`, '/%ff']) {
        const res = await t.app.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
        assert.equal(checkResponse({ method: 'GET', url }, { status: res.statusCode, headers: res.headers, body: res.body }), null, url);
        assert.ok(!res.body.includes(token) && !res.body.includes('%ff'), `${url} echoed: ${res.body}`);
      }
    });

    it('a path parameter over the router limit: 404 in the envelope, not a 414 or a 500', async () => {
      const url = `/api/cabinet/api-tokens/${'x'.repeat(5000)}/revoke`;
      const res = await t.app.inject({ method: 'POST', url, payload: {} });
      assert.equal(res.statusCode, 404, res.body);
      assert.deepEqual(res.json(), { error: { code: 'not_found', message: 'Not found' } });
    });

    it('a static path the file server refuses: 404, not a 500', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/docs/static/index.html//' });
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(checkResponse({ method: 'GET', url: '/docs/static/index.html//' }, { status: res.statusCode, headers: res.headers, body: res.body }), null);
    });

    it('a NUL character anywhere in the input: a validation error in the envelope on both databases, not a 500', async () => {
      const u = await seedAccount(t.core);
      const cases: { url: string; payload?: unknown; method?: 'GET' | 'POST'; code: string }[] = [
        { url: '/v1/tokens', payload: { email: `a\u0000${u.email}`, password: u.password, appId: u.appId }, code: 'ApiValidationError' },
        { url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId, client: { v: 'x\u0000' } }, code: 'ApiValidationError' },
        { url: '/api/cabinet/session', payload: { email: `${u.email}\u0000`, password: 'x' }, code: 'validation_failed' },
        { url: '/oauth2/introspect', payload: { token: 'a\u0000b' }, code: 'invalid_request' },
        { url: '/v1/tokens/check?lang=%00', method: 'GET', code: 'ApiValidationError' },
      ];
      const headers = { authorization: `Bearer ${t.config.adminToken}` };
      for (const c of cases) {
        const res = await t.app.inject({ method: c.method ?? 'POST', url: c.url, headers, ...(c.payload ? { payload: c.payload as object } : {}) });
        assert.equal(res.statusCode, 400, `${c.url}: ${res.body}`);
        const body = res.json();
        assert.equal(body.error?.code ?? body.error, c.code, res.body);
        assert.equal(checkResponse({ method: c.method ?? 'POST', url: c.url }, { status: res.statusCode, headers: res.headers, body: res.body }), null);
      }
      // The account can still sign in: nothing was stored or counted for the NUL-bearing email.
      const ok = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
      assert.equal(ok.statusCode, 200, ok.body);
    });

    it('a record id beyond 2^31 - 1 in a console path or cursor: a validation error, not a database error', async () => {
      const admin = { authorization: `Bearer ${t.config.adminToken}` };
      for (const [method, url] of [
        ['POST', '/api/admin/accounts/2147483648/disable'],
        ['POST', '/api/admin/accounts/999999999999999/enable'],
        ['GET', '/api/admin/accounts?before=4294967296'],
      ] as const) {
        const res = await t.app.inject({ method, url, headers: admin, ...(method === 'POST' ? { payload: {} } : {}) });
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        assert.equal(res.json().error.code, 'validation_failed');
      }
      const ok = await t.app.inject({ method: 'POST', url: '/api/admin/accounts/2147483647/disable', headers: admin, payload: {} });
      assert.equal(ok.statusCode, 404, ok.body);
    });

    it('a body cut short, and a URL longer than the header limit: the envelope of the path, over a real socket', async () => {
      const port = Number(new URL(t.url).port);
      const cut = await sendRaw(
        port,
        Buffer.from('POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\nConnection: close\r\n\r\n{"email":"a'),
        { endAfterWrite: true },
      );
      assert.ok(cut, 'no answer to a body cut short');
      assert.equal(cut.status, 400);
      assert.equal(JSON.parse(cut.body).error.code, 'ApiBadRequestError');
      const long = await sendRaw(port, Buffer.from(`GET /token/info/access?${'a'.repeat(t.config.maxHeaderSize + 10)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      assert.ok(long, 'no answer to an oversized URL');
      assert.equal(long.status, 431);
      assert.equal(JSON.parse(long.body).httpCode, 431, long.body);
    });
  });
}
