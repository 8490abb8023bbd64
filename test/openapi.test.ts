/**
 * The OpenAPI drift test: the document at /openapi.json is generated from the route
 * schemas, so it drifts only if a route escapes it or a route's real answers stop matching what it
 * declares. This test fails in both cases: every registered route must be in the document with a
 * tag, a summary and a documented success shape, and real responses (main success and error paths,
 * driven with inject) must match the schema documented for their status.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { LightMyRequestResponse } from 'fastify';
import { CABINET_COOKIE, OPERATOR_COOKIE } from '../src/http/native/console-auth.ts';
import { OPENAPI_TAGS } from '../src/http/ops/openapi.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const CTX = { address: 'test' };
const ADMIN_TOKEN = testAdminToken();

/** Routes kept out of the document on purpose: the docs themselves and the console's pages. */
const UNDOCUMENTED = [/^\/docs(\/|$)/, /^\/openapi\.json$/, /^\/$/, /^\/console(\/.*)?$/];

interface MediaObject {
  schema?: Record<string, unknown>;
  examples?: Record<string, { value: unknown }>;
}
interface ResponseObject {
  description: string;
  content?: Record<string, MediaObject>;
  headers?: Record<string, unknown>;
}
interface Operation {
  tags?: string[];
  summary?: string;
  responses: Record<string, ResponseObject>;
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: Record<string, unknown>;
  tags: { name: string }[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

/** Fastify `/a/:id` -> OpenAPI `/a/{id}`. */
function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function responseFor(op: Operation, status: number): ResponseObject | undefined {
  return op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`] ?? op.responses.default;
}

for (const db of databases()) {
  describe(`OpenAPI document (${db})`, () => {
    let t: TestTokend;
    let doc: OpenApiDoc;
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const validators = new Map<string, ReturnType<typeof ajv.compile>>();

    before(async () => {
      t = await startTokend({ db, config: { chatappDailyMakeLimit: 2, adminToken: ADMIN_TOKEN } });
      const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      doc = res.json() as OpenApiDoc;
    });
    after(async () => t.close());

    /** Asserts that a real response matches the schema its route documents for its status. */
    function conforms(method: string, route: string, res: LightMyRequestResponse): void {
      const op = doc.paths[route]?.[method.toLowerCase()];
      assert.ok(op, `${method} ${route} is not in the document`);
      const documented = responseFor(op, res.statusCode);
      assert.ok(documented, `${method} ${route} answered ${res.statusCode}, which it does not document`);
      const media = documented.content?.['application/json'];
      if (!media?.schema) {
        // A body that is not JSON (the Prometheus text format) must be of the documented media type.
        const types = Object.keys(documented.content ?? {});
        const got = String(res.headers['content-type']);
        assert.ok(types.length === 0 || types.some((type) => got.startsWith(type)), `${method} ${route} ${res.statusCode}: ${got} is not one of ${types.join(', ')}`);
        return;
      }
      assert.match(String(res.headers['content-type']), /^application\/json/, `${method} ${route} ${res.statusCode} content type`);
      const key = `${method} ${route} ${res.statusCode}`;
      let validate = validators.get(key);
      if (!validate) {
        validate = ajv.compile(doc.components ? { ...media.schema, components: doc.components } : media.schema);
        validators.set(key, validate);
      }
      const body: unknown = res.json();
      assert.ok(validate(body), `${key}: body does not match its schema: ${ajv.errorsText(validate.errors)}\n${res.body}`);
      for (const name of Object.keys(documented.headers ?? {})) {
        assert.ok(res.headers[name.toLowerCase()] !== undefined, `${key}: documented header ${name} is missing`);
      }
    }

    it('is OpenAPI 3.1 with the tags of every surface', () => {
      assert.equal(doc.openapi, '3.1.0');
      assert.deepEqual(doc.tags.map((x) => x.name), OPENAPI_TAGS.map((x) => x.name));
    });

    it('declares the admin API\'s security schemes, and every admin operation names them and its permission', () => {
      const schemes = (doc.components as { securitySchemes?: Record<string, { type: string; scheme?: string; in?: string }> } | undefined)?.securitySchemes;
      assert.ok(schemes, 'no components.securitySchemes: /docs has no Authorize button');
      assert.equal(schemes.bearer?.type, 'http');
      assert.equal(schemes.bearer?.scheme, 'bearer');
      assert.equal(schemes.operatorConsole?.in, 'cookie');
      let admin = 0;
      for (const [path, item] of Object.entries(doc.paths)) {
        if (!path.startsWith('/api/admin/') || path === '/api/admin/session') continue;
        for (const [method, op] of Object.entries(item as Record<string, Operation & { security?: Record<string, string[]>[]; description?: string }>)) {
          if (!METHODS.includes(method)) continue;
          admin++;
          const names = (op.security ?? []).flatMap((s) => Object.keys(s));
          assert.ok(names.includes('bearer') && names.includes('operatorConsole'), `${method.toUpperCase()} ${path} names no security scheme`);
          assert.match(op.description ?? '', /operator key|admin token|Any operator credential/i, `${method.toUpperCase()} ${path} does not say what it needs`);
          assert.ok(op.responses['403'] && op.responses['429'], `${method.toUpperCase()} ${path} does not document 403 and 429`);
        }
      }
      assert.ok(admin >= 15, `only ${admin} admin operations`);
    });

    it('documents every registered route, and nothing else', () => {
      const registered = new Set<string>();
      const methodsOf = (r: (typeof t.routes)[number]): string[] => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => m.toUpperCase());
      const gets = new Set(t.routes.filter((r) => methodsOf(r).includes('GET')).map((r) => r.url));
      for (const route of t.routes) {
        const methods = methodsOf(route);
        const url = route.url ?? (route as { path?: string }).path ?? '';
        const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true;
        for (const method of methods) {
          // Fastify adds a HEAD twin to every GET; it answers like the GET.
          if (method === 'HEAD' && gets.has(url)) continue;
          if (UNDOCUMENTED.some((re) => re.test(url))) {
            assert.ok(hidden || method === 'HEAD', `${method} ${url} is exempt from the document but not hidden`);
            continue;
          }
          assert.ok(!hidden, `${method} ${url} is hidden from the document`);
          const path = openapiPath(url);
          registered.add(`${method} ${path}`);
          const op = doc.paths[path]?.[method.toLowerCase()];
          assert.ok(op, `${method} ${url} is registered but missing from /openapi.json`);
        }
      }
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const method of Object.keys(item).filter((m) => METHODS.includes(m))) {
          assert.ok(registered.has(`${method.toUpperCase()} ${path}`), `${method.toUpperCase()} ${path} is documented but not registered`);
        }
      }
    });

    it('gives every operation a known tag, a summary, a documented success shape and its errors', () => {
      const tags = new Set<string>(OPENAPI_TAGS.map((x) => x.name));
      // Every problem at once: one run lists all the routes that need work.
      const problems: string[] = [];
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (!METHODS.includes(method)) continue;
          const name = `${method.toUpperCase()} ${path}`;
          if (!(op.tags?.length === 1 && tags.has(op.tags[0]!))) problems.push(`${name}: tag ${String(op.tags)} is not one of ${[...tags].join(', ')}`);
          if (!op.summary) problems.push(`${name}: no summary`);
          const success = Object.entries(op.responses).filter(([status]) => /^(2\d\d|2XX|3\d\d)$/.test(status));
          if (success.length === 0) problems.push(`${name}: no success response documented`);
          for (const [status, response] of success) {
            if (status === '204' || /^3/.test(status)) continue;
            // A success without a body (revocation, forward-auth) must say so (`type: 'null'`
            // with a description); Fastify's placeholder means nobody declared the shape.
            const declared = response.content?.['application/json']?.schema !== undefined || response.description !== 'Default Response';
            if (!declared) problems.push(`${name}: ${status} has no documented shape`);
          }
          // Liveness has no failure of its own to document; every other route does.
          const errors = Object.keys(op.responses).filter((status) => /^[45]/.test(status));
          if (path !== '/healthz' && errors.length === 0) problems.push(`${name}: no error response documented`);
        }
      }
      assert.deepEqual(problems, []);
    });

    it('has examples that match their own schemas', () => {
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (!METHODS.includes(method)) continue;
          for (const [status, response] of Object.entries(op.responses)) {
            const media = response.content?.['application/json'];
            if (!media?.schema || !media.examples) continue;
            const validate = ajv.compile(doc.components ? { ...media.schema, components: doc.components } : media.schema);
            for (const [name, example] of Object.entries(media.examples)) {
              assert.ok(validate(example.value), `${method} ${path} ${status} example ${name}: ${ajv.errorsText(validate.errors)}`);
            }
          }
        }
      }
    });

    it('ChatApp: real answers match the documented shapes, error envelopes intact', async () => {
      const u = await seedAccount(t.core);
      const make = (payload: unknown, extra: Record<string, string> = {}) =>
        t.app.inject({ method: 'POST', url: '/v1/tokens', payload: payload as Record<string, string>, headers: extra });
      const ok = await make({ email: u.email, password: u.password, appId: u.appId });
      assert.equal(ok.statusCode, 200);
      conforms('POST', '/v1/tokens', ok);
      const pair = ok.json().data as { accessToken: string; refreshToken: string };
      assert.deepEqual(Object.keys(ok.json().data), ['cabinetUserId', 'accessToken', 'accessTokenEndTime', 'refreshToken', 'refreshTokenEndTime']);

      const wrong = await make({ email: u.email, password: 'wrong-password', appId: u.appId });
      assert.equal(wrong.statusCode, 401);
      conforms('POST', '/v1/tokens', wrong);
      assert.deepEqual(Object.keys(wrong.json()), ['success', 'error'], 'an error never carries data');

      const invalid = await make({ email: 5, appId: u.appId });
      assert.equal(invalid.statusCode, 400);
      conforms('POST', '/v1/tokens', invalid);
      const fields = invalid.json().error.fields as { name: string }[];
      assert.ok(Array.isArray(fields) && fields.some((f) => f.name === 'password') && fields.some((f) => f.name === 'email'), 'fields survive serialization');

      const form = await t.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ email: u.email, password: u.password, appId: u.appId, extra: 'x' }).toString(),
      });
      assert.equal(form.statusCode, 200);
      conforms('POST', '/v1/tokens', form);

      const plain = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
      assert.equal(plain.statusCode, 415);
      conforms('POST', '/v1/tokens', plain);

      const malformed = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: { 'content-type': 'application/json' }, payload: '{"email":' });
      assert.equal(malformed.statusCode, 400);
      conforms('POST', '/v1/tokens', malformed);

      const noApp = await make({ email: u.email, password: u.password, appId: 'app_nope' });
      assert.equal(noApp.statusCode, 404);
      conforms('POST', '/v1/tokens', noApp);

      const quota = await make({ email: u.email, password: u.password, appId: u.appId }, { lang: 'ru' });
      assert.equal(quota.statusCode, 429);
      conforms('POST', '/v1/tokens', quota);
      assert.equal(quota.json().error.code, 'ApiTokensLimitError');

      const inQuery = await t.app.inject({ method: 'GET', url: `/v1/tokens/check?token=${pair.accessToken}` });
      assert.equal(inQuery.statusCode, 400);
      conforms('GET', '/v1/tokens/check', inQuery);

      const check = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: pair.accessToken } });
      assert.equal(check.statusCode, 200);
      conforms('GET', '/v1/tokens/check', check);
      for (const headers of [{}, { authorization: 'tda_nope' }, { authorization: 'Bearer x' }]) {
        const bad = await t.app.inject({ method: 'GET', url: '/v1/tokens/check', headers });
        assert.equal(bad.statusCode, 401);
        conforms('GET', '/v1/tokens/check', bad);
        assert.equal(bad.body, '{"success":false,"error":{"code":"ApiInvalidTokenError","message":"Invalid Token"}}', 'the bytes of ChatApp\'s documented answer');
      }

      const refreshed = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: pair.refreshToken } });
      assert.equal(refreshed.statusCode, 200);
      conforms('POST', '/v1/tokens/refresh', refreshed);
      for (const headers of [{}, { refresh: pair.refreshToken }, { refresh: 'tdr_bad' }]) {
        const bad = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers });
        assert.equal(bad.statusCode, 401);
        conforms('POST', '/v1/tokens/refresh', bad);
      }
      const big = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(t.config.bodyLimit + 1) });
      assert.equal(big.statusCode, 413);
      conforms('POST', '/v1/tokens/refresh', big);
    });

    it('hoster.by: real answers match the documented shapes, and the bytes stay pretty-printed', async () => {
      const u = await seedAccount(t.core);
      const sa = await t.core.serviceAccounts.create({ accountId: u.accountId, name: 'openapi', actions: ['dns_orders_list'] }, CTX);
      const { key, secretKey } = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      const create = (headers: Record<string, string>) =>
        t.app.inject({ method: 'POST', url: '/service/account/create/token', headers: { 'content-type': 'application/json', ...headers } });
      const ok = await create({ 'access-key': key.accessKey, 'secret-key': secretKey });
      assert.equal(ok.statusCode, 200);
      conforms('POST', '/service/account/create/token', ok);
      // The schema documents; it must not re-serialize: the body is exactly the dialect's rendering.
      assert.equal(ok.body, JSON.stringify(ok.json(), null, 4) + '\n');
      assert.ok(ok.body.includes('"httpCode": 200'));
      const pair = ok.json().payload as { accessToken: string; refreshToken: string; userId: number };

      const badKeys: Record<string, string>[] = [{}, { 'access-key': key.accessKey }, { 'access-key': key.accessKey, 'secret-key': 'tds_wrong' }];
      for (const headers of badKeys) {
        const bad = await create(headers);
        assert.ok(bad.statusCode === 400 || bad.statusCode === 401, String(bad.statusCode));
        conforms('POST', '/service/account/create/token', bad);
        assert.equal(bad.body, JSON.stringify(bad.json(), null, 4) + '\n');
      }

      const info = await t.app.inject({ method: 'GET', url: '/token/info/access', headers: { 'access-token': pair.accessToken, 'x-user-id': String(pair.userId) } });
      assert.equal(info.statusCode, 200);
      conforms('GET', '/token/info/access', info);
      for (const headers of [{}, { 'access-token': 'eyJ.eyJ.x' }, { 'access-token': pair.accessToken, 'x-user-id': 'abc' }]) {
        conforms('GET', '/token/info/access', await t.app.inject({ method: 'GET', url: '/token/info/access', headers }));
      }
      const refreshInfo = await t.app.inject({ method: 'GET', url: '/token/info/refresh', headers: { 'refresh-token': pair.refreshToken, 'x-user-id': String(pair.userId) } });
      assert.equal(refreshInfo.statusCode, 200);
      conforms('GET', '/token/info/refresh', refreshInfo);
      conforms('GET', '/token/info/refresh', await t.app.inject({ method: 'GET', url: '/token/info/refresh', headers: { 'refresh-token': pair.refreshToken } }));

      for (const method of ['PATCH', 'POST'] as const) {
        const current = method === 'PATCH' ? pair.refreshToken : refreshedToken;
        const refreshed = await t.app.inject({ method, url: '/token/refresh', headers: { 'content-type': 'application/json', 'x-user-id': String(pair.userId), 'refresh-token': current } });
        assert.equal(refreshed.statusCode, 200);
        conforms(method, '/token/refresh', refreshed);
        refreshedToken = (refreshed.json().payload as { refreshToken: string }).refreshToken;
        const replay = await t.app.inject({ method, url: '/token/refresh', headers: { 'x-user-id': String(pair.userId), 'refresh-token': current } });
        assert.equal(replay.statusCode, 401);
        conforms(method, '/token/refresh', replay);
      }
      conforms('PATCH', '/token/refresh', await t.app.inject({ method: 'PATCH', url: '/token/refresh', headers: { 'refresh-token': pair.refreshToken } }));
    });
    let refreshedToken = '';

    it('Invoicebox: real answers match the documented shapes', async () => {
      const u = await seedAccount(t.core);
      for (const format of ['v3', 'l3', 'native'] as const) {
        const { token } = await t.core.apiTokens.create({ accountId: u.accountId, format, label: `openapi ${format}` }, CTX);
        for (const version of ['v3', 'l3']) {
          const path = `/${version}/security/api/auth/auth`;
          const ok = await t.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } });
          assert.equal(ok.statusCode, 200);
          conforms('GET', path, ok);
          assert.deepEqual(ok.json(), { data: { userId: u.uid, profile: null, accessToken: null }, extendedData: [] });
        }
      }
      const path = '/v3/security/api/auth/auth';
      const anonymous = await t.app.inject({ method: 'GET', url: path });
      assert.equal(anonymous.body, '{"data":{"userId":null,"profile":null,"accessToken":null},"extendedData":[]}');
      conforms('GET', path, anonymous);
      const bad = await t.app.inject({ method: 'GET', url: path, headers: { authorization: 'Bearer 00000000000000000000000000000000' } });
      assert.equal(bad.body, '{"error":{"message":"Unauthorized","code":"unauthorized"}}', 'the bytes of Invoicebox\'s documented answer, message first');
      conforms('GET', path, bad);
      conforms('GET', path, await t.app.inject({ method: 'GET', url: `${path}?token=b37c4c689295904ed21eee5d9a48d42e` }));
    });

    it('native: introspection, revocation, JWKS and forward-auth match the documented shapes', async () => {
      const credential = (await t.core.callers.createResourceServer('openapi', CTX)).token;
      const u = await seedAccount(t.core);
      const { token } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'native', label: 'openapi' }, CTX);
      const form = (url: string, body: string, auth = `Bearer ${credential}`) =>
        t.app.inject({ method: 'POST', url, headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: body });

      const active = await form('/oauth2/introspect', `token=${token}`);
      assert.equal(active.json().active, true);
      conforms('POST', '/oauth2/introspect', active);
      const inactive = await form('/oauth2/introspect', 'token=nope');
      assert.equal(inactive.body, '{"active":false}');
      conforms('POST', '/oauth2/introspect', inactive);
      conforms('POST', '/oauth2/introspect', await form('/oauth2/introspect', 'token=x', 'Bearer wrong'));
      conforms('POST', '/oauth2/introspect', await form('/oauth2/introspect', 'nothing=1'));
      conforms('POST', '/oauth2/introspect', await t.app.inject({ method: 'POST', url: '/oauth2/introspect', headers: { authorization: `Bearer ${credential}`, 'content-type': 'text/plain' }, payload: 'x' }));

      const revoked = await form('/oauth2/revoke', `token=${token}`);
      assert.equal(revoked.statusCode, 200);
      conforms('POST', '/oauth2/revoke', revoked);
      conforms('POST', '/oauth2/revoke', await form('/oauth2/revoke', 'token=x', 'Bearer wrong'));

      const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      assert.equal(jwks.statusCode, 200);
      conforms('GET', '/.well-known/jwks.json', jwks);
      assert.ok((jwks.json().keys as unknown[]).length >= 1);

      const { token: live } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'v3', label: 'openapi fa' }, CTX);
      const allowed = await t.app.inject({ method: 'GET', url: '/auth/verify', headers: { authorization: `Bearer ${live}` } });
      assert.equal(allowed.statusCode, 200);
      conforms('GET', '/auth/verify', allowed);
      assert.equal(allowed.body, '');
      for (const headers of [{}, { authorization: 'Bearer nope' }]) conforms('GET', '/auth/verify', await t.app.inject({ method: 'GET', url: '/auth/verify', headers }));
    });

    it('cabinet and admin: real answers of every readable route match the documented shapes', async () => {
      const u = await seedAccount(t.core);
      await t.core.accounts.createApp({ accountId: u.accountId, name: 'second' }, CTX);
      const cabinet = await t.core.console.signInAccount({ email: u.email, password: u.password }, { ...CTX, userAgent: null });
      const operator = await t.core.console.signInOperator(ADMIN_TOKEN, { ...CTX, userAgent: null });
      assert.ok(cabinet.ok && operator.ok);
      const surfaces = [
        { prefix: '/api/cabinet/', cookie: `${CABINET_COOKIE.name}=${cabinet.token}`, token: cabinet.token },
        { prefix: '/api/admin/', cookie: `${OPERATOR_COOKIE.name}=${operator.token}`, token: operator.token },
      ];
      for (const { prefix, cookie, token } of surfaces) {
        const gets = Object.entries(doc.paths).filter(([path, item]) => path.startsWith(prefix) && item.get && !path.includes('{'));
        assert.ok(gets.length > 0, prefix);
        for (const [path] of gets) {
          const ok = await t.app.inject({ method: 'GET', url: path, headers: { cookie } });
          assert.equal(ok.statusCode, 200, `${path}: ${ok.body}`);
          conforms('GET', path, ok);
        }
        // A state change without the CSRF token, then with it.
        const signOut = prefix + 'session';
        if (doc.paths[signOut]?.delete) {
          conforms('DELETE', signOut, await t.app.inject({ method: 'DELETE', url: signOut, headers: { cookie } }));
          const out = await t.app.inject({ method: 'DELETE', url: signOut, headers: { cookie, 'x-csrf-token': t.core.console.csrfToken(token) } });
          assert.equal(out.statusCode, 200, out.body);
          conforms('DELETE', signOut, out);
        }
      }
      const signIn = await t.app.inject({ method: 'POST', url: '/api/cabinet/session', payload: { email: u.email, password: u.password } });
      assert.equal(signIn.statusCode, 200);
      conforms('POST', '/api/cabinet/session', signIn);
      const wrong = await t.app.inject({ method: 'POST', url: '/api/cabinet/session', payload: { email: u.email, password: 'wrong-password' } });
      conforms('POST', '/api/cabinet/session', wrong);
      const unknownField = await t.app.inject({ method: 'POST', url: '/api/cabinet/session', payload: { email: u.email, password: 'x', extra: 1 } });
      assert.equal(unknownField.statusCode, 400);
      conforms('POST', '/api/cabinet/session', unknownField);
    });

    it('every documented operation answers a bare request (no credentials, no body) as documented', async () => {
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const method of Object.keys(item).filter((m) => METHODS.includes(m))) {
          const url = path.replace(/\{[^}]+\}/g, '1');
          const res = await t.app.inject({ method: method.toUpperCase() as 'GET', url });
          assert.ok(res.statusCode < 500, `${method.toUpperCase()} ${url}: ${res.statusCode} ${res.body}`);
          conforms(method.toUpperCase(), path, res);
        }
      }
    });

    it('ops: real answers match the documented shapes', async () => {
      conforms('GET', '/healthz', await t.app.inject({ method: 'GET', url: '/healthz' }));
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.json().database, db);
      conforms('GET', '/readyz', ready);
    });

    it('serves the docs page and its assets from tokend itself', async () => {
      const page = await t.app.inject({ method: 'GET', url: '/docs/' });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /swagger-ui-bundle\.js/);
      assert.doesNotMatch(page.body, /https?:\/\//, 'no CDN');
      assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
      const bundle = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
      assert.equal(bundle.statusCode, 200);
      const json = await t.app.inject({ method: 'GET', url: '/docs/json' });
      assert.deepEqual(json.json(), doc, 'the page downloads the same document');
    });
  });
}
