/**
 * Failures raised by the framework before any route or hook runs still get the envelope of the
 * surface the path belongs to, `no-store`, and never echo the request (SPEC 8). Each case here was
 * found by test/fuzz.test.ts and is kept as a regression test.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { newToken } from '../src/secrets/tokens.ts';
import { checkResponse } from './helpers/envelopes.ts';
import { sendRaw } from './helpers/fuzz.ts';
import { databases, startTokend, type TestTokend } from './helpers/harness.ts';

for (const db of databases()) {
  describe(`framework failures in the surface's envelope (${db})`, () => {
    let t: TestTokend;
    before(async () => {
      t = await startTokend({ db, listen: true });
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
