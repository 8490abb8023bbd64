/**
 * The operator dashboard (`GET /api/admin/stats`) on SQLite and PostgreSQL: real checks over the
 * wire (passed, invalid, expired, revoked, rate-limited; ChatApp, hoster.by, Invoicebox), makes,
 * refreshes, rotations and a quota refusal show in the figures after a flush, by outcome and in
 * the right top lists; a check writes nothing (the figures go out in batches); every range; a bad
 * range named at its field; the permission; two nodes on one database add up; apps that misuse
 * the ChatApp scheme flagged across accounts, a well-behaved one never.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { TrafficReport } from '../src/core/traffic.ts';
import { createOperatorKey } from './helpers/admin.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';
import { assertHosterOk, hosterCalls, seedServiceKey } from './helpers/hoster.ts';

const ADMIN_TOKEN = 'admin-token-for-the-dashboard-tests-0123456789';
const CTX = { address: 'test' };
/** The daily tokens.make limit of these tests: the misbehaving client reaches it. */
const MAKE_LIMIT = 21;

type Totals = TrafficReport['totals'];

/** `after - before`, figure by figure, leaving out the zeros: what happened in between. */
function delta(before: Totals, after: Totals): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (typeof b === 'number') {
      const d = b - ((a as number | undefined) ?? 0);
      if (d !== 0) out[path] = d;
      return;
    }
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) walk((a as Record<string, unknown> | undefined)?.[k], v, path ? `${path}.${k}` : k);
  };
  walk(before, after, '');
  return out;
}

function clients(t: TestTokend) {
  const inject = (o: InjectOptions): Promise<LightMyRequestResponse> => t.app.inject(o);
  return {
    admin: (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, token = ADMIN_TOKEN) =>
      inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      }),
    invoicebox: async (token: string): Promise<number> =>
      (await inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } })).statusCode,
    make: async (u: { email: string; password: string; appId: string }): Promise<{ status: number; accessToken: string; refreshToken: string }> => {
      const res = await inject({ method: 'POST', url: '/v1/tokens', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: u.email, password: u.password, appId: u.appId }) });
      const data = res.json().data as { accessToken: string; refreshToken: string } | undefined;
      return { status: res.statusCode, accessToken: data?.accessToken ?? '', refreshToken: data?.refreshToken ?? '' };
    },
    chatappCheck: async (accessToken: string): Promise<number> => (await inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: accessToken } })).statusCode,
    chatappRefresh: async (refreshToken: string): Promise<number> => (await inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: refreshToken } })).statusCode,
  };
}

