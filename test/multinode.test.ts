/**
 * Several tokend processes on one PostgreSQL behave as one service: two real `tokend serve`
 * processes (the published command, spawned as an operator would) share one fresh database in the
 * test cluster, and requests are spread over both. test/multinode.outage.test.ts stops and starts
 * the database under two more.
 *
 * PostgreSQL only: these tests need TOKEND_TEST_DATABASE_URL (`source scripts/pg-test-cluster.sh start`).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeQuotaScope } from '../src/core/accounts.ts';
import { DAY_MS } from '../src/core/clock.ts';
import type { Services } from '../src/services.ts';
import { createTestDatabase, databases, type TestDatabase } from './helpers/harness.ts';
import { run, TOKEND, MASTER_KEY, ADMIN_TOKEN, REVOCATION_BOUND_MS, remember, type Node, startNode, type Res, call, make, refresh, check, pairOf, eventually, openSeeder, seed, pgDump, assertNoSecretIn, assertNo500Logged } from './helpers/nodes.ts';

const withPostgres = databases().includes('postgres');

describe('several nodes on one PostgreSQL', { skip: withPostgres ? false : 'needs TOKEND_TEST_DATABASE_URL' }, () => {
  let db: TestDatabase;
  let seeder: Services;
  let a: Node;
  let b: Node;
  const nodes = (): Node[] => [a, b];

  before(async () => {
    db = await createTestDatabase('postgres');
    // Migrations first, from one process, so the nodes start on an up-to-date schema (a node
    // also migrates at start, under Kysely's lock; racing them is covered by the restart test).
    seeder = await openSeeder(db);
    // A long cache TTL: only LISTEN/NOTIFY, not entry expiry, can make node B notice a
    // revocation within the bound.
    // Failed logins count in fixed windows aligned to the epoch: a day's window, so that the
    // login-failure burst below does not straddle two of them (the count starts again in the next).
    const env = { TOKEND_VERIFY_CACHE_TTL: '60s', TOKEND_LOGIN_FAILURE_WINDOW: '24h' };
    [a, b] = await Promise.all([startNode('A', db, env), startNode('B', db, env)]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await seeder?.close();
    if (db) {
      // The dump is taken once everything above has run: no issued secret may be in it.
      const dump = await pgDump(db.url);
      assert.ok(dump.includes('CREATE TABLE public.sessions'), 'the dump holds the schema');
      assertNoSecretIn(dump, 'pg_dump');
      for (const n of [a, b]) {
        if (!n) continue;
        assertNoSecretIn(n.output.join(''), `node ${n.name} output`);
        assertNo500Logged(n);
      }
      await db.drop();
    }
  });

  it('quota: 99 used, 150 concurrent make over both nodes -> exactly 1 succeeds', async () => {
    const u = await seed(seeder);
    // Fill the day to 99 through the same counter the nodes use, on the database's day (the
    // clock both nodes follow). A day boundary inside this test would reset the count: wait it out.
    let now = seeder.core.clock.now();
    if (DAY_MS - (now % DAY_MS) < 30_000) {
      await sleep(DAY_MS - (now % DAY_MS) + 1000);
      now = seeder.core.clock.now();
    }
    const day = Math.floor(now / DAY_MS) * DAY_MS;
    for (let i = 0; i < 99; i++) await seeder.core.store.counters.incrementBelow(makeQuotaScope(u.email, u.appId), day, 100, day + DAY_MS);

    const results = await Promise.all(Array.from({ length: 150 }, (_, i) => make(nodes()[i % 2]!, u)));
    const ok = results.filter((r) => r.status === 200);
    for (const r of ok) pairOf(r);
    assert.equal(ok.length, 1, `${ok.length} of 150 succeeded`);
    for (const r of results.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 429, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'ApiTokensLimitError');
      assert.ok(Number(r.headers.get('retry-after')) > 0);
    }
    assert.equal(await seeder.core.store.counters.get(makeQuotaScope(u.email, u.appId), day), 100);
    // Both nodes see the same, shared count.
    for (const n of nodes()) assert.equal((await make(n, u)).status, 429);
  });

  it('50 concurrent refreshes of one token over both nodes: exactly one wins, 20 runs', async () => {
    const u = await seed(seeder);
    for (let runNo = 0; runNo < 20; runNo++) {
      const pair = pairOf(await make(nodes()[runNo % 2]!, u));
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(nodes()[i % 2]!, pair.refreshToken)));
      const winners = results.filter((r) => r.status === 200);
      assert.equal(winners.length, 1, `run ${runNo}: ${winners.length} winners`);
      for (const r of results) {
        if (r.status === 200) continue;
        assert.equal(r.status, 401, `run ${runNo}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'ApiInvalidRefreshTokenError');
      }
      const next = pairOf(winners[0]!);
      // The losers were inside the reuse grace: the session lives on; the old pair is dead on both nodes.
      for (const n of nodes()) {
        assert.equal((await check(n, next.accessToken)).status, 200);
        assert.equal((await check(n, pair.accessToken)).status, 401);
      }
    }
  });

  it('login-failure limit: 40 concurrent wrong passwords for one email over both nodes -> exactly 10 told so', async () => {
    const u = await seed(seeder);
    // Within two minutes of the window's end (midnight UTC), wait for the next window.
    const untilWindowEnd = DAY_MS - (Date.now() % DAY_MS);
    if (untilWindowEnd < 120_000) await sleep(untilWindowEnd + 1000);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => make(nodes()[i % 2]!, { ...u, password: `wrong-guess-${i}` })));
    const told = results.filter((r) => r.status === 401);
    for (const r of told) assert.equal(r.body.error.code, 'ApiInvalidCredentialsError');
    for (const r of results.filter((x) => x.status !== 401)) {
      assert.equal(r.status, 429, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'ApiTooManyAttemptsError');
    }
    // TOKEND_LOGIN_MAX_FAILURES_PER_ACCOUNT defaults to 10, shared by the nodes through the database.
    assert.equal(told.length, 10);
    for (const n of nodes()) assert.equal((await make(n, u)).status, 429, 'the right password is refused as well now');
  });

  it('a session revoked through node A is rejected by node B within the bound, B\'s cache warm before', async () => {
    const u = await seed(seeder);
    const pair = pairOf(await make(a, u));
    // Warm B: it has now read the token and cached the answer (for up to 60 s in this setup).
    for (let i = 0; i < 3; i++) assert.equal((await check(b, pair.accessToken)).status, 200);

    const revoked = await call(`${a.url}/oauth2/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: pair.refreshToken, token_type_hint: 'refresh_token' }).toString(),
    });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const rejected = await eventually(REVOCATION_BOUND_MS, async () => (await check(b, pair.accessToken)).status === 401);
    assert.ok(rejected, `node B still accepts the revoked token after ${REVOCATION_BOUND_MS} ms`);
    assert.equal((await check(a, pair.accessToken)).status, 401);
    assert.equal((await refresh(b, pair.refreshToken)).status, 401);
  });

  it('a session revoked by another process reaches node B\'s warm cache through NOTIFY', async () => {
    // The path every revocation takes, whoever makes it (the CLI, the console, another node):
    // a commit, then core.changes on that process, bridged to the others.
    const u = await seed(seeder);
    const pair = pairOf(await make(a, u));
    for (let i = 0; i < 3; i++) assert.equal((await check(b, pair.accessToken)).status, 200);
    const found = await seeder.core.sessions.lookupAccess(pair.accessToken);
    assert.ok(found);
    assert.equal(await seeder.core.sessions.revoke(found.session.id, { address: 'test' }, 'test'), true);
    const rejected = await eventually(REVOCATION_BOUND_MS, async () => (await check(b, pair.accessToken)).status === 401);
    assert.ok(rejected, `node B still accepts the revoked token after ${REVOCATION_BOUND_MS} ms`);
  });

  it('an API token revoked with the CLI is rejected by node B within the bound', async () => {
    const u = await seed(seeder);
    const env = { ...process.env, TOKEND_DATABASE_URL: db.url, TOKEND_DATA_DIR: db.dataDir, TOKEND_MASTER_KEY: MASTER_KEY, TOKEND_LOG_LEVEL: 'warn' };
    const { stdout } = await run(process.execPath, [TOKEND, 'api-token', 'create', '--account', String(u.accountId), '--format', 'v3', '--json'], { env });
    const created = JSON.parse(stdout.trim().split('\n').pop()!) as { id: string; token: string };
    remember(created.token);
    const auth = (n: Node): Promise<Res> => call(`${n.url}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${created.token}` } });
    for (let i = 0; i < 3; i++) assert.equal((await auth(b)).status, 200);
    await run(process.execPath, [TOKEND, 'api-token', 'revoke', created.id], { env });
    const rejected = await eventually(REVOCATION_BOUND_MS, async () => (await auth(b)).status === 401);
    assert.ok(rejected, `node B still accepts the revoked API token after ${REVOCATION_BOUND_MS} ms`);
  });

  it('an API token created through node A is accepted by node B at once; random ones are refused by both', async () => {
    // Both nodes' filters loaded: from here on B refuses unknown API tokens without the database,
    // so accepting A's new tokens at once is the filter's doing (insert notifications and barrier).
    const filterReady = async (n: Node): Promise<boolean> => /^tokend_api_token_filter_ready 1$/m.test(String((await call(`${n.url}/metrics`)).body));
    for (const n of nodes()) assert.ok(await eventually(30_000, () => filterReady(n)), `node ${n.name}'s API-token filter did not load`);
    const u = await seed(seeder);
    const auth = (n: Node, token: string): Promise<Res> => call(`${n.url}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 30; i++) {
      const format = (['v3', 'l3', 'native'] as const)[i % 3];
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const created = await call(`${from.url}/api/admin/accounts/${u.accountId}/api-tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ format }),
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      remember(created.body.token);
      const res = await auth(to, created.body.token);
      assert.equal(res.status, 200, `round ${i}: a ${format} token created on ${from.name} was refused by ${to.name}: ${JSON.stringify(res.body)}`);
    }
    for (let i = 0; i < 10; i++) {
      for (const n of nodes()) {
        const random = i % 2 === 0 ? randomBytes(16).toString('hex') : `${u.accountId}-API:${randomBytes(16).toString('hex')}`;
        assert.equal((await auth(n, random)).status, 401);
      }
    }
  });

  it('service-account tokens: created on one node, verified, refreshed and revoked on the other', async () => {
    const u = await seed(seeder);
    const sa = await seeder.core.serviceAccounts.create({ accountId: u.accountId, name: 'multinode', actions: ['dns_orders_list'] }, { address: 'test' });
    const { key, secretKey } = await seeder.core.serviceAccounts.createKey({ serviceAccountId: sa.id }, { address: 'test' });
    remember(secretKey);
    // The JWT signed by A (with the key ring both nodes read from the database) is good on B.
    const created = await call(`${a.url}/service/account/create/token`, { method: 'POST', headers: { 'access-key': key.accessKey, 'secret-key': secretKey } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    remember(created.body.payload.accessToken, created.body.payload.refreshToken);
    const info = (n: Node, jwt: string): Promise<Res> => call(`${n.url}/token/info/access`, { headers: { 'access-token': jwt, 'x-user-id': String(u.accountId) } });
    assert.equal((await info(b, created.body.payload.accessToken)).status, 200);
    const refreshed = await call(`${b.url}/token/refresh`, {
      method: 'PATCH',
      headers: { 'x-user-id': String(u.accountId), 'refresh-token': created.body.payload.refreshToken },
    });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    remember(refreshed.body.payload.accessToken, refreshed.body.payload.refreshToken);
    for (const n of nodes()) {
      assert.equal((await info(n, refreshed.body.payload.accessToken)).status, 200);
      assert.equal((await info(n, created.body.payload.accessToken)).status, 401, 'the rotated JWT is dead on both nodes');
    }
    // Revoking the key (another process) ends its sessions everywhere within the bound.
    for (let i = 0; i < 3; i++) assert.equal((await info(b, refreshed.body.payload.accessToken)).status, 200);
    assert.equal(await seeder.core.serviceAccounts.revokeKey(key.id, { address: 'test' }), true);
    const rejected = await eventually(REVOCATION_BOUND_MS, async () => (await info(b, refreshed.body.payload.accessToken)).status === 401);
    assert.ok(rejected, `node B still accepts a JWT of a revoked key after ${REVOCATION_BOUND_MS} ms`);
  });

  it('both nodes agree on time: expiry and the quota day follow the database clock', async () => {
    const u = await seed(seeder);
    const pair = pairOf(await make(a, u));
    const onB = await check(b, pair.accessToken);
    assert.equal(onB.status, 200);
    const made = await seeder.core.sessions.lookupAccess(pair.accessToken);
    assert.ok(made);
    // The end time B reports is the one A stored: computed from A's (database) clock.
    assert.equal(onB.body.data.accessTokenEndTime, Math.floor(made.token.expiresAt / 1000));
  });
});
