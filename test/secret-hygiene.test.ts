/**
 * Secret hygiene, on SQLite and PostgreSQL: a representative run of every flow
 * over real HTTP, with logs captured at `trace` level, then a search for every secret the run
 * issued or sent (passwords right and wrong, admin token, Secret Keys, access, refresh and API
 * tokens, console sign-in tokens, CSRF tokens) in:
 *
 * - every log line the process wrote;
 * - every error body and every response header (a Location URL, say), apart from the one
 *   Set-Cookie of a sign-in, which is how a sign-in token is handed over;
 * - the database at rest: the SQLite file, its WAL and shared memory; a `pg_dump` of PostgreSQL.
 *
 * Every response is also checked for stack traces. The crash loops (test/helpers/crash.ts) do the
 * same search over the output of a real `tokend serve` process.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { testAdminToken } from './helpers/credentials.ts';
import { looksLikeStackTrace } from './helpers/envelopes.ts';
import { sendRaw } from './helpers/fuzz.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

/** The cluster's own pg_dump (scripts/pg-test-cluster.sh exports its bin directory), else Debian's newest. */
function pgDump(): string {
  if (process.env.TOKEND_PG_DUMP) return process.env.TOKEND_PG_DUMP;
  if (process.env.TOKEND_TEST_PG_BIN) return join(process.env.TOKEND_TEST_PG_BIN, 'pg_dump');
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.length ? `/usr/lib/postgresql/${versions[0]}/bin/pg_dump` : 'pg_dump';
}
/** Fields of a successful response that carry a secret shown once. */
const SECRET_FIELDS = new Set(['accessToken', 'refreshToken', 'token', 'secretKey', 'csrfToken', 'adminToken', 'password']);

interface Seen {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  body: string;
}

class Recorder {
  readonly secrets = new Set<string>();
  readonly responses: Seen[] = [];
  readonly #base: string;

  constructor(base: string) {
    this.#base = base;
  }

  secret(...values: (string | undefined | null)[]): void {
    for (const v of values) if (v && v.length >= 8) this.secrets.add(v);
  }

  /** One request; every secret field of a successful answer joins the list, and so do sign-in cookies. */
  async call(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; json?: unknown; form?: Record<string, string>; raw?: string } = {},
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.raw !== undefined) {
      body = options.raw;
    }
    const res = await fetch(`${this.#base}${path}`, { method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    this.responses.push({ method, path, status: res.status, headers: res.headers, body: text });
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (res.status < 400) {
      this.#harvest(parsed);
      for (const cookie of res.headers.getSetCookie()) this.secret(/^[^=]+=([^;]*)/.exec(cookie)?.[1]);
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  #harvest(value: unknown): void {
    if (Array.isArray(value)) for (const v of value) this.#harvest(v);
    else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        if (SECRET_FIELDS.has(k) && typeof v === 'string') this.secret(v);
        else this.#harvest(v);
      }
    }
  }
}

/** The places a secret must never be, as `[where, text]` pairs. */
function leaks(secrets: Iterable<string>, places: [string, string][]): string[] {
  const found: string[] = [];
  for (const s of secrets) {
    for (const [where, text] of places) {
      if (text.includes(s)) found.push(`${s.slice(0, 6)}… in ${where}`);
    }
  }
  return found;
}