async function report(t: TestTokend, range = '1h'): Promise<TrafficReport> {
  const res = await clients(t).admin('GET', `/api/admin/stats?range=${range}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as TrafficReport;
}

for (const kind of databases()) {
  describe(`operator dashboard (${kind})`, () => {
    let db: TestDatabase;
    let t: TestTokend;

    before(async () => {
      db = await createTestDatabase(kind);
      t = await startTokend({ db, config: { adminToken: ADMIN_TOKEN, chatappDailyMakeLimit: MAKE_LIMIT } });
    });
    after(async () => {
      await t?.close();
      await db?.drop();
    });

    it('every outcome of real checks, issuances, refreshes and rotations shows after a flush, with the top lists', async () => {
      const c = clients(t);
      await t.core.traffic.flush();
      const before = await report(t);

      const busy = await seedAccount(t.core);
      const quiet = await seedAccount(t.core);
      const newToken = async (accountId: number): Promise<{ id: string; token: string }> => {
        const res = await c.admin('POST', `/api/admin/accounts/${accountId}/api-tokens`, { format: 'v3' });
        assert.equal(res.statusCode, 201, res.body);
        return res.json() as { id: string; token: string };
      };
      const good = await newToken(busy.accountId);
      const limited = await newToken(busy.accountId);
      assert.equal((await c.admin('PUT', `/api/admin/api-tokens/${limited.id}/policy`, { rateLimits: [{ limit: 2, windowSeconds: 3600 }] })).statusCode, 200);
      const gone = await newToken(quiet.accountId);
      const brief = await t.core.apiTokens.create({ accountId: quiet.accountId, format: 'v3', expiresAt: Date.now() + 800 }, CTX);

      for (let i = 0; i < 6; i++) assert.equal(await c.invoicebox(good.token), 200);
      const limitedAnswers = [];
      for (let i = 0; i < 4; i++) limitedAnswers.push(await c.invoicebox(limited.token));
      assert.deepEqual(limitedAnswers, [200, 200, 429, 429]);
      assert.equal((await c.admin('POST', `/api/admin/api-tokens/${gone.id}/revoke`)).statusCode, 200);
      for (let i = 0; i < 3; i++) assert.equal(await c.invoicebox(gone.token), 401);
      for (let i = 0; i < 3; i++) assert.equal(await c.invoicebox('not-a-token-at-all'), 401);
      await sleep(Math.max(0, brief.apiToken.expiresAt! - Date.now() + 50));
      for (let i = 0; i < 2; i++) assert.equal(await c.invoicebox(brief.token), 401);

      // ChatApp: a make, two checks, a refresh. hoster.by: a pair, a check of its access token.
      const pair = await c.make(quiet);
      assert.equal(pair.status, 200);
      for (let i = 0; i < 2; i++) assert.equal(await c.chatappCheck(pair.accessToken), 200);
      assert.equal(await c.chatappRefresh(pair.refreshToken), 200);
      const key = await seedServiceKey(t.core, { accountId: busy.accountId });
      const h = hosterCalls(t);
      const service = assertHosterOk(await h.create(key), 'create_token_success');
      assertHosterOk(await h.infoAccess(service.accessToken as string), 'access_token_info_success');
      // A rotation is an API token's refresh.
      assert.equal((await c.admin('POST', `/api/admin/api-tokens/${good.id}/rotate`, {})).statusCode, 201);

      await t.core.traffic.flush();
      const now = await report(t);
      assert.deepEqual(delta(before.totals, now.totals), {
        'checks.api_token.ok': 8,
        'checks.api_token.rate_limited': 2,
        'checks.api_token.revoked': 3,
        'checks.api_token.expired': 2,
        'checks.unknown.invalid': 3,
        'checks.access.ok': 2,
        'checks.service_access.ok': 1,
        'issued.api_token': 4,
        'issued.chatapp': 1,
        'issued.service': 1,
        'refreshes.chatapp.ok': 1,
        'refreshes.api_token.ok': 1,
      });
      // The buckets add up to the totals.
      const inBuckets = (o: string): number => now.buckets.reduce((s, b) => s + b.checks[o as 'ok'], 0);
      const inTotals = (o: string): number => Object.values(now.totals.checks).reduce((s, k) => s + k[o as 'ok'], 0);
      for (const o of ['ok', 'invalid', 'expired', 'revoked', 'rate_limited']) assert.equal(inBuckets(o), inTotals(o), o);
      assert.equal(now.buckets.reduce((s, b) => s + b.issued, 0), 6);
      assert.equal(now.buckets.reduce((s, b) => s + b.refreshed, 0), 2);
      assert.equal(now.range, '1h');
      assert.equal(now.bucketSeconds, 60);
      assert.equal(now.buckets.length, 60);
      assert.ok(now.buckets.at(-1)!.start <= now.to && now.to < now.buckets.at(-1)!.start + 60_000);

      // Top lists: every check of a known token counts for its account and token; refusals apart.
      const entry = <T extends { count: number }>(list: T[], match: (e: T) => boolean): number => list.find(match)?.count ?? 0;
      const { top } = now;
      assert.equal(entry(top.accountsByChecks, (e) => e.accountId === busy.accountId), 6 + 4 + 1);
      assert.equal(entry(top.accountsByChecks, (e) => e.accountId === quiet.accountId), 3 + 2 + 2);
      assert.equal(top.accountsByChecks[0]!.accountId, busy.accountId);
      assert.equal(top.accountsByChecks[0]!.email, busy.email);
      assert.deepEqual(
        top.accountsByRefusals.map((e) => [e.accountId, e.count]),
        [
          [quiet.accountId, 5],
          [busy.accountId, 2],
        ],
      );
      assert.deepEqual(top.tokensByChecks[0], { kind: 'api_token', id: good.id, accountId: busy.accountId, email: busy.email, count: 6 });
      assert.equal(entry(top.tokensByChecks, (e) => e.kind === 'api_token' && e.id === limited.id), 4);
      assert.equal(entry(top.tokensByChecks, (e) => e.kind === 'app' && e.id === quiet.appId), 2);
      assert.equal(entry(top.tokensByChecks, (e) => e.kind === 'access_key' && e.id === key.accessKey), 1);
      assert.deepEqual(top.tokensByRefusals[0], { kind: 'api_token', id: gone.id, accountId: quiet.accountId, email: quiet.email, count: 3 });
      assert.equal(entry(top.tokensByRefusals, (e) => e.id === brief.apiToken.id), 2);
      assert.equal(entry(top.tokensByRefusals, (e) => e.id === limited.id), 2);
      assert.equal(entry(top.tokensByRefusals, (e) => e.id === good.id), 0, 'a token that was never refused is not among the refused');

      // Every range holds the same figures (all of them are from this minute), in its own buckets.
      for (const [range, buckets, seconds] of [
        ['24h', 96, 900],
        ['7d', 168, 3600],
        ['30d', 120, 21600],
      ] as const) {
        const r = await report(t, range);
        assert.equal(r.range, range);
        assert.equal(r.buckets.length, buckets, range);
        assert.equal(r.bucketSeconds, seconds, range);
        assert.deepEqual(r.totals, now.totals, range);
        assert.equal(entry(r.top.accountsByChecks, (e) => e.accountId === busy.accountId), 11, range);
        assert.equal(r.topFrom % 3_600_000, 0, `${range}: the top lists count whole hours`);
        assert.ok(r.buckets.every((b, i) => i === 0 || b.start - r.buckets[i - 1]!.start === seconds * 1000));
      }
    });

    it('a check writes nothing: 200 checks, at most one batch (a timer may fall in), and the figures come with the flush', async () => {
      const c = clients(t);
      const u = await seedAccount(t.core);
      const { token, apiToken } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'native' }, CTX);
      await t.core.traffic.flush();
      const before = await report(t);
      const repo = t.core.store.traffic;
      const real = repo.addMany;
      let writes = 0;
      repo.addMany = async (rows) => {
        writes++;
        return real(rows);
      };
      try {
        for (let i = 0; i < 200; i++) assert.equal(await c.invoicebox(token), 200);
        assert.ok(writes <= 1, `${writes} writes for 200 checks`);
        await t.core.traffic.flush();
        assert.ok(writes >= 1);
      } finally {
        repo.addMany = real;
      }
      const after = await report(t);
      assert.deepEqual(delta(before.totals, after.totals), { 'checks.api_token.ok': 200 });
      assert.equal(after.top.tokensByChecks.find((e) => e.id === apiToken.id)?.count, 200);
    });

    it('retention: minutes kept 26 hours, top-list minutes 2 hours, hours 31 days; the purge drops what is past it', async () => {
      const c = clients(t);
      const u = await seedAccount(t.core);
      const { token } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, CTX);
      await t.core.traffic.flush();
      assert.equal(await c.invoicebox(token), 200);
      const checkedAt = Date.now();
      await t.core.traffic.flush();
      const db = t.core.store.dialect.db;
      const rows = await db.selectFrom('traffic_stats').selectAll().where('bucket_start', '>=', checkedAt - 3_600_000).execute();
      const keptFor = (bucketMs: number, series: string): number[] =>
        rows.filter((r) => Number(r.bucket_ms) === bucketMs && r.series === series).map((r) => Number(r.expires_at) - Number(r.bucket_start));
      const HOUR = 3_600_000;
      assert.deepEqual([...new Set(keptFor(60_000, 'check.api_token.ok'))], [26 * HOUR]);
      assert.deepEqual([...new Set(keptFor(60_000, 'token.checks'))], [2 * HOUR]);
      assert.deepEqual([...new Set(keptFor(HOUR, 'check.api_token.ok'))], [31 * 24 * HOUR + HOUR]);
      assert.deepEqual([...new Set(keptFor(HOUR, 'account.checks'))], [31 * 24 * HOUR + HOUR]);
      // Rows past their time go with the periodic purge; the others stay.
      const old = Date.now() - 40 * 24 * HOUR;
      await t.core.store.traffic.addMany([{ bucketMs: HOUR, bucketStart: old - (old % HOUR), series: 'check.api_token.ok', subject: '', amount: 5, expiresAt: old + HOUR }]);
      const count = async (): Promise<number> => Number((await db.selectFrom('traffic_stats').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const total = await count();
      assert.ok((await t.core.purgeExpiredCounters()) >= 1);
      assert.equal(await count(), total - 1);
    });

    it('a bad range or parameter is a 400 naming it; the figures need usage:read', async () => {
      const c = clients(t);
      for (const [url, field] of [
        ['/api/admin/stats?range=foo', 'range'],
        ['/api/admin/stats?range=', 'range'],
        ['/api/admin/stats?range=1h&days=3', 'days'],
      ] as const) {
        const res = await c.admin('GET', url);
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        assert.equal(res.json().error.code, 'validation_failed');
        assert.equal(res.json().error.fields?.[0]?.name, field, res.body);
      }
      assert.equal((await c.admin('GET', '/api/admin/stats')).json().range, '1h', 'the last hour by default');

      const without = await createOperatorKey(t, ADMIN_TOKEN, ['accounts:read', 'tokens:write']);
      const refused = await c.admin('GET', '/api/admin/stats?range=24h', undefined, without.key);
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(refused.json().error.code, 'permission_denied');
      const reader = await createOperatorKey(t, ADMIN_TOKEN, ['usage:read']);
      assert.equal((await c.admin('GET', '/api/admin/stats?range=24h', undefined, reader.key)).statusCode, 200);
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/admin/stats' })).statusCode, 401);
    });

    it('apps of every account that log in before each request are flagged with their advice; a well-behaved app never; the quota refusal counted', async () => {
      const c = clients(t);
      await t.core.traffic.flush();
      const before = await report(t);
      const careless = await seedAccount(t.core);
      const careful = await seedAccount(t.core);
      // Logs in before every request, until the daily limit refuses it.
      for (let i = 0; i < MAKE_LIMIT; i++) {
        const pair = await c.make(careless);
        assert.equal(pair.status, 200);
        assert.equal(await c.chatappCheck(pair.accessToken), 200);
      }
      assert.equal((await c.make(careless)).status, 429);
      // Makes once and uses the pair.
      const pair = await c.make(careful);
      for (let i = 0; i < 30; i++) assert.equal(await c.chatappCheck(pair.accessToken), 200);

      await t.core.traffic.flush();
      const now = await report(t, '24h');
      const d = delta(before.totals, now.totals);
      assert.equal(d['refused.quota'], 1);
      assert.equal(d['issued.chatapp'], MAKE_LIMIT + 1);
      assert.equal(now.buckets.reduce((s, b) => s + b.quota, 0) - before.buckets.reduce((s, b) => s + b.quota, 0), 1);
      const flagged = now.flaggedApps.apps.find((a) => a.appId === careless.appId);
      assert.ok(flagged, JSON.stringify(now.flaggedApps));
      assert.equal(flagged.accountId, careless.accountId);
      assert.equal(flagged.email, careless.email);
      assert.equal(flagged.name, 'test app');
      assert.ok(flagged.findings.some((f) => f.pattern === 'login_per_request' && f.count === MAKE_LIMIT));
      assert.equal(flagged.figures.makes, MAKE_LIMIT);
      assert.equal(now.flaggedApps.periodDays, 7);
      assert.ok(!now.flaggedApps.apps.some((a) => a.appId === careful.appId), 'the well-behaved app is not flagged');
    });
  });

  describe(`operator dashboard on two nodes of one database (${kind})`, () => {
    let db: TestDatabase;
    let t: TestTokend;
    let u: TestTokend;
    before(async () => {
      db = await createTestDatabase(kind);
      t = await startTokend({ db, config: { adminToken: ADMIN_TOKEN } });
      u = await startTokend({ db, config: { adminToken: ADMIN_TOKEN } });
    });
    after(async () => {
      await u?.close();
      await t?.close();
      await db?.drop();
    });

    it("each node counts its own checks; after both flush, either answers the sum, the top lists too", async () => {
      const user = await seedAccount(t.core);
      const { token, apiToken } = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3' }, CTX);
      await t.core.traffic.flush();
      await u.core.traffic.flush();
      const before = await report(u);
      for (let i = 0; i < 7; i++) assert.equal(await clients(t).invoicebox(token), 200);
      for (let i = 0; i < 5; i++) assert.equal(await clients(u).invoicebox(token), 200);
      for (let i = 0; i < 4; i++) assert.equal(await clients(u).invoicebox('nope'), 401);
      await Promise.all([t.core.traffic.flush(), u.core.traffic.flush()]);
      for (const node of [t, u]) {
        const now = await report(node);
        assert.deepEqual(delta(before.totals, now.totals), { 'checks.api_token.ok': 12, 'checks.unknown.invalid': 4 });
        assert.deepEqual(now.top.tokensByChecks[0], { kind: 'api_token', id: apiToken.id, accountId: user.accountId, email: user.email, count: 12 });
        assert.deepEqual(now.top.accountsByChecks[0], { accountId: user.accountId, email: user.email, count: 12 });
      }
    });
  });
}
