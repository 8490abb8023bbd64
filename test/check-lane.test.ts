/**
 * The check lane (src/http/check-lane.ts) against Fastify, on SQLite and PostgreSQL: the checks
 * that read only headers (the Invoicebox check on both paths, the ChatApp check, hoster.by's
 * access-token info, `/auth/verify`) are answered before Fastify when they reach the server over a socket. Every case here is sent
 * twice, over real sockets, with the same headers: to an app with the lane and to an app on the
 * same core without it (every request through Fastify). The two answers must be the same: status,
 * every header but Date, body bytes, the request metric and the access-log line.
 */
import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ManualClock } from '../src/core/clock.ts';
import { buildApp } from '../src/http/app.ts';
import { CheckLane } from '../src/http/check-lane.ts';
import type { HttpApp } from '../src/http/dialect.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const CTX = { address: 'test' };
const INSIDE = '203.0.113.7';
const OUTSIDE = '198.51.100.9';

/** Writes `raw` to the server's socket and reads until it closes (or 2 s). */
function rawRequest(base: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(raw));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

interface Answer {
  status: number;
  headers: [string, string][];
  body: string;
  /** The increments of the request metric this answer made. */
  counted: string[];
  /** Its access-log line, without the time. */
  logged: Record<string, unknown> | null;
}

