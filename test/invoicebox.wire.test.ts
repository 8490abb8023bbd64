/** Invoicebox dialect as the Invoicebox documentation shows it: every answer of the auth check, on SQLite and PostgreSQL. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { DEMO, seedDemo } from '../src/cli/demo.ts';
import { ManualClock } from '../src/core/clock.ts';
import { invoiceboxFailure } from '../src/http/dialects/invoicebox/envelope.ts';
import { checkResponse } from './helpers/envelopes.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const PATHS = ['/v3/security/api/auth/auth', '/l3/security/api/auth/auth'] as const;
const UNAUTHORIZED = { error: { message: 'Unauthorized', code: 'unauthorized' } };
const ANONYMOUS = { data: { userId: null, profile: null, accessToken: null }, extendedData: [] };
const SEED_HEADERS = { accept: 'application/json', 'user-agent': 'MyApp 1.0' };

for (const db of databases()) {
  describe(`Invoicebox dialect wire (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let user: Awaited<ReturnType<typeof seedAccount>>;

    before(async () => {
      t = await startTokend({ db, clock });
      await seedDemo(t.core);
      user = await seedAccount(t.core);
    });
    after(async () => t.close());

    async function check(url: string, authorization?: string, extra: Record<string, string> = {}) {
      const res = await t.app.inject({ method: 'GET', url, headers: { ...SEED_HEADERS, ...extra, ...(authorization !== undefined ? { authorization } : {}) } });
      assert.match(String(res.headers['content-type']), /^application\/json\b/, `${url}: every answer is JSON`);
      assert.equal(res.headers['cache-control'], 'no-store');
      const problem = checkResponse({ method: 'GET', url }, { status: res.statusCode, headers: res.headers, body: res.body });
      assert.equal(problem, null, problem ?? '');
      return res;
    }

    it("the Invoicebox documentation's example: the demo v3 token answers 200 with the sample userId, exactly", async () => {
      const res = await check(PATHS[0], `Bearer ${DEMO.v3Token}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, `{"data":{"userId":"${DEMO.accountUid}","profile":null,"accessToken":null},"extendedData":[]}`);
      assert.equal(DEMO.accountUid, '01771533-8e75-3234-8e3d-9213ae2d7c52');
    });

    it('the demo l3 token (29078-API:…) works too, on both paths; so does v3 on /l3', async () => {
      for (const path of PATHS) {
        for (const token of [DEMO.v3Token, DEMO.l3Token]) {
          const res = await check(path, `Bearer ${token}`);
          assert.equal(res.statusCode, 200, `${path} ${token}`);
          assert.equal(res.json().data.userId, DEMO.accountUid);
        }
      }
    });

    it('every format tokend issues (v3, l3, native) is accepted on both paths, with the account UUID', async () => {
      for (const format of ['v3', 'l3', 'native'] as const) {
        const { token } = await t.core.apiTokens.create({ accountId: user.accountId, format }, { address: 'test' });
        for (const path of PATHS) {
          const res = await check(path, `Bearer ${token}`);
          assert.equal(res.statusCode, 200, `${format} on ${path}`);
          const body = res.json();
          assert.deepEqual(body, { data: { userId: user.uid, profile: null, accessToken: null }, extendedData: [] });
          assert.ok(!('error' in body), 'a success never has an `error` key');
        }
      }
    });

    it('the bearer scheme is case-insensitive and surrounding spaces are ignored', async () => {
      for (const authorization of [`bearer ${DEMO.v3Token}`, `BEARER   ${DEMO.v3Token}  `]) {
        assert.equal((await check(PATHS[0], authorization)).statusCode, 200, authorization);
      }
    });

    it('no Authorization header: 200 with the anonymous user, exactly', async () => {
      for (const path of PATHS) {
        const res = await check(path);
        assert.equal(res.statusCode, 200);
        assert.equal(res.body, '{"data":{"userId":null,"profile":null,"accessToken":null},"extendedData":[]}');
        assert.deepEqual(res.json(), ANONYMOUS);
      }
    });

    it('invalid tokens of every kind: 401 with exactly {"error":{"message":"Unauthorized","code":"unauthorized"}}', async () => {
      const native = (await t.core.apiTokens.create({ accountId: user.accountId, format: 'native' }, { address: 'test' })).token;
      const l3 = (await t.core.apiTokens.create({ accountId: user.accountId, format: 'l3' }, { address: 'test' })).token;
      const flip = (s: string) => s.slice(0, -1) + (s.endsWith('a') ? 'b' : 'a');
      const cases: Record<string, string> = {
        unknownV3: 'Bearer 0123456789abcdef0123456789abcdef',
        upperCaseHex: `Bearer ${DEMO.v3Token.toUpperCase()}`,
        tooShort: `Bearer ${DEMO.v3Token.slice(1)}`,
        garbage: 'Bearer not-a-token',
        nativeBadChecksum: `Bearer ${flip(native)}`,
        l3UnderAnotherAccount: `Bearer ${l3.replace(/^\d+-/, `${user.accountId + 1}-`)}`,
        l3DemoUnderAnotherNumber: `Bearer 29079-API:${DEMO.v3Token}`,
        basicScheme: 'Basic dXNlcjpwYXNz',
        bearerWithoutToken: 'Bearer',
        bearerBlank: 'Bearer    ',
        sessionTokenInstead: 'Bearer tda_0000000000000000000000000000000000',
        huge: `Bearer ${'a'.repeat(5000)}`,
      };
      for (const [name, authorization] of Object.entries(cases)) {
        for (const path of PATHS) {
          const res = await check(path, authorization);
          assert.equal(res.statusCode, 401, `${name} on ${path}`);
          assert.equal(res.body, JSON.stringify(UNAUTHORIZED), name);
          assert.equal(res.headers['www-authenticate'], 'Bearer');
        }
      }
    });

    it('revoked and expired tokens: 401, the same body', async () => {
      const revoked = await t.core.apiTokens.create({ accountId: user.accountId }, { address: 'test' });
      assert.equal((await check(PATHS[0], `Bearer ${revoked.token}`)).statusCode, 200);
      assert.equal(await t.core.apiTokens.revoke(revoked.apiToken.id, { address: 'test' }), true);
      const r = await check(PATHS[0], `Bearer ${revoked.token}`);
      assert.equal(r.statusCode, 401);
      assert.deepEqual(r.json(), UNAUTHORIZED);

      const expiring = await t.core.apiTokens.create({ accountId: user.accountId, format: 'l3', expiresAt: clock.now() + 60_000 }, { address: 'test' });
      assert.equal((await check(PATHS[1], `Bearer ${expiring.token}`)).statusCode, 200);
      clock.advance(60_000);
      const e = await check(PATHS[1], `Bearer ${expiring.token}`);
      assert.equal(e.statusCode, 401);
      assert.deepEqual(e.json(), UNAUTHORIZED);
    });

    it("a valid token of a disabled account: 403 forbidden; enabled again, 200", async () => {
      const other = await seedAccount(t.core);
      const { token } = await t.core.apiTokens.create({ accountId: other.accountId, format: 'native' }, { address: 'test' });
      assert.equal((await check(PATHS[0], `Bearer ${token}`)).statusCode, 200);
      await t.core.accounts.setStatus(other.accountId, 'disabled', { address: 'test' });
      const res = await check(PATHS[0], `Bearer ${token}`);
      assert.equal(res.statusCode, 403);
      assert.deepEqual(res.json(), { error: { message: 'Forbidden', code: 'forbidden' } });
      await t.core.accounts.setStatus(other.accountId, 'active', { address: 'test' });
      assert.equal((await check(PATHS[0], `Bearer ${token}`)).statusCode, 200);
    });

    it('a token in the query string is refused in this envelope, never looked at', async () => {
      for (const query of [`token=${DEMO.v3Token}`, `x=${DEMO.v3Token}`, `auth=${encodeURIComponent(DEMO.l3Token)}`]) {
        const res = await check(`${PATHS[0]}?${query}`);
        assert.equal(res.statusCode, 400, query);
        assert.deepEqual(res.json(), { error: { message: 'Credentials must not be sent in the URL', code: 'token_in_query' } });
      }
    });

    it('unknown routes under /v3 and /l3 answer 404 in this envelope', async () => {
      for (const url of ['/v3/billing/api/orders', '/l3/nothing', '/v3/security/api/auth/auth/extra']) {
        const res = await check(url, `Bearer ${DEMO.v3Token}`);
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), { error: { message: 'Not found', code: 'not_found' } });
      }
      const post = await t.app.inject({ method: 'POST', url: PATHS[0], headers: { authorization: `Bearer ${DEMO.v3Token}` } });
      assert.equal(post.statusCode, 404);
      assert.equal(post.json().error.code, 'not_found');
    });

    it('validation errors carry fields [{name,code,message}]; 503 carries Retry-After', () => {
      const v = invoiceboxFailure({ kind: 'validation', fields: [{ name: 'token', code: 'required', message: 'is required' }] }, 'en');
      assert.equal(v.status, 400);
      assert.equal(
        JSON.stringify(v.body),
        '{"error":{"message":"Validation error","code":"validation_error","fields":[{"name":"token","code":"required","message":"is required"}]}}',
      );
      const u = invoiceboxFailure({ kind: 'unavailable' }, 'en', 5);
      assert.equal(u.status, 503);
      assert.equal(u.headers?.['retry-after'], '5');
      assert.deepEqual(u.body, { error: { message: 'Service temporarily unavailable', code: 'service_unavailable' } });
    });
  });
}

describe('Invoicebox dialect switched off', () => {
  let t: TestTokend;
  before(async () => {
    t = await startTokend({ db: 'sqlite', config: { invoiceboxEnabled: false } });
  });
  after(async () => t.close());

  it('answers 404 in the native envelope', async () => {
    const res = await t.app.inject({ method: 'GET', url: PATHS[0], headers: { authorization: `Bearer ${DEMO.v3Token}` } });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'not_found');
    assert.ok(!('data' in res.json()));
  });
});

describe('Invoicebox dialect over real HTTP (sqlite)', () => {
  let t: TestTokend;
  before(async () => {
    t = await startTokend({ db: 'sqlite', listen: true });
    await seedDemo(t.core);
  });
  after(async () => t.close());

  it("the documented request works as written (Accept, User-Agent, Bearer)", async () => {
    const res = await fetch(`${t.url}/v3/security/api/auth/auth`, {
      headers: { Accept: 'application/json', 'User-Agent': 'MyApp 1.0', Authorization: `Bearer ${DEMO.v3Token}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/);
    assert.deepEqual(await res.json(), { data: { userId: DEMO.accountUid, profile: null, accessToken: null }, extendedData: [] });
  });

  it('oversized headers get 431 in this envelope', async () => {
    const res = await fetch(`${t.url}/l3/security/api/auth/auth`, { headers: { 'x-big': 'a'.repeat(20_000) } });
    assert.equal(res.status, 431);
    assert.deepEqual(await res.json(), { error: { message: 'Request headers too large', code: 'headers_too_large' } });
  });
});
