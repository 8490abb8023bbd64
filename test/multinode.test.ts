/**
 * Several tokend processes on one PostgreSQL behave as one service.
 *
 * Two real `tokend serve` processes (the published command, spawned as an operator would) share
 * one fresh database in the test cluster; requests are spread over both. A third and fourth
 * process run against a private throwaway cluster that the test stops and starts again (the
 * shared cluster serves the other suites and stays up).
 *
 * PostgreSQL only: these tests need TOKEND_TEST_DATABASE_URL (`source scripts/pg-test-cluster.sh start`).
 */
import { strict as assert } from 'node:assert';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/load.ts';
import { makeQuotaScope } from '../src/core/accounts.ts';
import { DAY_MS } from '../src/core/clock.ts';
import { newToken } from '../src/secrets/tokens.ts';
import { openServices, type Services } from '../src/services.ts';
import { createTestDatabase, databases, seedAccount, type TestDatabase } from './helpers/harness.ts';
import { pgBinDir, ThrowawayCluster } from './helpers/pg-cluster.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEND = join(ROOT, 'bin', 'tokend.js');

/** Shared by every node of one deployment (nodes that share a database share it). */
const MASTER_KEY = `multinode-test-master-key-${randomBytes(16).toString('hex')}`;
const ADMIN_TOKEN = `multinode-admin-${randomBytes(24).toString('hex')}`;
/** A revocation is seen on every node within 5 s by default. */
const REVOCATION_BOUND_MS = 5000;

/** Every secret tokend handed out or was given during this file: none may be in a dump or a log. */
const secrets = new Set<string>([MASTER_KEY, ADMIN_TOKEN]);
function remember(...values: unknown[]): void {
  for (const v of values) if (typeof v === 'string' && v.length >= 8) secrets.add(v);
}

interface Node {
  name: string;
  url: string;
  proc: ChildProcess;
  /** Everything the process wrote, stdout and stderr. */
  output: string[];
  stop(): Promise<void>;
}

/** Starts `tokend serve --port 0` and waits for its "listening" line. */
async function startNode(name: string, db: { url: string; dataDir: string }, env: Record<string, string> = {}): Promise<Node> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TOKEND_')) childEnv[k] = v;
  Object.assign(childEnv, {
    TOKEND_MASTER_KEY: MASTER_KEY,
    TOKEND_ADMIN_TOKEN: ADMIN_TOKEN,
    TOKEND_LOG_LEVEL: 'warn',
    TOKEND_DATABASE_POOL_SIZE: '8',
    ...env,
  });
  const proc = spawn(process.execPath, [TOKEND, 'serve', '--port', '0', '--host', '127.0.0.1', '--database-url', db.url, '--data-dir', db.dataDir], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in time:\n${output.join('')}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output.push(String(chunk));
      const m = /tokend listening on (http:\/\/[^\s]+)/.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (chunk: Buffer) => output.push(String(chunk)));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${output.join('')}`));
    });
  });
  return {
    name,
    url,
    proc,
    output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function alive(node: Node): boolean {
  return node.proc.exitCode === null && node.proc.signalCode === null;
}

interface Res {
  status: number;
  body: any;
  headers: Headers;
}

async function call(url: string, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Left as text: the assertion that follows shows it.
  }
  return { status: res.status, body, headers: res.headers };
}

function make(node: Node, u: { email: string; password: string; appId: string }): Promise<Res> {
  return call(`${node.url}/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: u.email, password: u.password, appId: u.appId }),
  });
}

function refresh(node: Node, token: string): Promise<Res> {
  return call(`${node.url}/v1/tokens/refresh`, { method: 'POST', headers: { refresh: token } });
}

function check(node: Node, token: string): Promise<Res> {
  return call(`${node.url}/v1/tokens/check`, { headers: { authorization: token } });
}

/** Remembers the pair of a successful make/refresh (for the dump and log checks). */
function pairOf(r: Res): { accessToken: string; refreshToken: string } {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  remember(r.body.data.accessToken, r.body.data.refreshToken);
  return r.body.data;
}