for (const db of databases()) {
  describe(`secret hygiene (${db})`, () => {
    it('no secret issued or sent during a run of every flow is in a log line, an error, a URL or the database', async () => {
      const t: TestTokend = await startTokend({ db, listen: true, config: { adminToken: testAdminToken(), logLevel: 'trace' } });
      try {
        const r = new Recorder(t.url);
        const admin = t.config.adminToken;
        r.secret(admin);
        const user = await seedAccount(t.core);
        r.secret(user.password);
        const wrongPassword = `${user.password}-wrong`;
        r.secret(wrongPassword);

        // ChatApp: make (JSON and form), refresh, check; wrong password, unknown email; tokens in a URL.
        const made = await r.call('POST', '/v1/tokens', { json: { email: user.email, password: user.password, appId: user.appId } });
        assert.equal(made.status, 200);
        const form = await r.call('POST', '/v1/tokens', { form: { email: user.email, password: user.password, appId: user.appId } });
        assert.equal(form.status, 200);
        let pair = made.body.data;
        for (let i = 0; i < 2; i++) {
          const refreshed = await r.call('POST', '/v1/tokens/refresh', { headers: { refresh: pair.refreshToken } });
          assert.equal(refreshed.status, 200);
          pair = refreshed.body.data;
        }
        assert.equal((await r.call('GET', '/v1/tokens/check', { headers: { authorization: pair.accessToken } })).status, 200);
        assert.equal((await r.call('POST', '/v1/tokens', { json: { email: user.email, password: wrongPassword, appId: user.appId } })).status, 401);
        assert.equal((await r.call('POST', '/v1/tokens', { json: { email: `nobody-${user.email}`, password: wrongPassword, appId: user.appId } })).status, 401);
        await r.call('POST', '/v1/tokens', { headers: { 'content-type': 'application/json' }, raw: `{"email":"${user.email}","password":"${user.password}"` });
        assert.equal((await r.call('GET', `/v1/tokens/check?access_token=${pair.accessToken}`)).status, 400);
        assert.equal((await r.call('GET', `/v3/security/api/auth/auth?token=${encodeURIComponent(user.password)}`)).status, 400);
        await r.call('POST', '/v1/tokens/refresh', { headers: { refresh: `${pair.refreshToken}x` } });

        // The personal cabinet: sign in, API tokens in every format, rotate, revoke; a service account and key.
        const signIn = await r.call('POST', '/api/cabinet/session', { json: { email: user.email, password: user.password } });
        assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
        const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
        const cab = { cookie, 'x-csrf-token': signIn.body.csrfToken as string };
        await r.call('POST', '/api/cabinet/session', { json: { email: user.email, password: wrongPassword } });
        const apiTokens: string[] = [];
        const apiTokenIds: string[] = [];
        for (const format of ['v3', 'l3', 'native']) {
          const created = await r.call('POST', '/api/cabinet/api-tokens', { headers: cab, json: { format, label: `hygiene ${format}` } });
          assert.equal(created.status, 201, JSON.stringify(created.body));
          apiTokens.push(created.body.token);
          apiTokenIds.push(created.body.apiToken.id);
        }
        const rotated = await r.call('POST', `/api/cabinet/api-tokens/${apiTokenIds[0]}/rotate`, { headers: cab, json: { graceSeconds: 60 } });
        assert.ok(rotated.status < 300, JSON.stringify(rotated.body));
        assert.ok((await r.call('POST', `/api/cabinet/api-tokens/${apiTokenIds[1]}/revoke`, { headers: cab, json: {} })).status < 300);
        await r.call('GET', '/api/cabinet/api-tokens', { headers: cab });
        await r.call('GET', '/api/cabinet/me', { headers: cab });
        const sa = await r.call('POST', '/api/cabinet/service-accounts', { headers: cab, json: { name: 'hygiene', actions: ['dns_orders_list'] } });
        assert.equal(sa.status, 201, JSON.stringify(sa.body));
        const key = await r.call('POST', `/api/cabinet/service-accounts/${sa.body.id}/keys`, { headers: cab, json: {} });
        assert.equal(key.status, 201, JSON.stringify(key.body));
        await r.call('GET', '/api/cabinet/service-accounts', { headers: cab });

        // hoster.by: create, refresh, info; a wrong Secret Key.
        const keys = { 'access-key': key.body.accessKey as string, 'secret-key': key.body.secretKey as string };
        const created = await r.call('POST', '/service/account/create/token', { headers: { ...keys, 'content-type': 'application/json' } });
        assert.equal(created.status, 200, JSON.stringify(created.body));
        let jwtPair = created.body.payload;
        const userId = String(jwtPair.userId);
        const refreshed = await r.call('PATCH', '/token/refresh', { headers: { 'x-user-id': userId, 'refresh-token': jwtPair.refreshToken } });
        assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
        jwtPair = refreshed.body.payload;
        await r.call('GET', '/token/info/access', { headers: { 'x-user-id': userId, 'access-token': jwtPair.accessToken } });
        await r.call('GET', '/token/info/refresh', { headers: { 'x-user-id': userId, 'refresh-token': jwtPair.refreshToken } });
        await r.call('POST', '/service/account/create/token', { headers: { ...keys, 'secret-key': `${keys['secret-key'].slice(0, -1)}0` } });
        await r.call('GET', '/token/info/access', { headers: { 'x-user-id': String(Number(userId) + 1), 'access-token': jwtPair.accessToken } });

        // Invoicebox, forward-auth, introspection and revocation with every kind of token.
        const everyToken = [pair.accessToken, pair.refreshToken, jwtPair.accessToken, jwtPair.refreshToken, ...apiTokens];
        const bearer = { authorization: `Bearer ${admin}` };
        for (const token of everyToken) {
          await r.call('GET', '/v3/security/api/auth/auth', { headers: { authorization: `Bearer ${token}` } });
          await r.call('GET', '/l3/security/api/auth/auth', { headers: { authorization: `Bearer ${token}` } });
          await r.call('GET', '/auth/verify', { headers: { authorization: `Bearer ${token}` } });
          await r.call('POST', '/oauth2/introspect', { headers: bearer, form: { token } });
        }
        await r.call('POST', '/oauth2/introspect', { headers: { authorization: `Bearer ${wrongPassword}` }, form: { token: pair.accessToken } });
        await r.call('POST', '/oauth2/revoke', { headers: bearer, form: { token: apiTokens[2]! } });
        await r.call('POST', '/oauth2/revoke', { headers: bearer, form: { token: pair.refreshToken } });
        await r.call('GET', '/v1/tokens/check', { headers: { authorization: pair.accessToken } });

        // The operator: sign in with the admin token, create an account (a password in a body), read settings.
        const op = await r.call('POST', '/api/admin/session', { json: { token: admin } });
        assert.equal(op.status, 200, JSON.stringify(op.body));
        const opHeaders = { cookie: op.headers.getSetCookie().map((c) => c.split(';')[0]).join('; '), 'x-csrf-token': op.body.csrfToken as string };
        const newPassword = `pw-admin-${Date.now()}-hygiene`;
        r.secret(newPassword);
        const acct = await r.call('POST', '/api/admin/accounts', { headers: opHeaders, json: { email: `admin-made-${Date.now()}@example.com`, password: newPassword } });
        assert.ok(acct.status < 300, JSON.stringify(acct.body));
        await r.call('POST', '/api/admin/accounts', { headers: opHeaders, json: { email: 'not-an-email', password: newPassword } });
        await r.call('GET', '/api/admin/settings', { headers: opHeaders });
        await r.call('POST', '/api/admin/session', { json: { token: wrongPassword } });
        await r.call('DELETE', '/api/cabinet/session', { headers: cab });

        // Framing errors with a secret in them: oversized headers, a body cut short.
        const port = Number(new URL(t.url).port);
        await sendRaw(port, Buffer.from(`GET /v1/tokens/check HTTP/1.1\r\nHost: x\r\nAuthorization: ${pair.accessToken}\r\nX-Pad: ${'p'.repeat(t.config.maxHeaderSize)}\r\nConnection: close\r\n\r\n`));
        await sendRaw(port, Buffer.from(`POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{"email":"${user.email}","password":"${user.password}"`), { endAfterWrite: true });

        assert.ok(r.secrets.size >= 20, `only ${r.secrets.size} secrets were issued: the run did too little`);
        await t.core.close();

        // Where secrets must never be.
        const places: [string, string][] = t.logs.map((line, i) => [`log line ${i}`, line]);
        for (const [i, res] of r.responses.entries()) {
          assert.ok(!looksLikeStackTrace(res.body), `response ${i} (${res.method} ${res.path}) looks like a stack trace`);
          const signInCookie = res.status < 300 && /\/session$/.test(res.path) && res.method === 'POST';
          for (const [name, value] of res.headers) {
            if (name === 'set-cookie' && signInCookie) continue;
            places.push([`header ${name} of response ${i} (${res.method} ${res.path.split('?')[0]})`, value]);
          }
          if (res.status >= 400) places.push([`error body ${i} (${res.method} ${res.path.split('?')[0]} ${res.status})`, res.body]);
        }
        if (db === 'sqlite') {
          const files = readdirSync(t.db.dataDir).filter((f) => f.startsWith('tokend.db'));
          assert.ok(files.includes('tokend.db'), files.join(','));
          for (const f of files) places.push([`database file ${f}`, readFileSync(join(t.db.dataDir, f)).toString('latin1')]);
        } else {
          const dump = execFileSync(pgDump(), ['--no-owner', '--dbname', t.db.url], { maxBuffer: 256 * 1024 * 1024 }).toString('utf8');
          assert.match(dump, /COPY public\.refresh_tokens/);
          places.push(['pg_dump', dump]);
        }
        const found = leaks(r.secrets, places);
        assert.deepEqual(found, [], `secrets leaked:\n${found.slice(0, 20).join('\n')}`);
        // The logs did see the traffic (so the search above searched something).
        assert.ok(t.logs.some((l) => l.includes('/v1/tokens/refresh')), 'no request was logged');
      } finally {
        await t.close();
      }
    });
  });
}
