/**
 * Verification for resource servers (SDK `createVerifier`): service-account JWTs locally through
 * tokend's JWKS, opaque tokens through /oauth2/introspect with a short cache, and the Fastify and
 * Express-style adapters protecting a tiny API.
 *
 * The attack battery: `alg: none`, HS256 "signed" with the public key, an unknown kid, `jku`/`x5u`/
 * `jwk` headers, wrong `iss`/`aud`/`typ`, expired, `nbf` in the future, a token of another kind.
 * Claim checks use tokens signed by a key the verifier trusts (served from memory as its JWKS),
 * since tokend never signs a wrong claim; signature and key checks use tokend's real tokens.
 */
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import {
  createIntrospector,
  createVerifier,
  tokendExpress,
  tokendFastify,
  tokenOf,
  type FetchLike,
  type Verifier,
  type VerifyResult,
} from '../client/src/index.ts';
import { buildOrdersApi } from '../examples/resource-server/server.ts';
import { ManualClock } from '../src/core/clock.ts';
import { countingFetch } from './helpers/counting-fetch.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const CTX = { address: 'test' };

function reason(result: VerifyResult): string {
  return result.active ? 'active' : result.reason;
}

function b64json(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

/** Re-signs nothing: swaps a token's header, keeping payload and signature. */
function withHeader(token: string, header: Record<string, unknown>): string {
  const [, payload, signature] = token.split('.');
  return `${b64json(header)}.${payload}.${signature}`;
}

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[1]!))) as Record<string, unknown>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

