/**
 * A tokend node whose PostgreSQL goes away and comes back: two real `tokend serve` processes on a
 * private throwaway cluster (the shared test cluster serves the other suites and stays up) that
 * the test stops and starts again under load. They answer 503, never 500, never crash, and resume
 * without a restart.
 *
 * PostgreSQL only: needs TOKEND_TEST_DATABASE_URL and the PostgreSQL binaries.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newToken } from '../src/secrets/tokens.ts';
import { createTestDatabase, databases } from './helpers/harness.ts';
import { pgBinDir, ThrowawayCluster } from './helpers/pg-cluster.ts';
import { ADMIN_TOKEN, REVOCATION_BOUND_MS, remember, type Node, startNode, alive, type Res, call, make, refresh, check, pairOf, eventually, openSeeder, seed, pgDump, assertNoSecretIn, assertNo500Logged } from './helpers/nodes.ts';

const withPostgres = databases().includes('postgres');

describe('a node whose database goes away and comes back', { skip: withPostgres && pgBinDir() ? false : 'needs PostgreSQL binaries and TOKEND_TEST_DATABASE_URL' }, () => {
  let cluster: ThrowawayCluster;
  let c: Node;
  let d: Node;
  let dbInfo: { url: string; dataDir: string };
  let load: ReturnType<typeof startLoad> | undefined;

  before(async () => {
    cluster = await ThrowawayCluster.create();
    const tdb = await createTestDatabaseOn(cluster);
    dbInfo = tdb;
    // Both nodes race to migrate the fresh database at start: Kysely's migration lock orders them.
    const env = { TOKEND_VERIFY_CACHE_TTL: '60s' };
    [c, d] = await Promise.all([startNode('C', dbInfo, env), startNode('D', dbInfo, env)]);
  });

  after(async () => {
    await load?.stop();
    await Promise.all([c?.stop(), d?.stop()]);
    if (cluster) {
      try {
        await cluster.start();
      } catch {
        // Already running.
      }
      try {
        assertNoSecretIn(await pgDump(dbInfo.url), 'pg_dump of the restarted database');
      } finally {
        await cluster.destroy();
      }
    }
    for (const n of [c, d]) {
      if (!n) continue;
      assertNoSecretIn(n.output.join(''), `node ${n.name} output`);
      assertNo500Logged(n);
    }
  });

  it('answers 503 (never 500, never a crash) while the database is down, and resumes without a restart', async () => {
    const seeder = await openSeeder(dbInfo);
    const u = await seed(seeder);
    // One app per background worker: each stays far below its own daily quota.
    const workerApps: string[] = [];
    for (let i = 0; i < 4; i++) workerApps.push((await seeder.core.accounts.createApp({ accountId: u.accountId, name: `load ${i}` }, { address: 'test' })).appId);
    await seeder.close();
    const pair = pairOf(await make(c, u));
    const pids = [c.proc.pid, d.proc.pid];
    for (const n of [c, d]) assert.equal((await call(`${n.url}/readyz`)).status, 200);

    // Background load over both nodes while the database goes down and comes back: the stop
    // lands in the middle of requests and transactions, not between them.
    load = startLoad([c, d], workerApps.map((appId) => ({ ...u, appId })));
    await sleep(500);
    await cluster.stop();

    const statuses: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const n of [c, d]) {
        const ready = await call(`${n.url}/readyz`);
        assert.equal(ready.status, 503, `${n.name} /readyz: ${ready.status}`);
        assert.ok(ready.headers.get('retry-after'));

        const m = await make(n, u);
        statuses.push(m.status);
        assert.equal(m.status, 503, `${n.name} make: ${m.status} ${JSON.stringify(m.body)}`);
        assert.deepEqual(Object.keys(m.body).sort(), ['error', 'success']);
        assert.equal(m.body.success, false);
        assert.equal(m.body.error.code, 'ApiServiceUnavailableError');
        assert.ok(Number(m.headers.get('retry-after')) > 0, 'Retry-After on 503');

        const r = await refresh(n, pair.refreshToken);
        statuses.push(r.status);
        assert.equal(r.status, 503, `${n.name} refresh: ${r.status} ${JSON.stringify(r.body)}`);

        // A check may be answered from the cache (200) or need the database (503); never a 500.
        const k = await check(n, pair.accessToken);
        statuses.push(k.status);
        assert.ok([200, 503].includes(k.status), `${n.name} check: ${k.status}`);
        // Requests that need no database still work.
        assert.equal((await call(`${n.url}/healthz`)).status, 200);
      }
    }
    // Every dialect answers in its own envelope, with Retry-After.
    for (const n of [c, d]) {
      const hoster = await call(`${n.url}/service/account/create/token`, {
        method: 'POST',
        headers: { 'access-key': 'AKunknownkey0000', 'secret-key': newToken('secretKey').token },
      });
      statuses.push(hoster.status);
      assert.equal(hoster.status, 503, `${n.name} hoster: ${hoster.status} ${JSON.stringify(hoster.body)}`);
      assert.equal(hoster.body.httpCode, 503);
      assert.deepEqual(hoster.body.codeList.error, ['service_unavailable']);
      assert.ok(hoster.headers.get('retry-after'));

      const invoicebox = await call(`${n.url}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${randomBytes(16).toString('hex')}` } });
      statuses.push(invoicebox.status);
      assert.equal(invoicebox.status, 503, `${n.name} invoicebox: ${invoicebox.status} ${JSON.stringify(invoicebox.body)}`);
      assert.equal(invoicebox.body.error.code, 'service_unavailable');
      assert.ok(invoicebox.headers.get('retry-after'));

      const introspect = await call(`${n.url}/oauth2/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: newToken('access').token }).toString(),
      });
      statuses.push(introspect.status);
      assert.equal(introspect.status, 503, `${n.name} introspect: ${introspect.status} ${JSON.stringify(introspect.body)}`);
      assert.ok(introspect.headers.get('retry-after'));

      const admin = await call(`${n.url}/api/admin/accounts`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      statuses.push(admin.status);
      assert.equal(admin.status, 503, `${n.name} admin: ${admin.status} ${JSON.stringify(admin.body)}`);
      assert.equal(admin.body.error.code, 'service_unavailable');

      // The key ring is in memory: JWKS may still be served; either way, not a 500.
      const jwks = await call(`${n.url}/.well-known/jwks.json`);
      statuses.push(jwks.status);
      assert.ok([200, 503].includes(jwks.status), `${n.name} jwks: ${jwks.status}`);
    }
    assert.ok(!statuses.includes(500));
    for (const n of [c, d]) assert.ok(alive(n), `${n.name} exited while the database was down:\n${n.output.join('')}`);
    // The load meets the outage before the database comes back: on a busy machine its requests can
    // all be in flight (an argon2id hash, a wait for a connection) through the checks above.
    const met = await eventually(20_000, async () => load!.seen.some((x) => x.status === 503), 50);
    assert.ok(met, 'the load met the outage while the database was down');

    await cluster.start();

    for (const n of [c, d]) {
      const back = await eventually(30_000, async () => (await call(`${n.url}/readyz`)).status === 200, 200);
      assert.ok(back, `${n.name} /readyz did not recover`);
    }
    // The load saw the outage as 503s, never as 500s, and is served again.
    const loadSeen = await load.stop();
    const bad = loadSeen.filter((x) => !x.allowed.includes(x.status));
    assert.deepEqual(bad, [], `unexpected answers under load: ${JSON.stringify(bad.slice(0, 5))}`);
    assert.ok(loadSeen.some((x) => x.status === 503), 'the load met the outage');
    assert.ok(loadSeen.filter((x) => x.status === 200).length > 0);
    // The same processes (no restart) serve again, on both nodes.
    assert.deepEqual([c.proc.pid, d.proc.pid], pids);
    for (const n of [c, d]) assert.ok(alive(n));
    const again = pairOf(await make(d, u));
    const rotated = pairOf(await refresh(c, pair.refreshToken));
    assert.equal((await check(d, rotated.accessToken)).status, 200);
    assert.equal((await check(c, again.accessToken)).status, 200);

    // The LISTEN connections came back too: a revocation made elsewhere reaches D's warm cache
    // promptly (the 60 s cache TTL of this setup cannot be what makes D notice). D's listener
    // reconnects with backoff, possibly a moment after /readyz is green: each attempt below uses
    // a fresh session, and one must be noticed within the bound.
    const revoker = await openSeeder(dbInfo);
    try {
      const listening = await eventually(20_000, async () => {
        const p = pairOf(await make(c, u));
        for (let i = 0; i < 2; i++) assert.equal((await check(d, p.accessToken)).status, 200);
        const found = await revoker.core.sessions.lookupAccess(p.accessToken);
        assert.ok(found);
        await revoker.core.sessions.revoke(found.session.id, { address: 'test' }, 'test');
        return eventually(REVOCATION_BOUND_MS, async () => (await check(d, p.accessToken)).status === 401);
      }, 0);
      assert.ok(listening, 'node D never heard a revocation again after the database came back');
    } finally {
      await revoker.close();
    }
  });
});

interface LoadResult {
  what: string;
  status: number;
  allowed: number[];
}

/**
 * Workers that each loop make -> check -> refresh -> check on alternating nodes until stopped,
 * recording every status (and a fetch failure as status 0, which is never allowed).
 */