for (const db of databases()) {
  describe(`check lane against Fastify (${db})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    let plain: FastifyInstance;
    let plainUrl = '';
    const plainLogs: string[] = [];
    let user: Awaited<ReturnType<typeof seedAccount>>;
    let n = 0;

    before(async () => {
      // Loopback is the trusted proxy: X-Forwarded-For names the client, as behind nginx.
      t = await startTokend({ db, clock, listen: true, config: { trustedProxies: ['127.0.0.1'], logLevel: 'debug' } });
      const sink = new Writable({
        write(chunk, _enc, done) {
          plainLogs.push(String(chunk));
          done();
        },
      });
      plain = await buildApp({ core: t.core, logger: pino({ level: 'debug' }, sink), metrics: t.services.metrics, checkLane: false });
      await plain.listen({ port: 0, host: '127.0.0.1' });
      plainUrl = `http://127.0.0.1:${(plain.server.address() as { port: number }).port}`;
      user = await seedAccount(t.core);
    });
    after(async () => {
      await plain?.close();
      await t?.close();
    });

    async function counts(): Promise<Map<string, number>> {
      const text = (await t.services.metrics!.render()).body;
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (!line.startsWith('tokend_http_requests_total{')) continue;
        const at = line.lastIndexOf(' ');
        out.set(line.slice(0, at), Number(line.slice(at + 1)));
      }
      return out;
    }

    async function send(base: string, logs: string[], path: string, headers: Record<string, string>): Promise<Answer> {
      const before = await counts();
      const seen = logs.length;
      const res = await fetch(base + path, { headers });
      const body = await res.text();
      const after = await counts();
      const counted = [...after].filter(([k, v]) => v !== (before.get(k) ?? 0)).map(([k, v]) => `${k} +${v - (before.get(k) ?? 0)}`);
      const lines = logs.slice(seen).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request completed');
      const line = lines.at(-1) ?? null;
      if (line) {
        delete line.time;
        // Not the same to the microsecond, but a number of milliseconds on both paths.
        assert.equal(typeof line.responseTime, 'number');
        delete line.responseTime;
      }
      const kept = [...res.headers].filter(([k]) => k !== 'date').sort(([a], [b]) => (a < b ? -1 : 1));
      return { status: res.status, headers: kept, body, counted, logged: line };
    }

    /**
     * The same request to both apps (the lane's first: a token not yet cached is looked up there).
     * `countingDown`: headers that legitimately differ between the two (what is left of a limit).
     */
    async function same(path: string, headers: Record<string, string>, label: string, countingDown: string[] = []): Promise<Answer> {
      const id = `lane-test-${++n}`;
      const withId = { ...headers, 'x-request-id': id };
      const lane = await send(t.url, t.logs, path, withId);
      const fastify = await send(plainUrl, plainLogs, path, withId);
      const but = (a: Answer): Answer => ({ ...a, headers: a.headers.filter(([k]) => !countingDown.includes(k)) });
      assert.deepEqual(but(lane), but(fastify), `${label}: the lane answered otherwise than Fastify`);
      assert.ok(lane.counted.length === 1, `${label}: one request counted`);
      assert.ok(lane.logged, `${label}: one access-log line`);
      return lane;
    }

    it('Invoicebox check, both paths: valid tokens of each format, unknown, malformed, revoked, no header, another scheme', async () => {
      for (const format of ['v3', 'l3', 'native'] as const) {
        const { token, apiToken } = await t.core.apiTokens.create({ accountId: user.accountId, format }, CTX);
        for (const version of ['v3', 'l3']) {
          const path = `/${version}/security/api/auth/auth`;
          const ok = await same(path, { authorization: `Bearer ${token}` }, `${format} on ${version}`);
          assert.equal(ok.status, 200);
          assert.equal(JSON.parse(ok.body).data.userId, user.uid);
          assert.equal((await same(path, { authorization: token }, `${format} bare on ${version}`)).status, 200);
        }
        await t.core.apiTokens.revoke(apiToken.id, CTX);
        assert.equal((await same('/v3/security/api/auth/auth', { authorization: `Bearer ${token}` }, `${format} revoked`)).status, 401);
      }
      const path = '/v3/security/api/auth/auth';
      assert.equal((await same(path, { authorization: `Bearer ${'0'.repeat(32)}` }, 'unknown v3')).status, 401);
      assert.equal((await same(path, { authorization: 'Bearer not a token at all' }, 'garbage')).status, 401);
      assert.equal((await same(path, { authorization: 'Basic dXNlcjpwYXNz' }, 'another scheme')).status, 401);
      assert.equal((await same(path, { authorization: 'Bearer' }, 'Bearer alone')).status, 401);
      const anonymous = await same(path, {}, 'no header');
      assert.equal(anonymous.status, 200);
      assert.equal(JSON.parse(anonymous.body).data.userId, null);
    });

    it('requests the lane leaves to Fastify answer the same: a query string, a trailing slash, HEAD', async () => {
      const { token } = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      assert.equal((await same(`/v3/security/api/auth/auth?x=1`, { authorization: `Bearer ${token}` }, 'query string')).status, 200);
      assert.equal((await same(`/v3/security/api/auth/auth?access_token=${'0'.repeat(32)}`, {}, 'token in the query')).status, 400);
      await same('/v3/security/api/auth/auth/', { authorization: `Bearer ${token}` }, 'trailing slash');
      // A GET with a body: Fastify's (it follows the body as it arrives); the answer is the same.
      for (const base of [t.url, plainUrl]) {
        const res = await rawRequest(base, `GET /v3/security/api/auth/auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
        assert.match(res, /^HTTP\/1\.1 200 /, base);
      }
      // A malformed chunked body: the check is answered (a GET's body is not read), then the
      // malformed chunk is refused in the route's envelope, on both paths alike.
      const answers = [];
      for (const base of [t.url, plainUrl]) {
        const res = await rawRequest(base, `GET /v3/security/api/auth/auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`);
        answers.push(res.replace(/(x-request-id|date): [^\r]+/gi, '$1: -'));
      }
      assert.equal(answers[0], answers[1]);
      assert.match(answers[0]!, /"code":"bad_request"/);
      for (const base of [t.url, plainUrl]) {
        const head = await fetch(`${base}/v3/security/api/auth/auth`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
        assert.equal(head.status, 200);
      }
    });

    it('policies through a trusted proxy: rate limit, IP allow-list and credits, with their headers', async () => {
      const { token, apiToken } = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      const subject = await t.core.policies.resolve('api_token', apiToken.id);
      assert.ok(subject);
      await t.core.policies.put(subject, { rateLimits: [{ limit: 4, windowSeconds: 60 }], ipAllowList: ['203.0.113.0/24'] }, CTX);
      const path = '/v3/security/api/auth/auth';
      const inside = { authorization: `Bearer ${token}`, 'x-forwarded-for': INSIDE };
      // Each pair of requests takes two of the four: what is left differs between its answers.
      for (const label of ['the first two of the limit', 'the last two']) {
        const pair = await same(path, inside, label, ['ratelimit']);
        assert.equal(pair.status, 200);
        assert.ok(pair.headers.some(([k, v]) => k === 'ratelimit-policy' && v === '"60s";q=4;w=60'));
      }
      const limited = await same(path, inside, 'over the limit');
      assert.equal(limited.status, 429);
      assert.ok(limited.headers.some(([k]) => k === 'retry-after'));
      const denied = await same(path, { authorization: `Bearer ${token}`, 'x-forwarded-for': OUTSIDE }, 'outside the allow-list');
      assert.equal(denied.status, 403);
      assert.equal(denied.logged!.req && (denied.logged!.req as { address: string }).address, OUTSIDE);

      const scoped = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      const scopedSubject = await t.core.policies.resolve('api_token', scoped.apiToken.id);
      await t.core.policies.put(scopedSubject!, { credits: { remaining: 2 } }, CTX);
      const verify = { authorization: `Bearer ${scoped.token}` };
      const first = await same('/auth/verify', verify, 'credits: two of two', ['x-tokend-credits-remaining']);
      assert.equal(first.status, 200);
      assert.equal((await same('/auth/verify', verify, 'credits exhausted')).status, 429);
      const unscoped = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      const lacking = { authorization: `Bearer ${unscoped.token}`, 'x-tokend-required-scope': 'billing_write' };
      // A token without scope rules passes whatever scope is asked (docs/policies.md).
      assert.equal((await same('/auth/verify', lacking, 'a scope asked of a token without scope rules')).status, 200);
    });

    it('ChatApp check: a valid access token, its refresh token, none; messages in the asked language', async () => {
      const login = await t.core.accounts.passwordLogin({ email: user.email, password: user.password, appId: user.appId }, CTX);
      assert.ok(login.ok);
      const { accessToken, refreshToken } = login.pair;
      const ok = await same('/v1/tokens/check', { authorization: accessToken }, 'valid, raw');
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body).data.cabinetUserId, user.accountId);
      assert.equal((await same('/v1/tokens/check', { authorization: `Bearer ${accessToken}` }, 'valid, Bearer')).status, 200);
      assert.equal((await same('/v1/tokens/check', { authorization: refreshToken }, 'a refresh token')).status, 401);
      const ru = await same('/v1/tokens/check', { authorization: refreshToken, 'accept-language': 'ru' }, 'in Russian');
      assert.equal(JSON.parse(ru.body).error.message, 'Недействительный токен');
      assert.equal((await same('/v1/tokens/check', {}, 'no header')).status, 401);
    });

    it('forward-auth: 200 with the identity headers and no body, 401 with its challenge, X-User-Id that differs', async () => {
      const { token } = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native' }, CTX);
      const ok = await same('/auth/verify', { authorization: `Bearer ${token}` }, 'an API token');
      assert.equal(ok.status, 200);
      assert.equal(ok.body, '');
      assert.ok(ok.headers.some(([k, v]) => k === 'x-tokend-user-id' && v === String(user.accountId)));
      assert.equal((await same('/auth/verify', { authorization: `Bearer ${token}`, 'x-user-id': '999999' }, 'another user')).status, 401);
      assert.equal((await same('/auth/verify', {}, 'no token')).status, 401);
      assert.equal((await same('/auth/verify', { 'access-token': 'garbage' }, 'Access-Token garbage')).status, 401);
    });

    it('hoster.by access-token info: a valid JWT, its user or another, a forged one, headers missing or malformed', async () => {
      const sa = await t.core.serviceAccounts.create({ accountId: user.accountId, name: 'lane', actions: ['dns_orders_list'] }, CTX);
      const key = await t.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      const made = await t.core.serviceAccounts.createTokens({ accessKey: key.key.accessKey, secretKey: key.secretKey }, CTX);
      assert.ok(made.ok);
      const jwt = made.pair.accessToken;
      const path = '/token/info/access';
      const ok = await same(path, { 'access-token': jwt }, 'a valid JWT');
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body).payload.actions, ['dns_orders_list']);
      assert.equal((await same(path, { 'access-token': jwt, 'x-user-id': String(user.accountId) }, 'its user')).status, 200);
      assert.equal((await same(path, { 'access-token': jwt, 'x-user-id': '999999' }, 'another user')).status, 401);
      assert.equal((await same(path, { 'access-token': jwt, 'x-user-id': 'abc' }, 'a malformed user id', [])).status, 400);
      const [h, p] = jwt.split('.');
      assert.equal((await same(path, { 'access-token': `${h}.${p}.${'A'.repeat(86)}` }, 'a forged signature')).status, 401);
      assert.equal((await same(path, { 'access-token': 'eyJnot.a.jwt', 'accept-language': 'ru' }, 'garbage, in Russian')).status, 401);
      assert.equal((await same(path, {}, 'no Access-Token')).status, 400);
    });

    it('a request id the client sent is echoed, a malformed one replaced on both paths alike', async () => {
      for (const base of [t.url, plainUrl]) {
        const res = await fetch(`${base}/v3/security/api/auth/auth`, { headers: { 'x-request-id': 'bad id with spaces' } });
        await res.text();
        assert.match(String(res.headers.get('x-request-id')), /^[0-9a-f-]{36}$/);
      }
    });

    it('keep-alive: many checks on one connection, answered in order', async () => {
      const { token } = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`${t.url}/v3/security/api/auth/auth`, { headers: { authorization: i % 2 ? `Bearer ${token}` : 'Bearer 0', 'x-request-id': `ka-${i}` } }).then(async (r) => ({
            status: r.status,
            id: r.headers.get('x-request-id'),
            body: await r.text(),
          })),
        ),
      );
      answers.forEach((a, i) => {
        assert.equal(a.status, i % 2 ? 200 : 401);
        assert.equal(a.id, `ka-${i}`);
      });
    });
  });
}

describe('check lane: an answer that cannot be sent, a responder that throws or rejects', () => {
  let app: HttpApp;
  let url = '';
  const lines: string[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    app = Fastify({ loggerInstance: pino({ level: 'info' }, sink) as unknown as FastifyBaseLogger }) as unknown as HttpApp;
    const lane = new CheckLane({
      log: app.log,
      requestId: () => 'req-1',
      address: (raw) => raw.socket.remoteAddress!,
      failureReply: (_url, failure) => ({ status: failure.kind === 'internal' ? 500 : 503, body: `{"error":"${failure.kind}"}` }),
      draining: () => false,
    });
    lane.route(app, '/bad-header', {}, () => ({ status: 200, body: '{}', headers: { 'x-bad': 'a\nb' } }));
    lane.route(app, '/throws', {}, () => {
      throw new Error('a bug');
    });
    lane.route(app, '/rejects', {}, () => Promise.reject(new Error('a bug, later')));
    lane.install(app.server);
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => app?.close());

  it('each gets the error handler answer (500), is logged, and the server keeps serving', async () => {
    for (const path of ['/bad-header', '/throws', '/rejects']) {
      const res = await fetch(url + path);
      assert.equal(res.status, 500, path);
      assert.equal(await res.text(), '{"error":"internal"}');
      assert.equal(res.headers.get('x-request-id'), 'req-1');
      assert.equal(res.headers.get('x-bad'), null);
    }
    assert.equal(lines.filter((l) => l.includes('unhandled error')).length, 3);
    const again = await fetch(`${url}/throws`);
    assert.equal(again.status, 500);
  });
});
