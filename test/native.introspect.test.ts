/**
 * Native surface: RFC 7662 introspection and RFC 7009 revocation for every kind of token
 * tokend issues, caller authentication (admin token, resource-server credential), and the admin
 * token's life (generated once, stored hashed). On SQLite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { ManualClock } from '../src/core/clock.ts';
import { checkResponse } from './helpers/envelopes.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const CTX = { address: 'test' };
const HOUR = 3_600_000;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

for (const db of databases()) {
  describe(`POST /oauth2/introspect and /oauth2/revoke (${db})`, () => {
    const clock = new ManualClock();
    const adminToken = testAdminToken();
    let t: TestTokend;
    let user: Awaited<ReturnType<typeof seedAccount>>;
    let rs: { id: string; token: string };

    before(async () => {
      t = await startTokend({ db, clock, config: { adminToken } });
      user = await seedAccount(t.core);
      const created = await t.core.callers.createResourceServer('orders-api', CTX);
      rs = { id: created.server.id, token: created.token };
    });
    after(async () => t.close());

    async function call(path: 'introspect' | 'revoke', token: string | null, options: { caller?: string | null; json?: boolean; headers?: Record<string, string> } = {}) {
      const caller = options.caller === undefined ? `Bearer ${rs.token}` : options.caller;
      const headers: Record<string, string> = { ...(caller ? { authorization: caller } : {}), ...options.headers };
      let payload: string | undefined;
      if (token !== null) {
        if (options.json) {
          headers['content-type'] = 'application/json';
          payload = JSON.stringify({ token });
        } else {
          Object.assign(headers, FORM);
          payload = new URLSearchParams({ token }).toString();
        }
      }
      const url = `/oauth2/${path}`;
      const res = await t.app.inject({ method: 'POST', url, headers, ...(payload !== undefined ? { payload } : {}) });
      const problem = checkResponse({ method: 'POST', url }, { status: res.statusCode, headers: res.headers, body: res.body });
      assert.equal(problem, null, problem ?? '');
      return res;
    }
    const introspect = (token: string | null, options?: Parameters<typeof call>[2]) => call('introspect', token, options);

    async function chatappPair(): Promise<{ accessToken: string; refreshToken: string; accessTokenEndTime: number; refreshTokenEndTime: number }> {
      const res = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: user.email, password: user.password, appId: user.appId } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data;
    }

    it('an unauthenticated caller gets 401 invalid_client (RFC 6749 5.2 form), whatever it sends', async () => {
      const pair = await chatappPair();
      const revokedRs = await t.core.callers.createResourceServer('old', CTX);
      await t.core.callers.revokeResourceServer(revokedRs.server.id, CTX);
      const callers: Record<string, string | null> = {
        none: null,
        empty: '',
        garbage: 'Bearer nope',
        wrongAdmin: `Bearer ${adminToken}x`,
        revokedResourceServer: `Bearer ${revokedRs.token}`,
        aSessionToken: `Bearer ${pair.accessToken}`,
        basicWrongId: `Basic ${Buffer.from(`someone-else:${rs.token}`).toString('base64')}`,
        rawCredentialNoScheme: rs.token,
      };
      for (const [name, caller] of Object.entries(callers)) {
        for (const path of ['introspect', 'revoke'] as const) {
          const res = await call(path, pair.accessToken, { caller });
          assert.equal(res.statusCode, 401, `${name} ${path}`);
          assert.deepEqual(res.json(), { error: 'invalid_client', error_description: 'Client authentication failed' });
          assert.match(String(res.headers['www-authenticate']), /^Bearer realm="tokend"/);
        }
      }
      // Nothing was revoked by the refused revocations.
      assert.equal((await introspect(pair.accessToken)).json().active, true);
    });

    it('the admin token, a resource-server credential (Bearer) and HTTP Basic (id:credential) are all accepted', async () => {
      const pair = await chatappPair();
      for (const caller of [`Bearer ${adminToken}`, `Bearer ${rs.token}`, `Basic ${Buffer.from(`${rs.id}:${rs.token}`).toString('base64')}`]) {
        const res = await introspect(pair.accessToken, { caller });
        assert.equal(res.statusCode, 200, caller.slice(0, 6));
        assert.equal(res.json().active, true);
      }
    });

    it('a ChatApp access token: active, sub, scope, client_id, token_type, exp, iat; inactive once refreshed', async () => {
      const pair = await chatappPair();
      const res = await introspect(pair.accessToken);
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.deepEqual(body, {
        active: true,
        sub: String(user.accountId),
        scope: '',
        client_id: user.appId,
        token_type: 'Bearer',
        exp: pair.accessTokenEndTime,
        iat: Math.floor(clock.now() / 1000),
        token_kind: 'access',
      });
      // JSON bodies are taken too.
      assert.equal((await introspect(pair.accessToken, { json: true })).json().active, true);
      const refreshed = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: pair.refreshToken } });
      assert.equal(refreshed.statusCode, 200);
      const after = await introspect(pair.accessToken);
      assert.equal(after.statusCode, 200);
      assert.equal(after.body, '{"active":false}');
    });

    it('a refresh token: active until used or expired, token_type refresh_token', async () => {
      const pair = await chatappPair();
      const body = (await introspect(pair.refreshToken)).json();
      assert.equal(body.active, true);
      assert.equal(body.token_kind, 'refresh');
      assert.equal(body.token_type, 'refresh_token');
      assert.equal(body.exp, pair.refreshTokenEndTime);
      assert.equal(body.sub, String(user.accountId));
      await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: pair.refreshToken } });
      assert.deepEqual((await introspect(pair.refreshToken)).json(), { active: false });
    });

    it('API tokens of every format: active with the account; inactive once revoked or expired', async () => {
      for (const format of ['v3', 'l3', 'native'] as const) {
        const { token, apiToken } = await t.core.apiTokens.create({ accountId: user.accountId, format, expiresAt: clock.now() + 2 * HOUR }, CTX);
        const body = (await introspect(token)).json();
        assert.deepEqual(body, {
          active: true,
          sub: String(user.accountId),
          scope: '',
          client_id: apiToken.id,
          token_type: 'Bearer',
          exp: Math.floor((clock.now() + 2 * HOUR) / 1000),
          iat: Math.floor(clock.now() / 1000),
          token_kind: 'api_token',
          account_uid: user.uid,
        });
        if (format === 'native') {
          clock.advance(2 * HOUR);
          assert.deepEqual((await introspect(token)).json(), { active: false });
        } else {
          await t.core.apiTokens.revoke(apiToken.id, CTX);
          assert.deepEqual((await introspect(token)).json(), { active: false });
        }
      }
      // Without an expiry there is no `exp`.
      const forever = await t.core.apiTokens.create({ accountId: user.accountId }, CTX);
      assert.ok(!('exp' in (await introspect(forever.token)).json()));
    });

    it('a service-account JWT: active with its actions as scope and the Access Key as client_id; inactive once its key is revoked', async () => {
      const sa = await t.core.serviceAccounts.create({ accountId: user.accountId, name: 'dns', actions: ['dns_orders_list', 'dns_orders_read'] }, CTX);
      const key = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      const created = await t.core.serviceAccounts.createTokens({ accessKey: key.key.accessKey, secretKey: key.secretKey }, CTX);
      assert.ok(created.ok);
      const jwt = created.pair.accessToken;
      const body = (await introspect(jwt)).json();
      assert.equal(body.active, true);
      assert.equal(body.token_kind, 'service_access');
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.sub, String(user.accountId));
      assert.equal(body.scope, 'dns_orders_list dns_orders_read');
      assert.equal(body.client_id, key.key.accessKey);
      assert.equal(body.exp, Math.floor(created.pair.accessExpiresAt / 1000));
      assert.equal(body.iat, Math.floor(clock.now() / 1000));
      // Its refresh token is introspectable too.
      assert.equal((await introspect(created.pair.refreshToken)).json().active, true);

      // A forged signature is inactive, as is a JWT-looking string.
      const [h, p, s] = jwt.split('.');
      const forged = `${h}.${p}.${s!.slice(0, -2)}${s!.endsWith('AA') ? 'BB' : 'AA'}`;
      assert.deepEqual((await introspect(forged)).json(), { active: false });
      assert.deepEqual((await introspect('eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.')).json(), { active: false });

      await t.core.serviceAccounts.revokeKey(key.key.id, CTX);
      assert.deepEqual((await introspect(jwt)).json(), { active: false });
    });

    it('anything that is not a token tokend issues: exactly {"active":false}', async () => {
      const pair = await chatappPair();
      const flip = (s: string) => s.slice(0, -1) + (s.endsWith('a') ? 'b' : 'a');
      for (const token of [
        'nope',
        flip(pair.accessToken),
        'tda_000000000000000000000000000000000',
        '0123456789abcdef0123456789abcdef',
        rs.token, // a resource-server credential is not a token to introspect
        adminToken,
        'x'.repeat(4096),
      ]) {
        const res = await introspect(token);
        assert.equal(res.statusCode, 200);
        assert.equal(res.body, '{"active":false}', token.slice(0, 12));
      }
    });

    it('bad requests: 400 invalid_request (missing, repeated or unknown parameters), 415 for other content types', async () => {
      const missing = await introspect(null);
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().error, 'invalid_request');
      const cases: [string, string, Record<string, string>][] = [
        ['repeated token', 'token=a&token=b', FORM],
        ['unknown parameter', 'token=a&extra=1', FORM],
        ['empty token', 'token=', FORM],
        ['broken JSON', '{"token":', { 'content-type': 'application/json' }],
        ['JSON array', '[]', { 'content-type': 'application/json' }],
      ];
      for (const [name, payload, headers] of cases) {
        const res = await t.app.inject({ method: 'POST', url: '/oauth2/introspect', headers: { authorization: `Bearer ${rs.token}`, ...headers }, payload });
        assert.equal(res.statusCode, 400, name);
        assert.equal(res.json().error, 'invalid_request', name);
        assert.equal(typeof res.json().error_description, 'string');
      }
      const text = await t.app.inject({ method: 'POST', url: '/oauth2/introspect', headers: { authorization: `Bearer ${rs.token}`, 'content-type': 'text/plain' }, payload: 'token=a' });
      assert.equal(text.statusCode, 415);
      assert.equal(text.json().error, 'unsupported_media_type');
      // token_type_hint is accepted (and ignored: the kind comes from the token's shape).
      const hinted = await t.app.inject({ method: 'POST', url: '/oauth2/introspect', headers: { authorization: `Bearer ${rs.token}`, ...FORM }, payload: 'token=nope&token_type_hint=refresh_token' });
      assert.equal(hinted.statusCode, 200);
      // A token in the URL is refused before anything else.
      const inQuery = await t.app.inject({ method: 'POST', url: '/oauth2/introspect?token=abc', headers: { authorization: `Bearer ${rs.token}`, ...FORM }, payload: 'token=a' });
      assert.equal(inQuery.statusCode, 400);
      assert.equal(inQuery.json().error, 'invalid_request');
    });

    it('revoke (RFC 7009): 200 for unknown tokens; an access or refresh token ends its whole session; an API token is revoked', async () => {
      for (const token of ['nope', '0123456789abcdef0123456789abcdef', 'tda_000000000000000000000000000000000']) {
        const res = await call('revoke', token);
        assert.equal(res.statusCode, 200);
      }
      const viaAccess = await chatappPair();
      assert.equal((await call('revoke', viaAccess.accessToken)).statusCode, 200);
      assert.deepEqual((await introspect(viaAccess.accessToken)).json(), { active: false });
      const refreshAfter = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: viaAccess.refreshToken } });
      assert.equal(refreshAfter.statusCode, 401, 'the refresh token of the revoked session is dead too');

      const viaRefresh = await chatappPair();
      assert.equal((await call('revoke', viaRefresh.refreshToken, { caller: `Bearer ${adminToken}` })).statusCode, 200);
      assert.deepEqual((await introspect(viaRefresh.accessToken)).json(), { active: false });
      const check = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: viaRefresh.accessToken } });
      assert.equal(check.statusCode, 401);

      const api = await t.core.apiTokens.create({ accountId: user.accountId, format: 'l3' }, CTX);
      assert.equal((await call('revoke', api.token, { json: true })).statusCode, 200);
      const auth = await t.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${api.token}` } });
      assert.equal(auth.statusCode, 401);
      assert.notEqual((await t.core.apiTokens.get(api.apiToken.id))!.revokedAt, null);
      // Revoking again is still 200.
      assert.equal((await call('revoke', api.token)).statusCode, 200);
    });
  });

  describe(`the admin token (${db})`, () => {
    it('without TOKEND_ADMIN_TOKEN: generated once (tdm_…), stored as a SHA-256 only, shared by every node', async () => {
      const shared = await createTestDatabase(db);
      const a = await startTokend({ db: shared });
      const b = await startTokend({ db: shared });
      try {
        assert.equal(await a.core.callers.verifyAdminToken('anything'), false, 'no admin token before the first start');
        // Two SQLite connections in one process cannot wait on each other (node:sqlite blocks the
        // thread); two PostgreSQL nodes race for real.
        const [first, second] =
          db === 'postgres'
            ? await Promise.all([a.core.callers.ensureAdminToken(CTX), b.core.callers.ensureAdminToken(CTX)])
            : [await a.core.callers.ensureAdminToken(CTX), await b.core.callers.ensureAdminToken(CTX)];
        const generated = [first, second].filter((s) => s.generated !== null);
        assert.equal(generated.length, 1, 'exactly one node generates and prints it');
        const token = generated[0]!.generated!;
        assert.match(token, /^tdm_[0-9A-Za-z]{33}$/);
        assert.equal((await a.core.callers.ensureAdminToken(CTX)).generated, null, 'printed once: never again');
        assert.equal(await a.core.callers.verifyAdminToken(token), true);
        assert.equal(await b.core.callers.verifyAdminToken(token), true);
        assert.equal(await b.core.callers.verifyAdminToken(`${token}x`), false);
        const rows = await sql<{ hash: string }>`select hash from instance_secrets`.execute(a.services.db.dialect.db);
        assert.equal(rows.rows.length, 1);
        assert.match(rows.rows[0]!.hash, /^[0-9a-f]{64}$/);
        assert.notEqual(rows.rows[0]!.hash, token);
        const res = await b.app.inject({ method: 'POST', url: '/oauth2/introspect', headers: { authorization: `Bearer ${token}`, ...FORM }, payload: 'token=nope' });
        assert.equal(res.statusCode, 200);
      } finally {
        await b.close();
        await a.close();
        await shared.drop();
      }
    });

    it('with TOKEND_ADMIN_TOKEN: that one, and nothing is generated or stored', async () => {
      const adminToken = testAdminToken();
      const t = await startTokend({ db, config: { adminToken } });
      try {
        assert.deepEqual(await t.core.callers.ensureAdminToken(CTX), { source: 'env', generated: null });
        assert.equal(await t.core.callers.verifyAdminToken(adminToken), true);
        assert.equal(await t.core.callers.verifyAdminToken(adminToken.slice(0, -1)), false);
        const rows = await sql<{ n: number | string }>`select count(*) as n from instance_secrets`.execute(t.services.db.dialect.db);
        assert.equal(Number(rows.rows[0]!.n), 0);
      } finally {
        await t.close();
      }
    });
  });
}
