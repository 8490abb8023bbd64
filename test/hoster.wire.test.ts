/**
 * The hoster.by dialect on the wire: every field of every answer, every error
 * code, the pretty-printed envelope public clients grep (`"httpCode": 200`, one field per line),
 * what clients send in the wild (empty JSON bodies, odd header case, POST refresh), and the
 * framework failures in this dialect's envelope. Runs on SQLite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ManualClock } from '../src/core/clock.ts';
import { HOSTER_CODES } from '../src/http/dialects/hoster/codes.ts';
import { hosterFailure } from '../src/http/dialects/hoster/envelope.ts';
import type { GenericFailure } from '../src/http/failures.ts';
import { newToken } from '../src/secrets/tokens.ts';
import { databases, startTokend, type TestTokend } from './helpers/harness.ts';
import { assertHosterError, assertHosterOk, CTX, hosterCalls, seedServiceKey, type TestKey, type WireAnswer } from './helpers/hoster.ts';

const HOUR = 3_600_000;

/** A field clients pick out line by line (acme.sh: `_egrep_o '"dateExpires": *[^,]*'`): once, alone on its line. */
function assertOwnLine(text: string, field: string): string {
  const occurrences = text.split(`"${field}"`).length - 1;
  assert.equal(occurrences, 1, `"${field}" appears ${occurrences} times`);
  const line = text.split('\n').find((l) => l.includes(`"${field}"`));
  assert.ok(line);
  assert.match(line, new RegExp(`^\\s*"${field}": ("[^"]+"|\\d+),?$`), `"${field}" is not alone on its line: ${line}`);
  return line.trim().replace(/^"[^"]+": /, '').replace(/,$/, '').replace(/^"|"$/g, '');
}

