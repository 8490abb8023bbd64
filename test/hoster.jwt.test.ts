/**
 * The JWT attack battery: forged, confused and tampered access tokens against
 * `GET /token/info/access` and against core.serviceAccounts.verifyAccessJwt (the verification
 * introspection and forward-auth use), all rejected with 401 / ok:false.
 *
 * A re-signed token is never in storage, so storage alone would reject all of them. To prove the
 * JWT checks themselves, each forged token is also registered in storage as an access token of a
 * live session, exactly like an issued one; a positive control (correct claims, the real key,
 * registered the same way) is accepted, so every rejection below is the JWT check's doing.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { base64url, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { ManualClock } from '../src/core/clock.ts';
import { sha256Hex } from '../src/secrets/hash.ts';
import { newToken } from '../src/secrets/tokens.ts';
import { AccessJwt } from '../src/signing/access-jwt.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { assertHosterError, assertHosterOk, hosterCalls, seedServiceKey, type TestKey } from './helpers/hoster.ts';

type Claims = Record<string, unknown>;

function unsigned(header: Record<string, unknown>, claims: Claims, signature = ''): string {
  const enc = (o: unknown): string => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(claims)}.${signature}`;
}

async function sign(key: CryptoKey | Uint8Array, header: Record<string, unknown>, claims: Claims): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}

/** Signs with WebCrypto directly, for headers jose itself refuses to produce (`crit`). */
async function signRaw(key: CryptoKey, header: Record<string, unknown>, claims: Claims): Promise<string> {
  const input = unsigned(header, claims).slice(0, -1);
  const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', key, new TextEncoder().encode(input)));
  return `${input}.${base64url.encode(signature)}`;
}

