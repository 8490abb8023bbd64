/** ChatApp dialect: every field, header, status and code, on SQLite and PostgreSQL. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

for (const db of databases()) {
  describe(`ChatApp dialect wire (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let user: Awaited<ReturnType<typeof seedAccount>>;

    before(async () => {
      t = await startTokend({ db, clock });
      user = await seedAccount(t.core);
    });
    after(async () => t.close());

    async function make(body: unknown, headers: Record<string, string> = JSON_HEADERS) {
      return t.app.inject({ method: 'POST', url: '/v1/tokens', headers, payload: typeof body === 'string' ? body : JSON.stringify(body) });
    }
    const creds = () => ({ email: user.email, password: user.password, appId: user.appId });

    it('tokens.make returns the pair with 24 h / 14 d end times in unix seconds', async () => {
      const nowS = Math.floor(clock.now() / 1000);
      const res = await make(creds());
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = res.json();
      assert.deepEqual(Object.keys(body), ['success', 'data']);
      assert.equal(body.success, true);
      assert.deepEqual(Object.keys(body.data).sort(), ['accessToken', 'accessTokenEndTime', 'cabinetUserId', 'refreshToken', 'refreshTokenEndTime']);
      assert.equal(body.data.cabinetUserId, user.accountId);
      assert.equal(typeof body.data.cabinetUserId, 'number');
      assert.match(body.data.accessToken, /^tda_[0-9A-Za-z]{33}$/);
      assert.match(body.data.refreshToken, /^tdr_[0-9A-Za-z]{33}$/);
      assert.equal(body.data.accessTokenEndTime, nowS + 24 * 3600);
      assert.equal(body.data.refreshTokenEndTime, nowS + 14 * 86400);
    });

    it('tokens.make accepts a form body, and ignores unknown fields', async () => {
      const form = new URLSearchParams({ ...creds(), clientVersion: '1.2.3' }).toString();
      const res = await make(form, { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(res.statusCode, 200, res.body);
      const res2 = await make({ ...creds(), extra: { nested: true } });
      assert.equal(res2.statusCode, 200, res2.body);
    });

    it('tokens.check answers cabinetUserId, appId, accessTokenEndTime for a raw or Bearer token', async () => {
      const { data } = (await make(creds())).json();
      for (const authorization of [data.accessToken, `Bearer ${data.accessToken}`]) {
        const res = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization } });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.json(), {
          success: true,
          data: { cabinetUserId: user.accountId, appId: user.appId, accessTokenEndTime: data.accessTokenEndTime },
        });
      }
    });

    it('tokens.check: missing, malformed, unknown or expired token is ApiInvalidTokenError / Invalid Token, 401', async () => {
      const { data } = (await make(creds())).json();
      const cases: Record<string, string | undefined> = {
        missing: undefined,
        malformed: 'not-a-token',
        badChecksum: data.accessToken.slice(0, -1) + (data.accessToken.endsWith('a') ? 'b' : 'a'),
        refreshTokenInstead: data.refreshToken,
        huge: 'tda_' + 'a'.repeat(5000),
      };
      for (const [name, authorization] of Object.entries(cases)) {
        const res = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: authorization ? { authorization } : {} });
        assert.equal(res.statusCode, 401, name);
        assert.deepEqual(res.json(), { success: false, error: { code: 'ApiInvalidTokenError', message: 'Invalid Token' } }, name);
      }
      clock.advance(24 * 3600_000);
      const expired = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: data.accessToken } });
      assert.equal(expired.statusCode, 401);
      assert.equal(expired.json().error.code, 'ApiInvalidTokenError');
    });

    it('tokens.refresh rotates both tokens; the old pair stops working at once', async () => {
      const first = (await make(creds())).json().data;
      const res = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: first.refreshToken } });
      assert.equal(res.statusCode, 200, res.body);
      const second = res.json().data;
      assert.equal(second.cabinetUserId, user.accountId);
      assert.notEqual(second.accessToken, first.accessToken);
      assert.notEqual(second.refreshToken, first.refreshToken);
      const nowS = Math.floor(clock.now() / 1000);
      assert.equal(second.accessTokenEndTime, nowS + 86400);
      assert.equal(second.refreshTokenEndTime, nowS + 14 * 86400);
      const oldCheck = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: first.accessToken } });
      assert.equal(oldCheck.statusCode, 401);
      const newCheck = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: second.accessToken } });
      assert.equal(newCheck.statusCode, 200);
      const again = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: first.refreshToken } });
      assert.equal(again.statusCode, 401);
      assert.equal(again.json().error.code, 'ApiInvalidRefreshTokenError');
    });

    it('tokens.refresh ignores the body: none, an empty form, JSON [] and even malformed JSON', async () => {
      let rt = (await make(creds())).json().data.refreshToken as string;
      const variants = [
        { headers: {}, payload: undefined },
        { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' },
        { headers: { 'content-type': 'application/json' }, payload: '[]' },
        { headers: { 'content-type': 'application/json' }, payload: '{"oops":' },
        { headers: { 'content-type': 'text/plain' }, payload: 'hello' },
      ];
      for (const v of variants) {
        const res = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { ...v.headers, refresh: rt }, ...(v.payload !== undefined ? { payload: v.payload } : {}) });
        assert.equal(res.statusCode, 200, `${JSON.stringify(v)}: ${res.body}`);
        rt = res.json().data.refreshToken;
      }
    });

    it('tokens.refresh: missing, malformed or unknown refresh token is ApiInvalidRefreshTokenError, 401', async () => {
      const { data } = (await make(creds())).json();
      for (const refresh of [undefined, 'garbage', data.accessToken, 'tdr_' + 'A'.repeat(33)]) {
        const res = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: refresh ? { refresh } : {} });
        assert.equal(res.statusCode, 401);
        assert.equal(res.json().success, false);
        assert.equal(res.json().error.code, 'ApiInvalidRefreshTokenError');
        assert.equal('data' in res.json(), false);
      }
    });

    it('refresh tokens expire after 14 days: ApiRefreshTokenExpiredError', async () => {
      const { data } = (await make(creds())).json();
      clock.advance(14 * 86_400_000 + 1000);
      const res = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: data.refreshToken } });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error.code, 'ApiRefreshTokenExpiredError');
    });

    it('wrong password and unknown email get the same status and body', async () => {
      const wrong = await make({ ...creds(), password: 'definitely-wrong' });
      const unknown = await make({ email: 'nobody-here@example.com', password: 'definitely-wrong', appId: user.appId });
      assert.equal(wrong.statusCode, 401);
      assert.equal(unknown.statusCode, wrong.statusCode);
      assert.equal(unknown.body, wrong.body);
      assert.deepEqual(wrong.json(), { success: false, error: { code: 'ApiInvalidCredentialsError', message: 'Invalid email or password' } });
    });

    it('Lang: ru (or Accept-Language) picks the message language; the code never changes', async () => {
      const ru = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { lang: 'ru' } });
      assert.deepEqual(ru.json().error, { code: 'ApiInvalidTokenError', message: 'Недействительный токен' });
      const al = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { 'accept-language': 'ru-RU,ru;q=0.9,en;q=0.5' } });
      assert.equal(al.json().error.message, 'Недействительный токен');
      const en = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { lang: 'en', 'accept-language': 'ru' } });
      assert.equal(en.json().error.message, 'Invalid Token');
    });

    it('an app of another account, or an unknown appId, is ApiAppNotFoundError once the password is right', async () => {
      const other = await seedAccount(t.core);
      const res = await make({ ...creds(), appId: other.appId });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'ApiAppNotFoundError');
    });

    it('a disabled account cannot make, refresh or check', async () => {
      const u = await seedAccount(t.core);
      const { data } = (await make({ email: u.email, password: u.password, appId: u.appId })).json();
      await t.core.store.accounts.setStatus(u.accountId, 'disabled');
      const m = await make({ email: u.email, password: u.password, appId: u.appId });
      assert.equal(m.statusCode, 403);
      assert.equal(m.json().error.code, 'ApiAccountDisabledError');
      const c = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: data.accessToken } });
      assert.equal(c.statusCode, 401);
      const r = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: data.refreshToken } });
      assert.equal(r.statusCode, 403);
    });

    describe('bad input never gets a 500 and always the envelope', () => {
      const cases: { name: string; headers: Record<string, string>; payload: string | Buffer; status: number; code: string }[] = [
        { name: 'malformed JSON', headers: JSON_HEADERS, payload: '{"email":', status: 400, code: 'ApiBadRequestError' },
        { name: 'empty JSON body', headers: JSON_HEADERS, payload: '', status: 400, code: 'ApiBadRequestError' },
        { name: 'JSON array', headers: JSON_HEADERS, payload: '[]', status: 400, code: 'ApiValidationError' },
        { name: 'JSON null', headers: JSON_HEADERS, payload: 'null', status: 400, code: 'ApiValidationError' },
        { name: 'wrong types', headers: JSON_HEADERS, payload: '{"email":1,"password":true,"appId":[]}', status: 400, code: 'ApiValidationError' },
        { name: 'missing fields', headers: JSON_HEADERS, payload: '{}', status: 400, code: 'ApiValidationError' },
        { name: 'very long strings', headers: JSON_HEADERS, payload: JSON.stringify({ email: 'a'.repeat(100_00), password: 'x', appId: 'y' }), status: 400, code: 'ApiValidationError' },
        { name: 'prototype poisoning', headers: JSON_HEADERS, payload: '{"__proto__":{"x":1},"email":"a","password":"b","appId":"c"}', status: 400, code: 'ApiBadRequestError' },
        { name: 'wrong content type', headers: { 'content-type': 'text/plain' }, payload: 'email=a', status: 415, code: 'ApiUnsupportedMediaTypeError' },
        { name: 'multipart', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--', status: 415, code: 'ApiUnsupportedMediaTypeError' },
        { name: 'non-UTF-8 bytes', headers: JSON_HEADERS, payload: Buffer.from([0x7b, 0x22, 0x65, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), status: 400, code: 'ApiValidationError' },
        { name: 'duplicated form fields', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'email=a@b.c&email=d@e.f&password=x&appId=y', status: 400, code: 'ApiValidationError' },
      ];
      for (const c of cases) {
        it(c.name, async () => {
          const res = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: c.headers, payload: c.payload });
          assert.equal(res.statusCode, c.status, res.body);
          const body = res.json();
          assert.equal(body.success, false);
          assert.equal(body.error.code, c.code);
          assert.equal('data' in body, false);
          assert.doesNotMatch(res.body, /at .*\.ts:\d+|stack/i);
        });
      }

      it('validation errors name the failing fields', async () => {
        const res = await make({ email: 5, appId: 'x' });
        const names = res.json().error.fields.map((f: { name: string }) => f.name).sort();
        assert.deepEqual(names, ['email', 'password']);
        for (const f of res.json().error.fields) assert.deepEqual(Object.keys(f).sort(), ['code', 'message', 'name']);
      });

      it('a 10 MB body gets 413 in the envelope', async () => {
        const res = await make(JSON.stringify({ email: 'a'.repeat(10 * 1024 * 1024) }));
        assert.equal(res.statusCode, 413);
        assert.equal(res.json().error.code, 'ApiPayloadTooLargeError');
      });

      it('a token in the query string is refused, and nothing is done with it', async () => {
        const { data } = (await make(creds())).json();
        for (const url of [
          `/v1/tokens/check?accessToken=${data.accessToken}`,
          `/v1/tokens/check?x=${data.accessToken}`,
          `/v1/tokens/refresh?refresh=${data.refreshToken}`,
          `/v1/tokens?password=secret`,
        ]) {
          const res = await t.app.inject({ method: url.includes('check') ? 'GET' : 'POST', url });
          assert.equal(res.statusCode, 400, url);
          assert.equal(res.json().error.code, 'ApiTokenInQueryError');
        }
        // The refresh token in that URL was not used: it still rotates.
        const ok = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: data.refreshToken } });
        assert.equal(ok.statusCode, 200);
      });

      it('unknown routes under /v1 answer in the ChatApp envelope', async () => {
        const res = await t.app.inject({ method: 'GET', url: '/v1/nope' });
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), { success: false, error: { code: 'ApiNotFoundError', message: 'Method not found' } });
      });

      it('no record changes on a rejected request', async () => {
        const before = await t.core.store.audit.list({ limit: 1000 });
        await make('{"email":');
        await make({ email: 1 });
        const afterEvents = await t.core.store.audit.list({ limit: 1000 });
        assert.equal(afterEvents.length, before.length);
      });
    });
  });
}