for (const db of databases()) {
  describe(`hoster.by wire (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let h: ReturnType<typeof hosterCalls>;

    before(async () => {
      t = await startTokend({ db, clock, listen: true });
      h = hosterCalls(t);
    });
    after(async () => t.close());

    async function createPair(k: TestKey): Promise<{ accessToken: string; refreshToken: string; userId: number; dateExpires: number }> {
      return assertHosterOk(await h.create(k), 'create_token_success') as never;
    }

    it('create: the envelope, every payload field, the JWT, the literal "httpCode": 200', async () => {
      const k = await seedServiceKey(t.core, { actions: ['dns_orders_list', 'dns_records_edit'] });
      const a = await h.create(k);
      assert.equal(a.status, 200);
      assert.match(String(a.headers['content-type']), /^application\/json/);
      assert.match(String(a.headers['cache-control']), /no-store/);
      assert.ok(a.text.includes('"httpCode": 200'));
      assert.deepEqual(Object.keys(a.body), ['httpCode', 'statusCode', 'payload', 'messageList', 'codeList']);
      assert.deepEqual(a.body.messageList, { success: { create_token_success: 'Tokens created' } });
      const p = assertHosterOk(a, 'create_token_success');
      assert.deepEqual(Object.keys(p), ['accessToken', 'refreshToken', 'userId', 'dateExpires']);
      assert.equal(p.userId, k.accountId);
      assert.equal(typeof p.userId, 'number');
      assert.equal(p.dateExpires, Math.floor((clock.now() + t.config.serviceAccessTtl) / 1000));
      assert.match(p.refreshToken, /^tdr_[0-9A-Za-z]{33}$/);
      // Each of the three fields clients grep for: exactly once, on its own line.
      assert.equal(assertOwnLine(a.text, 'accessToken'), p.accessToken);
      assert.equal(assertOwnLine(a.text, 'refreshToken'), p.refreshToken);
      assert.equal(Number(assertOwnLine(a.text, 'dateExpires')), p.dateExpires);

      const header = decodeProtectedHeader(p.accessToken);
      assert.deepEqual(Object.keys(header).sort(), ['alg', 'kid', 'typ']);
      assert.equal(header.alg, 'EdDSA');
      assert.equal(header.typ, 'at+jwt');
      const claims = decodeJwt(p.accessToken);
      assert.equal(claims.iss, t.config.jwtIssuer);
      assert.equal(claims.sub, String(k.accountId));
      assert.equal(claims.aud, t.config.jwtAudience);
      assert.equal(claims.exp, p.dateExpires);
      assert.equal(claims.iat, Math.floor(clock.now() / 1000));
      assert.match(String(claims.jti), /^[0-9a-f-]{36}$/);
      assert.equal(claims.scope, 'dns_orders_list dns_records_edit');
      assert.equal(claims.client_id, k.accessKey);
    });

    it('create and refresh take what clients send: empty JSON body, no body, junk, [], a form, odd header case', async () => {
      const k = await seedServiceKey(t.core);
      const variants: { headers: Record<string, string>; payload?: string }[] = [
        { headers: { 'content-type': 'application/json' } },
        { headers: {} },
        { headers: { 'content-type': 'application/json' }, payload: '[]' },
        { headers: { 'content-type': 'application/json' }, payload: '{not json' },
        { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' },
        { headers: { 'content-type': 'text/plain' }, payload: 'hello' },
      ];
      for (const v of variants) {
        const created = await h.raw(t, 'POST', '/service/account/create/token', { ...v.headers, 'ACCESS-KEY': k.accessKey, 'secret-KEY': k.secretKey }, v.payload);
        const p = assertHosterOk(created, 'create_token_success');
        for (const method of ['PATCH', 'POST']) {
          const r = await h.raw(t, method, '/token/refresh', { ...v.headers, 'X-USER-ID': String(k.accountId), 'refresh-Token': p.refreshToken }, v.payload);
          const q = assertHosterOk(r, 'refresh_token_success');
          p.refreshToken = q.refreshToken;
        }
      }
    });

    it('refresh: both tokens replaced, the old pair stops at once; PATCH and POST alike', async () => {
      const k = await seedServiceKey(t.core);
      const first = await createPair(k);
      clock.advance(5_000);
      const a = await h.refresh(k.accountId, first.refreshToken, 'PATCH');
      const p = assertHosterOk(a, 'refresh_token_success');
      assert.deepEqual(Object.keys(p), ['accessToken', 'refreshToken', 'userId', 'dateExpires']);
      assertOwnLine(a.text, 'accessToken');
      assertOwnLine(a.text, 'refreshToken');
      assertOwnLine(a.text, 'dateExpires');
      assert.notEqual(p.accessToken, first.accessToken);
      assert.notEqual(p.refreshToken, first.refreshToken);
      assert.equal(p.userId, k.accountId);
      assert.equal(p.dateExpires, Math.floor((clock.now() + t.config.serviceAccessTtl) / 1000));
      assertHosterError(await h.infoAccess(first.accessToken, k.accountId), 401, 'access_token_not_found');
      assertHosterError(await h.refresh(k.accountId, first.refreshToken), 401, 'refresh_token_not_found');
      assertHosterOk(await h.infoAccess(p.accessToken, k.accountId), 'access_token_info_success');
      const b = assertHosterOk(await h.refresh(k.accountId, p.refreshToken, 'POST'), 'refresh_token_success');
      assert.notEqual(b.refreshToken, p.refreshToken);
    });

    it('info/access: userId, dateExpires, actions; X-User-Id optional, checked when sent', async () => {
      const k = await seedServiceKey(t.core, { actions: ['dns_orders_list', 'billing_read', 'cloud:read'] });
      const pair = await createPair(k);
      for (const userId of [k.accountId, undefined]) {
        const a = await h.infoAccess(pair.accessToken, userId);
        const p = assertHosterOk(a, 'access_token_info_success');
        assert.deepEqual(p, { userId: k.accountId, dateExpires: pair.dateExpires, actions: ['dns_orders_list', 'billing_read', 'cloud:read'] });
        assert.equal(Number(assertOwnLine(a.text, 'dateExpires')), pair.dateExpires);
      }
      assertHosterError(await h.infoAccess(pair.accessToken, k.accountId + 1000), 401, 'user_id_mismatch');
      assertHosterError(await h.infoAccess(pair.accessToken, 'abc'), 400, 'user_id_invalid');
      assertHosterError(await h.infoAccess(pair.accessToken, '0'), 400, 'user_id_invalid');
      assertHosterError(await h.raw(t, 'GET', '/token/info/access', { 'x-user-id': String(k.accountId) }), 400, 'access_token_missing');
      assertHosterError(await h.raw(t, 'GET', '/token/info/access', { 'access-token': '  ' }), 400, 'access_token_missing');
      assertHosterError(await h.infoAccess('not-a-token', k.accountId), 401, 'access_token_not_found');
    });

    it('info/refresh: userId and the refresh token\'s dateExpires; a rotated token is not found', async () => {
      const k = await seedServiceKey(t.core);
      const pair = await createPair(k);
      const a = await h.infoRefresh(k.accountId, pair.refreshToken);
      const p = assertHosterOk(a, 'refresh_token_info_success');
      assert.deepEqual(p, { userId: k.accountId, dateExpires: Math.floor((clock.now() + t.config.serviceRefreshTtl) / 1000) });
      assertOwnLine(a.text, 'dateExpires');
      assertHosterOk(await h.refresh(k.accountId, pair.refreshToken), 'refresh_token_success');
      assertHosterError(await h.infoRefresh(k.accountId, pair.refreshToken), 401, 'refresh_token_not_found');
      assertHosterError(await h.raw(t, 'GET', '/token/info/refresh', { 'x-user-id': String(k.accountId) }), 400, 'refresh_token_missing');
      assertHosterError(await h.raw(t, 'GET', '/token/info/refresh', { 'refresh-token': pair.refreshToken }), 400, 'user_id_missing');
      assertHosterError(await h.infoRefresh('x1', pair.refreshToken), 400, 'user_id_invalid');
    });

    it('X-User-Id mismatch on a refresh token answers exactly like an unknown token, and leaves the token usable', async () => {
      const k = await seedServiceKey(t.core);
      const pair = await createPair(k);
      const unknown = newToken('refresh').token;
      const other = k.accountId + 1;
      const mismatchRefresh = await h.refresh(other, pair.refreshToken);
      const unknownRefresh = await h.refresh(other, unknown);
      assertHosterError(mismatchRefresh, 401, 'refresh_token_not_found');
      assert.equal(mismatchRefresh.text, unknownRefresh.text);
      const mismatchInfo = await h.infoRefresh(other, pair.refreshToken);
      assertHosterError(mismatchInfo, 401, 'refresh_token_not_found');
      assert.equal(mismatchInfo.text, (await h.infoRefresh(other, unknown)).text);
      // Nothing happened to the token: its owner refreshes with it.
      assertHosterOk(await h.refresh(k.accountId, pair.refreshToken), 'refresh_token_success');
    });

    it('missing headers are 400 with a code naming the header', async () => {
      const k = await seedServiceKey(t.core);
      const create = (headers: Record<string, string>): Promise<WireAnswer> =>
        h.raw(t, 'POST', '/service/account/create/token', { 'content-type': 'application/json', ...headers });
      assertHosterError(await create({ 'secret-key': k.secretKey }), 400, 'access_key_missing');
      assertHosterError(await create({ 'access-key': k.accessKey }), 400, 'secret_key_missing');
      assertHosterError(await create({ 'access-key': k.accessKey, 'secret-key': '' }), 400, 'secret_key_missing');
      const pair = await createPair(k);
      assertHosterError(await h.raw(t, 'PATCH', '/token/refresh', { 'x-user-id': String(k.accountId) }), 400, 'refresh_token_missing');
      assertHosterError(await h.raw(t, 'PATCH', '/token/refresh', { 'refresh-token': pair.refreshToken }), 400, 'user_id_missing');
      assertHosterError(await h.refresh('-5', pair.refreshToken), 400, 'user_id_invalid');
    });

    it('invalid_keys: unknown Access Key, wrong or malformed Secret Key get one answer', async () => {
      const k = await seedServiceKey(t.core);
      const wrongSecret = await h.create({ accessKey: k.accessKey, secretKey: newToken('secretKey').token });
      const unknownKey = await h.create({ accessKey: 'AKNOSUCHKEY0000000000', secretKey: k.secretKey });
      const badChecksum = await h.create({ accessKey: k.accessKey, secretKey: k.secretKey.slice(0, -1) + (k.secretKey.endsWith('A') ? 'B' : 'A') });
      const otherKind = await h.create({ accessKey: k.accessKey, secretKey: newToken('refresh').token });
      for (const a of [wrongSecret, unknownKey, badChecksum, otherKind]) {
        assertHosterError(a, 401, 'invalid_keys');
        assert.equal(a.text, wrongSecret.text);
      }
    });

    it('keys_expired, keys_revoked, service_account_disabled, account_disabled', async () => {
      const expiring = await seedServiceKey(t.core, { expiresAt: clock.now() + HOUR });
      const revoked = await seedServiceKey(t.core);
      const disabledSa = await seedServiceKey(t.core);
      const disabledAccount = await seedServiceKey(t.core);
      assertHosterOk(await h.create(revoked), 'create_token_success');
      await t.core.serviceAccounts.revokeKey(revoked.keyId, CTX);
      assertHosterError(await h.create(revoked), 401, 'keys_revoked');
      await t.core.serviceAccounts.disable(disabledSa.serviceAccountId, CTX);
      assertHosterError(await h.create(disabledSa), 403, 'service_account_disabled');
      await t.core.serviceAccounts.enable(disabledSa.serviceAccountId, CTX);
      assertHosterOk(await h.create(disabledSa), 'create_token_success');
      await t.core.accounts.setStatus(disabledAccount.accountId, 'disabled', CTX);
      assertHosterError(await h.create(disabledAccount), 403, 'account_disabled');
      clock.advance(HOUR + 1000);
      assertHosterError(await h.create(expiring), 401, 'keys_expired');
    });

    it('access_token_expired and refresh_token_expired once their times pass', async () => {
      const k = await seedServiceKey(t.core);
      const pair = await createPair(k);
      clock.advance(t.config.serviceAccessTtl + 1000);
      assertHosterError(await h.infoAccess(pair.accessToken, k.accountId), 401, 'access_token_expired');
      assertHosterError(await h.infoAccess(pair.accessToken), 401, 'access_token_expired');
      assertHosterOk(await h.infoRefresh(k.accountId, pair.refreshToken), 'refresh_token_info_success');
      clock.advance(t.config.serviceRefreshTtl);
      assertHosterError(await h.infoRefresh(k.accountId, pair.refreshToken), 401, 'refresh_token_expired');
      assertHosterError(await h.refresh(k.accountId, pair.refreshToken), 401, 'refresh_token_expired');
    });

    it('Lang: ru picks Russian messages; codes never change', async () => {
      const a = await h.raw(t, 'GET', '/token/info/access', { lang: 'ru', 'access-token': 'x' });
      assertHosterError(a, 401, 'access_token_not_found');
      assert.equal(a.body.messageList.error.access_token_not_found, HOSTER_CODES.access_token_not_found.ru);
      const k = await seedServiceKey(t.core);
      const ok = await h.create(k, { 'accept-language': 'ru-RU,ru;q=0.9' });
      assert.equal(assertHosterOk(ok, 'create_token_success').userId, k.accountId);
      assert.equal(ok.body.messageList.success.create_token_success, 'Токены созданы');
    });

    it('framework failures under /service/ and /token/ use this envelope, status = httpCode', async () => {
      assertHosterError(await h.raw(t, 'GET', '/token/nope', {}), 404, 'route_not_found');
      assertHosterError(await h.raw(t, 'GET', '/service/account/create/token', {}), 404, 'route_not_found');
      assertHosterError(await h.raw(t, 'DELETE', '/token/refresh', {}), 404, 'route_not_found');
      assertHosterError(await h.raw(t, 'GET', '/token/info/access?access_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.x', {}), 400, 'token_in_query');
      const big = await h.raw(t, 'POST', '/service/account/create/token', { 'content-type': 'application/json' }, 'x'.repeat(t.config.bodyLimit + 10));
      assertHosterError(big, 413, 'payload_too_large');
      // Every generic failure renders with status = httpCode and a documented code.
      const kinds: GenericFailure[] = [
        { kind: 'malformed_body' },
        { kind: 'validation', fields: [{ name: 'x', code: 'type', message: 'must be a string' }] },
        { kind: 'payload_too_large' },
        { kind: 'headers_too_large' },
        { kind: 'unsupported_media_type' },
        { kind: 'token_in_query' },
        { kind: 'not_found' },
        { kind: 'unavailable' },
        { kind: 'internal' },
      ];
      for (const failure of kinds) {
        const wire = hosterFailure(failure, 'en', failure.kind === 'unavailable' ? 5 : undefined);
        const body = JSON.parse(String(wire.body)) as Record<string, any>;
        assert.equal(body.httpCode, wire.status);
        const code = body.codeList.error[0] as keyof typeof HOSTER_CODES;
        assert.equal(HOSTER_CODES[code].status, wire.status, failure.kind);
        assert.ok(String(wire.body).includes(`"httpCode": ${wire.status}`));
      }
      assert.equal(hosterFailure({ kind: 'unavailable' }, 'en', 5).headers?.['retry-after'], '5');
    });

    it('oversized headers: 431 in this envelope, over real HTTP', async () => {
      const url = new URL('/token/info/access', t.url);
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(url, { method: 'GET', headers: { 'access-token': 'x'.repeat(t.config.maxHeaderSize + 100) } }, (res) => {
          let data = '';
          res.on('data', (c: Buffer) => (data += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 431);
      const parsed = JSON.parse(body) as Record<string, any>;
      assert.equal(parsed.httpCode, 431);
      assert.deepEqual(parsed.codeList, { error: ['headers_too_large'] });
    });

    it('the JWKS publishes public keys only, with kid, alg and use', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      assert.equal(r.statusCode, 200);
      const { keys } = r.json() as { keys: Record<string, string>[] };
      assert.ok(keys.length >= 1);
      for (const key of keys) {
        assert.equal(key.kty, 'OKP');
        assert.equal(key.crv, 'Ed25519');
        assert.equal(key.alg, 'EdDSA');
        assert.equal(key.use, 'sig');
        assert.equal(typeof key.kid, 'string');
        assert.ok(!('d' in key), 'no private part');
      }
      const k = await seedServiceKey(t.core);
      const { accessToken } = await createPair(k);
      assert.ok(keys.some((key) => key.kid === decodeProtectedHeader(accessToken).kid));
    });
  });

  describe(`hoster.by daily creation limit (${db})`, () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 23, 0, 0));
    let t: TestTokend;
    before(async () => {
      t = await startTokend({ db, clock, config: { serviceDailyCreateLimit: 3 } });
    });
    after(async () => t.close());

    it('counts creations per key per UTC day: 429 with Retry-After, refresh does not count', async () => {
      const h = hosterCalls(t);
      const k = await seedServiceKey(t.core);
      const other = await seedServiceKey(t.core, { accountId: k.accountId });
      let last: Record<string, any> = {};
      for (let i = 0; i < 3; i++) last = assertHosterOk(await h.create(k), 'create_token_success');
      for (let i = 0; i < 4; i++) last = assertHosterOk(await h.refresh(k.accountId, last.refreshToken), 'refresh_token_success');
      const over = await h.create(k);
      assertHosterError(over, 429, 'token_limit_exceeded');
      assert.equal(over.headers['retry-after'], String(3600));
      assertHosterOk(await h.create(other), 'create_token_success');
      clock.advance(HOUR);
      assertHosterOk(await h.create(k), 'create_token_success');
    });
  });

  describe(`hoster.by dialect switched off (${db})`, () => {
    it('TOKEND_HOSTER_ENABLED=false: the routes are gone', async () => {
      const t = await startTokend({ db, config: { hosterEnabled: false } });
      try {
        const r = await t.app.inject({ method: 'POST', url: '/service/account/create/token', headers: { 'access-key': 'a', 'secret-key': 'b' } });
        assert.equal(r.statusCode, 404);
        assert.ok(!r.body.includes('httpCode'), 'the native envelope, not the hoster one');
      } finally {
        await t.close();
      }
    });
  });
}