for (const db of databases()) {
  describe(`hoster.by JWT attack battery (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let k: TestKey;
    let issued: { accessToken: string; refreshToken: string };
    let realKid: string;
    let realKey: CryptoKey;
    let publicJwk: JWK;
    let attacker: { privateKey: CryptoKey; jwk: JWK };
    let good: Claims;
    let jwtLayer: AccessJwt;

    /** Registers a forged token in storage as an access token of the live session (see the file comment). */
    async function register(token: string): Promise<string> {
      const found = await t.core.store.sessions.findAccess(sha256Hex(issued.accessToken));
      assert.ok(found, 'the issued token is in storage');
      const now = clock.now();
      await t.core.store.sessions.insertAccessToken({
        hash: sha256Hex(token),
        sessionId: found.session.id,
        generation: found.session.generation,
        createdAt: now,
        expiresAt: now + 3_600_000,
      });
      return token;
    }

    before(async () => {
      t = await startTokend({ db, clock });
      jwtLayer = new AccessJwt({ ring: t.core.signing, clock, issuer: t.config.jwtIssuer, audience: t.config.jwtAudience });
      k = await seedServiceKey(t.core, { actions: ['dns_orders_list'] });
      issued = assertHosterOk(await hosterCalls(t).create(k), 'create_token_success') as never;
      realKid = String(decodeProtectedHeader(issued.accessToken).kid);
      const signer = await t.core.signing.signer();
      assert.equal(signer.kid, realKid);
      realKey = signer.key;
      const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: JWK[] };
      publicJwk = jwks.keys.find((j) => j.kid === realKid)!;
      const pair = await generateKeyPair('Ed25519', { extractable: true });
      attacker = { privateKey: pair.privateKey, jwk: await exportJWK(pair.publicKey) };
      const c = decodeJwt(issued.accessToken);
      good = { ...c, jti: crypto.randomUUID() };
    });
    after(async () => t.close());

    const realHeader = (): Record<string, unknown> => ({ alg: 'EdDSA', typ: 'at+jwt', kid: realKid });
    const nowS = (): number => Math.floor(clock.now() / 1000);

    it('positive control: correct claims signed by the real key and present in storage are accepted', async () => {
      const token = await register(await sign(realKey, realHeader(), { ...good, jti: crypto.randomUUID() }));
      assert.equal((await jwtLayer.verify(token)).ok, true);
      const outcome = await t.core.serviceAccounts.verifyAccessJwt(token);
      assert.equal(outcome.ok, true);
      if (outcome.ok) assert.equal(outcome.scope, 'dns_orders_list');
      assertHosterOk(await hosterCalls(t).infoAccess(token, k.accountId), 'access_token_info_success');
    });

    // `sessionCheck`: the JWT alone is fine; only the session behind it (storage) can tell.
    const attacks: { name: string; make: () => Promise<string>; expired?: boolean; sessionCheck?: boolean }[] = [
      { name: 'alg none, no signature', make: async () => unsigned({ alg: 'none', typ: 'at+jwt', kid: realKid }, good) },
      { name: 'alg none, with a signature part', make: async () => unsigned({ alg: 'none', typ: 'at+jwt', kid: realKid }, good, 'AAAA') },
      {
        name: 'HS256 signed with the public key (raw x)',
        make: async () => sign(base64url.decode(String(publicJwk.x)), { alg: 'HS256', typ: 'at+jwt', kid: realKid }, good),
      },
      {
        name: 'HS256 signed with the public JWK as text',
        make: async () => sign(new TextEncoder().encode(JSON.stringify(publicJwk)), { alg: 'HS256', typ: 'at+jwt', kid: realKid }, good),
      },
      { name: 'unknown kid', make: async () => sign(attacker.privateKey, { alg: 'EdDSA', typ: 'at+jwt', kid: 'attacker-key' }, good) },
      { name: 'no kid', make: async () => sign(attacker.privateKey, { alg: 'EdDSA', typ: 'at+jwt' }, good) },
      { name: 'real kid, attacker signature', make: async () => sign(attacker.privateKey, realHeader(), good) },
      { name: 'jku header (real key)', make: async () => sign(realKey, { ...realHeader(), jku: 'https://evil.example/jwks.json' }, good) },
      { name: 'x5u header (real key)', make: async () => sign(realKey, { ...realHeader(), x5u: 'https://evil.example/cert.pem' }, good) },
      { name: 'jwk header (real key)', make: async () => sign(realKey, { ...realHeader(), jwk: publicJwk }, good) },
      {
        name: 'jwk header embedding the attacker key',
        make: async () => sign(attacker.privateKey, { alg: 'EdDSA', typ: 'at+jwt', jwk: attacker.jwk }, good),
      },
      { name: 'x5c header (real key)', make: async () => sign(realKey, { ...realHeader(), x5c: ['MIIB'] }, good) },
      { name: 'crit header (real key)', make: async () => signRaw(realKey, { ...realHeader(), crit: ['exp'], exp: 1 }, good) },
      { name: 'b64 false (real key)', make: async () => signRaw(realKey, { ...realHeader(), b64: false, crit: ['b64'] }, good) },
      { name: 'alg ES256 claimed for the EdDSA key', make: async () => unsigned({ alg: 'ES256', typ: 'at+jwt', kid: realKid }, good, 'AAAA') },
      { name: 'wrong iss', make: async () => sign(realKey, realHeader(), { ...good, iss: 'https://evil.example' }) },
      { name: 'no iss', make: async () => sign(realKey, realHeader(), { ...good, iss: undefined }) },
      { name: 'wrong aud', make: async () => sign(realKey, realHeader(), { ...good, aud: 'another-api' }) },
      { name: 'aud list without ours', make: async () => sign(realKey, realHeader(), { ...good, aud: ['a', 'b'] }) },
      { name: 'typ JWT', make: async () => sign(realKey, { ...realHeader(), typ: 'JWT' }, good) },
      { name: 'typ AT+JWT', make: async () => sign(realKey, { ...realHeader(), typ: 'AT+JWT' }, good) },
      { name: 'no typ', make: async () => sign(realKey, { alg: 'EdDSA', kid: realKid }, good) },
      { name: 'expired', make: async () => sign(realKey, realHeader(), { ...good, exp: nowS() - 10, iat: nowS() - 3610 }), expired: true },
      { name: 'nbf in the future', make: async () => sign(realKey, realHeader(), { ...good, nbf: nowS() + 3600 }) },
      { name: 'iat far in the future', make: async () => sign(realKey, realHeader(), { ...good, iat: nowS() + 86_400 }) },
      { name: 'no exp', make: async () => sign(realKey, realHeader(), { ...good, exp: undefined }) },
      { name: 'no jti', make: async () => sign(realKey, realHeader(), { ...good, jti: undefined }) },
      { name: 'no scope', make: async () => sign(realKey, realHeader(), { ...good, scope: undefined }) },
      { name: 'sub not a user id', make: async () => sign(realKey, realHeader(), { ...good, sub: 'admin' }) },
      { name: 'sub of another user', make: async () => sign(realKey, realHeader(), { ...good, sub: String(k.accountId + 1) }), sessionCheck: true },
      {
        name: 'tampered payload, original signature',
        make: async () => {
          const [h, , s] = issued.accessToken.split('.');
          return `${h}.${base64url.encode(JSON.stringify({ ...decodeJwt(issued.accessToken), scope: 'admin' }))}.${s}`;
        },
      },
    ];

    for (const attack of attacks) {
      it(`rejects: ${attack.name}`, async () => {
        const token = await register(await attack.make());
        if (!attack.sessionCheck) assert.equal((await jwtLayer.verify(token)).ok, false, 'the JWT layer accepted it');
        const outcome = await t.core.serviceAccounts.verifyAccessJwt(token);
        assert.equal(outcome.ok, false, 'core accepted it');
        if (!outcome.ok) assert.equal(outcome.code, attack.expired ? 'token_expired' : 'invalid_token');
        const h = hosterCalls(t);
        assertHosterError(await h.infoAccess(token, k.accountId), 401, attack.expired ? 'access_token_expired' : 'access_token_not_found');
        assertHosterError(await h.infoAccess(token), 401, attack.expired ? 'access_token_expired' : 'access_token_not_found');
      });
    }

    it('refuses claims no token of ours has before checking the signature, and answers as after it', async (ctx) => {
      const verify = ctx.mock.method(crypto.subtle, 'verify');
      const enc = (s: string): string => base64url.encode(s);
      const forged = (payload: string): string => `${base64url.encode(JSON.stringify(realHeader()))}.${payload}.${base64url.encode(new Uint8Array(64))}`;
      const cannotBeOurs = [
        forged(enc('not json')),
        forged(enc('[1,2]')),
        forged(enc('"a string"')),
        forged('eyJ'),
        forged(base64url.encode(new Uint8Array([0x7b, 0xff, 0x7d]))),
        forged(enc(JSON.stringify({ ...good, jti: undefined }))),
        forged(enc(JSON.stringify({ ...good, iss: 'https://evil.example' }))),
        forged(enc(JSON.stringify({ ...good, aud: ['a', 'b'] }))),
        // Foreign and expired: jose reads iss before exp, so this is invalid, never expired.
        await sign(realKey, realHeader(), { ...good, iss: 'https://evil.example', exp: nowS() - 10, iat: nowS() - 3610 }),
      ];
      for (const token of cannotBeOurs) {
        assert.deepEqual(await jwtLayer.verify(token), { ok: false, code: 'invalid_token' }, token);
        assertHosterError(await hosterCalls(t).infoAccess(token, k.accountId), 401, 'access_token_not_found');
      }
      assert.equal(verify.mock.callCount(), 0, 'a signature was checked');
      // Claims that could be ours: the signature decides, and an expired one we signed says so.
      assert.deepEqual(await jwtLayer.verify(forged(enc(JSON.stringify(good)))), { ok: false, code: 'invalid_token' });
      assert.deepEqual(await jwtLayer.verify(await sign(realKey, realHeader(), { ...good, exp: nowS() - 10, iat: nowS() - 3610 })), { ok: false, code: 'token_expired' });
      assert.equal(verify.mock.callCount(), 2);
      assert.equal((await jwtLayer.verify(issued.accessToken)).ok, true);
      // What jose reads as a JSON object passes: here one after a byte-order mark and spaces.
      const input = `${base64url.encode(JSON.stringify(realHeader()))}.${base64url.encode(`\ufeff \n${JSON.stringify({ ...good, exp: nowS() + 600 })}\t `)}`;
      const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', realKey, new TextEncoder().encode(input)));
      assert.equal((await jwtLayer.verify(`${input}.${base64url.encode(signature)}`)).ok, true);
    });

    it('rejects tokens of other kinds: ChatApp access, refresh, secret key, garbage', async () => {
      const u = await seedAccount(t.core);
      const made = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
      const chatappAccess = (made.json() as { data: { accessToken: string } }).data.accessToken;
      assert.match(chatappAccess, /^tda_/);
      const candidates = [chatappAccess, issued.refreshToken, k.secretKey, newToken('access').token, 'eyJ.eyJ.x', 'a.b.c', '', 'x'.repeat(5000)];
      for (const token of candidates) {
        const outcome = await t.core.serviceAccounts.verifyAccessJwt(token);
        assert.equal(outcome.ok, false, token.slice(0, 12));
        if (token.trim()) assertHosterError(await hosterCalls(t).infoAccess(token, k.accountId), 401, 'access_token_not_found');
      }
      // And the other way round: a service access JWT is no ChatApp token.
      const check = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: issued.accessToken } });
      assert.equal(check.statusCode, 401);
    });

    it('rejects a genuine token once its pair was refreshed, and after its key was revoked', async () => {
      const h = hosterCalls(t);
      const key = await seedServiceKey(t.core);
      const first = assertHosterOk(await h.create(key), 'create_token_success');
      const second = assertHosterOk(await h.refresh(key.accountId, first.refreshToken), 'refresh_token_success');
      assert.equal((await t.core.serviceAccounts.verifyAccessJwt(first.accessToken)).ok, false);
      assert.equal((await t.core.serviceAccounts.verifyAccessJwt(second.accessToken)).ok, true);
      await t.core.serviceAccounts.revokeKey(key.keyId, { address: 'test' });
      assert.equal((await t.core.serviceAccounts.verifyAccessJwt(second.accessToken)).ok, false);
      assertHosterError(await h.infoAccess(second.accessToken, key.accountId), 401, 'access_token_not_found');
    });
  });
}