/** Polls `probe` until it returns true or `ms` pass; returns whether it did. */
async function eventually(ms: number, probe: () => Promise<boolean>, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** In-process services on the nodes' database, for seeding (accounts are not created over the wire yet). */
async function openSeeder(db: { url: string; dataDir: string }): Promise<Services> {
  return openServices(loadConfig({ env: {}, overrides: { databaseUrl: db.url, dataDir: db.dataDir } }));
}

async function seed(services: Services): Promise<{ accountId: number; email: string; password: string; appId: string }> {
  const u = await seedAccount(services.core);
  remember(u.password);
  return u;
}

async function pgDump(url: string): Promise<string> {
  const bin = pgBinDir();
  assert.ok(bin, 'pg_dump not found');
  const { stdout } = await run(join(bin, 'pg_dump'), ['--no-owner', '--dbname', url], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

function assertNoSecretIn(text: string, where: string): void {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} contains an issued secret (${s.slice(0, 6)}…)`);
}

/** A 500 is logged as "unhandled error" (src/http/app.ts): none may have happened on a node. */
function assertNo500Logged(node: Node): void {
  assert.ok(!node.output.join('').includes('unhandled error'), `node ${node.name} logged an unhandled error:\n${node.output.join('')}`);
}

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
    const env = { TOKEND_VERIFY_CACHE_TTL: '60s' };
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

  it('a session revoked through node A is rejected by node B within the bound, B\'s cache warm before', async (t) => {
    const u = await seed(seeder);
    const pair = pairOf(await make(a, u));
    // Warm B: it has now read the token and cached the answer (for up to 60 s in this setup).
    for (let i = 0; i < 3; i++) assert.equal((await check(b, pair.accessToken)).status, 200);

    const revoked = await call(`${a.url}/oauth2/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: pair.refreshToken, token_type_hint: 'refresh_token' }).toString(),
    });
    if (revoked.status === 404) {
      t.skip('POST /oauth2/revoke is not served yet');
      return;
    }
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

  it('an API token revoked with the CLI is rejected by node B within the bound', async (t) => {
    const u = await seed(seeder);
    const env = { ...process.env, TOKEND_DATABASE_URL: db.url, TOKEND_DATA_DIR: db.dataDir, TOKEND_MASTER_KEY: MASTER_KEY, TOKEND_LOG_LEVEL: 'warn' };
    let created: { id: string; token: string };
    try {
      const { stdout } = await run(process.execPath, [TOKEND, 'api-token', 'create', '--account', String(u.accountId), '--format', 'v3', '--json'], { env });
      created = JSON.parse(stdout.trim().split('\n').pop()!) as { id: string; token: string };
    } catch (error) {
      t.skip(`tokend api-token create is not available yet (${(error as Error).message.split('\n')[0]})`);
      return;
    }
    remember(created.token);
    const auth = (n: Node): Promise<Res> => call(`${n.url}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${created.token}` } });
    for (let i = 0; i < 3; i++) assert.equal((await auth(b)).status, 200);
    await run(process.execPath, [TOKEND, 'api-token', 'revoke', created.id], { env });
    const rejected = await eventually(REVOCATION_BOUND_MS, async () => (await auth(b)).status === 401);
    assert.ok(rejected, `node B still accepts the revoked API token after ${REVOCATION_BOUND_MS} ms`);
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

describe('a node whose database goes away and comes back', { skip: withPostgres && pgBinDir() ? false : 'needs PostgreSQL binaries and TOKEND_TEST_DATABASE_URL' }, () => {
  let cluster: ThrowawayCluster;
  let c: Node;
  let d: Node;
  let dbInfo: { url: string; dataDir: string };
  let load: { stop(): Promise<LoadResult[]> } | undefined;

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
function startLoad(nodeList: Node[], users: { email: string; password: string; appId: string }[]): { stop(): Promise<LoadResult[]> } {
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