for (const db of databases()) {
  describe(`resource-server verification (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let credential: string;
    let keys: { accessKey: string; secretKey: string; userId: number };
    const jwksFetch = countingFetch();
    let verifier: Verifier;

    before(async () => {
      // Rotation publishes a new key a minute before it signs; access JWTs live an hour.
      t = await startTokend({ db, clock, listen: true, config: { signingKeyPublishDelay: 60_000 } });
      credential = (await t.core.callers.createResourceServer('test api', CTX)).token;
      const u = await seedAccount(t.core);
      const sa = await t.core.serviceAccounts.create({ accountId: u.accountId, name: 'rs test', actions: ['orders_read', 'orders_write'] }, CTX);
      const key = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      keys = { accessKey: key.key.accessKey, secretKey: key.secretKey, userId: u.accountId };
      verifier = makeVerifier();
    });
    after(async () => t.close());

    function makeVerifier(options: { cooldownMs?: number; issuer?: string; audience?: string; fetch?: FetchLike } = {}): Verifier {
      return createVerifier({
        jwt: {
          jwksUrl: `${t.url}/.well-known/jwks.json`,
          issuer: options.issuer ?? t.config.jwtIssuer,
          audience: options.audience ?? t.config.jwtAudience,
          now: () => clock.now(),
          fetch: options.fetch ?? jwksFetch.fetch,
          ...(options.cooldownMs !== undefined ? { cooldownMs: options.cooldownMs } : {}),
        },
        introspection: { url: `${t.url}/oauth2/introspect`, credential, now: () => clock.now() },
      });
    }

    async function serviceTokens(): Promise<{ accessToken: string; refreshToken: string }> {
      const outcome = await t.core.serviceAccounts.createTokens({ accessKey: keys.accessKey, secretKey: keys.secretKey }, CTX);
      assert.ok(outcome.ok);
      return outcome.pair;
    }

    it('accepts a service-account JWT locally, with its user and actions', async () => {
      const { accessToken } = await serviceTokens();
      const result = await verifier.verify(accessToken);
      assert.ok(result.active, reason(result));
      assert.equal(result.source, 'jwt');
      assert.equal(result.sub, String(keys.userId));
      assert.deepEqual(result.scope, ['orders_read', 'orders_write']);
      assert.equal(result.clientId, keys.accessKey);
    });

    it('rejects the attack battery on tokend\'s own tokens and keys', async () => {
      const { accessToken } = await serviceTokens();
      const header = JSON.parse(new TextDecoder().decode(base64url.decode(accessToken.split('.')[0]!))) as Record<string, string>;
      const kid = header.kid!;
      const jwks = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
      const published = jwks.keys.find((k) => k.kid === kid)!;
      const payload = payloadOf(accessToken);
      const attacker = await generateKeyPair('EdDSA');
      const attackerJwk = await exportJWK(attacker.publicKey);

      const none = `${b64json({ alg: 'none', typ: 'at+jwt', kid })}.${accessToken.split('.')[1]}.`;
      assert.equal(reason(await verifier.verify(none)), 'algorithm_not_allowed', 'alg none');

      for (const secret of [base64url.decode(published.x!), new TextEncoder().encode(JSON.stringify(published))]) {
        const hs = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid }).sign(secret);
        assert.equal(reason(await verifier.verify(hs)), 'algorithm_not_allowed', 'HS256 with the public key');
      }

      const forged = (h: Record<string, unknown>): Promise<string> =>
        new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...h }).sign(attacker.privateKey);
      assert.equal(reason(await verifier.verify(await forged({ kid: 'attacker-kid' }))), 'unknown_key', 'unknown kid');
      assert.equal(reason(await verifier.verify(await forged({ kid }))), 'invalid_signature', 'a known kid, another key');
      assert.equal(reason(await verifier.verify(await forged({ kid, jwk: attackerJwk }))), 'forbidden_header', 'embedded jwk');
      assert.equal(reason(await verifier.verify(await forged({ kid, jku: 'https://attacker.example/jwks.json' }))), 'forbidden_header', 'jku');
      assert.equal(reason(await verifier.verify(await forged({ kid, x5u: 'https://attacker.example/cert.pem' }))), 'forbidden_header', 'x5u');
      assert.equal(reason(await verifier.verify(withHeader(accessToken, { ...header, jku: 'https://attacker.example/' }))), 'forbidden_header');

      const tampered = `${accessToken.split('.')[0]}.${b64json({ ...payload, scope: 'admin' })}.${accessToken.split('.')[2]}`;
      assert.equal(reason(await verifier.verify(tampered)), 'invalid_signature', 'tampered payload');
      assert.equal(reason(await verifier.verify(withHeader(accessToken, { ...header, typ: 'JWT' }))), 'invalid_signature', 'typ is signed');

      assert.equal(reason(await makeVerifier({ issuer: 'https://other-issuer.example' }).verify(accessToken)), 'claim_invalid', 'wrong iss');
      assert.equal(reason(await makeVerifier({ audience: 'another-api' }).verify(accessToken)), 'claim_invalid', 'wrong aud');

      clock.advance(t.config.serviceAccessTtl + 10_000);
      assert.equal(reason(await verifier.verify(accessToken)), 'expired');
      clock.advance(-(t.config.serviceAccessTtl + 10_000));

      for (const garbage of ['eyJhbGciOiJFZERTQSJ9.e30', 'eyJ.eyJ.x', 'x'.repeat(9000), 'a b']) {
        assert.equal((await verifier.verify(garbage)).active, false, garbage.slice(0, 20));
      }
      assert.equal(reason(await verifier.verify(undefined)), 'missing');
    });

    it('refetches the JWKS for an unknown kid at most once per cooldown', async () => {
      const counting = countingFetch();
      const v = makeVerifier({ fetch: counting.fetch });
      const { accessToken } = await serviceTokens();
      assert.ok((await v.verify(accessToken)).active);
      const attacker = await generateKeyPair('EdDSA');
      for (let i = 0; i < 20; i++) {
        const forged = await new SignJWT(payloadOf(accessToken)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: `kid-${i}` }).sign(attacker.privateKey);
        assert.equal(reason(await v.verify(forged)), 'unknown_key');
      }
      assert.equal(counting.count('GET /.well-known/jwks.json'), 1, 'the cache serves; forged kids cannot hammer tokend');
      for (let i = 0; i < 20; i++) assert.ok((await v.verify(accessToken)).active);
      assert.equal(counting.count('GET /.well-known/jwks.json'), 1);
    });

    it('accepts tokens signed by a rotated-in key, and still those of the previous key', async () => {
      // No cooldown here: the test cannot wait 30 s of real time between two fetches.
      const counting = countingFetch();
      const v = makeVerifier({ cooldownMs: 0, fetch: counting.fetch });
      const before = await serviceTokens();
      assert.ok((await v.verify(before.accessToken)).active);
      const rotation = await t.core.signing.rotate(CTX);
      clock.advance(61_000);
      const afterRotation = await serviceTokens();
      const kidOf = (token: string): string => (JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0]!))) as { kid: string }).kid;
      assert.equal(kidOf(afterRotation.accessToken), rotation.key.kid, 'the new key signs');
      assert.notEqual(kidOf(afterRotation.accessToken), kidOf(before.accessToken));
      const fresh = await v.verify(afterRotation.accessToken);
      assert.ok(fresh.active, reason(fresh));
      assert.equal(counting.count('GET /.well-known/jwks.json'), 2, 'one refetch for the new kid');
      assert.ok((await v.verify(before.accessToken)).active, 'the retiring key still verifies its tokens');
    });

    it('pins iss, aud, typ, exp, nbf and the algorithms (tokens signed by a trusted key)', async () => {
      const trusted = await generateKeyPair('EdDSA');
      const ec = await generateKeyPair('ES256');
      const jwks = { keys: [{ ...(await exportJWK(trusted.publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' }, { ...(await exportJWK(ec.publicKey)), kid: 'k2', alg: 'ES256' }] };
      const v = createVerifier({
        jwt: {
          jwksUrl: 'https://issuer.example/.well-known/jwks.json',
          issuer: 'https://issuer.example',
          audience: 'https://api.example',
          now: () => clock.now(),
          fetch: async () => new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } }),
        },
      });
      const now = Math.floor(clock.now() / 1000);
      const good = { iss: 'https://issuer.example', aud: 'https://api.example', sub: '42', iat: now, exp: now + 600, jti: 'j1', scope: 'a b' };
      const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}, key: CryptoKey = trusted.privateKey): Promise<string> =>
        new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1', ...header }).sign(key);

      const ok = await v.verify(await sign(good));
      assert.ok(ok.active, reason(ok));
      assert.deepEqual(ok.scope, ['a', 'b']);
      assert.ok((await v.verify(await sign(good, { typ: 'application/at+jwt' }))).active, 'RFC 9068 long form');

      const cases: [string, Promise<string>, string][] = [
        ['wrong iss', sign({ ...good, iss: 'https://evil.example' }), 'claim_invalid'],
        ['wrong aud', sign({ ...good, aud: 'https://other-api.example' }), 'claim_invalid'],
        ['no aud', sign({ ...good, aud: undefined }), 'claim_invalid'],
        ['typ JWT (an ID token, another kind)', sign(good, { typ: 'JWT' }), 'wrong_token_type'],
        ['no typ', new SignJWT(good).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).sign(trusted.privateKey), 'wrong_token_type'],
        ['expired', sign({ ...good, exp: now - 60 }), 'expired'],
        ['nbf in the future', sign({ ...good, nbf: now + 600 }), 'not_yet_valid'],
        ['iat in the future', sign({ ...good, iat: now + 600 }), 'not_yet_valid'],
        ['no jti', sign({ ...good, jti: undefined }), 'claim_invalid'],
        ['no sub', sign({ ...good, sub: undefined }), 'claim_invalid'],
        ['scope not a string', sign({ ...good, scope: ['a'] }), 'claim_invalid'],
        ['ES256 while EdDSA is pinned', new SignJWT(good).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k2' }).sign(ec.privateKey), 'algorithm_not_allowed'],
        ['crit header', sign(good).then((tk) => withHeader(tk, { alg: 'EdDSA', typ: 'at+jwt', kid: 'k1', crit: ['exp'] })), 'forbidden_header'],
      ];
      for (const [name, token, expected] of cases) assert.equal(reason(await v.verify(await token)), expected, name);
      assert.throws(() => createVerifier({ jwt: { jwksUrl: 'https://x.example/jwks', issuer: 'i', audience: 'a', algorithms: ['HS256'] } }), TypeError);
    });

    it('verifies opaque tokens through introspection, with a short cache, and refuses refresh tokens', async () => {
      const u = await seedAccount(t.core);
      const made = await fetch(`${t.url}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: u.email, password: u.password, appId: u.appId }),
      });
      const pair = ((await made.json()) as { data: { accessToken: string; refreshToken: string } }).data;
      const counting = countingFetch();
      const introspect = createIntrospector({ url: `${t.url}/oauth2/introspect`, credential, fetch: counting.fetch, now: () => clock.now(), cacheTtlMs: 5000 });
      const v = createVerifier({ introspection: { url: `${t.url}/oauth2/introspect`, credential, now: () => clock.now() } });

      const first = await introspect(pair.accessToken);
      assert.ok(first.active, reason(first));
      assert.equal(first.source, 'introspection');
      assert.equal(first.sub, String(u.accountId));
      await Promise.all(Array.from({ length: 10 }, () => introspect(pair.accessToken)));
      assert.equal(counting.count('POST /oauth2/introspect'), 1, 'cached');

      const found = await t.core.sessions.lookupAccess(pair.accessToken);
      assert.ok(found && (await t.core.sessions.revoke(found.session.id, CTX, 'test')));
      clock.advance(5001);
      assert.equal(reason(await introspect(pair.accessToken)), 'inactive', 'a revocation shows once the cache time has passed');
      assert.equal(counting.count('POST /oauth2/introspect'), 2);

      const service = await serviceTokens();
      assert.equal(reason(await v.verify(service.refreshToken)), 'wrong_token_type', 'a refresh token never opens an API');
      assert.equal(reason(await v.verify('tda_unknown0000000000000000000000')), 'inactive');
      const wrongCredential = createIntrospector({ url: `${t.url}/oauth2/introspect`, credential: 'tdx_wrong' });
      assert.equal(reason(await wrongCredential(service.accessToken)), 'unavailable', 'a bad credential is our problem, not the caller\'s');
    });

    it('runs the example resource server (examples/resource-server)', async () => {
      const u = await seedAccount(t.core);
      const sa = await t.core.serviceAccounts.create({ accountId: u.accountId, name: 'example', actions: ['dns_orders_list'] }, CTX);
      const key = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      const pair = await t.core.serviceAccounts.createTokens({ accessKey: key.key.accessKey, secretKey: key.secretKey }, CTX);
      assert.ok(pair.ok);
      const api = buildOrdersApi(makeVerifier(), { logger: false });
      try {
        const auth = { authorization: `Bearer ${pair.pair.accessToken}` };
        assert.equal((await api.inject({ method: 'GET', url: '/health' })).statusCode, 200);
        const orders = await api.inject({ method: 'GET', url: '/orders', headers: auth });
        assert.equal(orders.statusCode, 200, orders.body);
        assert.equal(orders.json().user, String(u.accountId));
        assert.equal((await api.inject({ method: 'GET', url: '/orders' })).statusCode, 401);
        const other = (await serviceTokens()).accessToken; // orders_read/orders_write, not dns_orders_list
        assert.equal((await api.inject({ method: 'GET', url: '/orders', headers: { authorization: `Bearer ${other}` } })).statusCode, 403);
        assert.equal((await api.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${other}` } })).statusCode, 200);
      } finally {
        await api.close();
      }
    });

    it('protects a Fastify API (plugin) and a node:http API (Express-style middleware)', async () => {
      const { accessToken } = await serviceTokens();
      // A verifier of its own: the shared one cached the JWKS before the rotation test, and its
      // cooldown (real time) keeps it from refetching within this run.
      const verifier = makeVerifier();
      const api = Fastify();
      api.register(async (scope) => {
        await scope.register(tokendFastify, { verifier });
        scope.get('/orders', async (request) => ({ user: tokenOf(request).sub, scope: tokenOf(request).scope }));
      });
      api.register(async (scope) => {
        await scope.register(tokendFastify, { verifier, scopes: ['orders_delete'] });
        scope.delete('/orders', async () => ({ deleted: true }));
      });
      api.get('/public', async () => ({ open: true }));
      await api.ready();
      try {
        const ok = await api.inject({ method: 'GET', url: '/orders', headers: { authorization: `Bearer ${accessToken}` } });
        assert.equal(ok.statusCode, 200);
        assert.deepEqual(ok.json(), { user: String(keys.userId), scope: ['orders_read', 'orders_write'] });
        const viaHoster = await api.inject({ method: 'GET', url: '/orders', headers: { 'access-token': accessToken, 'x-user-id': String(keys.userId) } });
        assert.equal(viaHoster.statusCode, 200, 'hoster.by clients send Access-Token');
        const missing = await api.inject({ method: 'GET', url: '/orders' });
        assert.equal(missing.statusCode, 401);
        assert.equal(missing.headers['www-authenticate'], 'Bearer');
        const bad = await api.inject({ method: 'GET', url: '/orders', headers: { authorization: `Bearer ${accessToken}x` } });
        assert.equal(bad.statusCode, 401);
        assert.equal(bad.headers['www-authenticate'], 'Bearer error="invalid_token"');
        assert.deepEqual(bad.json(), { error: { code: 'unauthorized', message: 'Unauthorized' } });
        const scope = await api.inject({ method: 'DELETE', url: '/orders', headers: { authorization: `Bearer ${accessToken}` } });
        assert.equal(scope.statusCode, 403);
        assert.equal((await api.inject({ method: 'GET', url: '/public' })).statusCode, 200, 'routes outside the scope stay open');
      } finally {
        await api.close();
      }

      const middleware = tokendExpress({ verifier, scopes: ['orders_read'] });
      const server = createServer((req, res) => {
        middleware(req, res, (error?: unknown) => {
          if (error) {
            res.statusCode = 500;
            res.end();
            return;
          }
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ user: tokenOf(req).sub }));
        });
      });
      const base = await listen(server);
      try {
        const ok = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${accessToken}` } });
        assert.equal(ok.status, 200);
        assert.deepEqual(await ok.json(), { user: String(keys.userId) });
        const denied = await fetch(`${base}/orders`, { headers: { authorization: 'Bearer nope' } });
        assert.equal(denied.status, 401);
        assert.equal(denied.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
}