function startLoad(nodeList: Node[], users: { email: string; password: string; appId: string }[]): { seen: readonly LoadResult[]; stop(): Promise<LoadResult[]> } {
  let running = true;
  const seen: LoadResult[] = [];
  const note = (what: string, r: Res | null, allowed: number[]): Res | null => {
    seen.push({ what, status: r?.status ?? 0, allowed });
    if (r?.status === 200 && r.body?.data?.accessToken) remember(r.body.data.accessToken, r.body.data.refreshToken);
    return r;
  };
  const safe = (p: Promise<Res>): Promise<Res | null> => p.catch(() => null);
  const workers = users.map(async (user, w) => {
    for (let i = 0; running && i < 10_000; i++) {
      const n = nodeList[(w + i) % nodeList.length]!;
      const made = note('make', await safe(make(n, user)), [200, 503]);
      if (made?.status === 200) {
        const other = nodeList[(w + i + 1) % nodeList.length]!;
        note('check', await safe(check(other, made.body.data.accessToken)), [200, 503]);
        // A refresh whose commit landed just before the connection died answers 503 though it
        // rotated; nothing retries it here, so 401 cannot happen, but it would be correct.
        const r = note('refresh', await safe(refresh(n, made.body.data.refreshToken)), [200, 401, 503]);
        if (r?.status === 200) note('check', await safe(check(other, r.body.data.accessToken)), [200, 503]);
      }
      await sleep(20);
    }
  });
  return {
    seen,
    // Idempotent: the test stops the load when it has seen enough, and again in `after` (a failed
    // assertion must not leave workers running).
    async stop() {
      running = false;
      await Promise.all(workers);
      return seen;
    },
  };
}

/** A fresh database on the private cluster (createTestDatabase works on the shared one). */
async function createTestDatabaseOn(cluster: ThrowawayCluster): Promise<{ url: string; dataDir: string }> {
  const saved = process.env.TOKEND_TEST_DATABASE_URL;
  process.env.TOKEND_TEST_DATABASE_URL = cluster.url;
  try {
    const t = await createTestDatabase('postgres');
    return { url: t.url, dataDir: t.dataDir };
  } finally {
    process.env.TOKEND_TEST_DATABASE_URL = saved;
  }
}
