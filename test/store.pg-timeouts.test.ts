/**
 * PostgreSQL's server-side timeouts (docs/operations.md, "A node that stalls mid-transaction").
 *
 * A tokend node that stalls inside a transaction (SIGSTOP, a stuck event loop) keeps its row
 * locks; without timeouts, every other node's request that needs those rows would wait forever.
 * - TOKEND_DATABASE_STATEMENT_TIMEOUT: a statement waiting for such a lock is cancelled (57014),
 *   its transaction rolled back, and the request answers 503 with Retry-After in its dialect's
 *   envelope; once the lock is gone the same request succeeds, and nothing was half-written.
 * - TOKEND_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: the server ends the stalled session itself, which
 *   rolls its transaction back and releases its locks.
 * - Migrations are not bound by the statement timeout; the LISTEN session is not ended by the
 *   idle-in-transaction timeout.
 *
 * The lock holders are separate, raw pg sessions on the same database: a real server, no mocks.
 * PostgreSQL only: needs TOKEND_TEST_DATABASE_URL (`source scripts/pg-test-cluster.sh start`).
 */
import { strict as assert } from 'node:assert';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config/load.ts';
import type { Change } from '../src/core/changes.ts';
import { StoreUnavailableError } from '../src/core/errors.ts';
import { openServices, type Services } from '../src/services.ts';
import { createStore } from '../src/store/database.ts';
import { MIGRATION_NAMES } from '../src/store/migrations/index.ts';
import { LISTEN_APPLICATION_NAME, openPostgres, postgresConnectionConfig, sessionSettingsSql } from '../src/store/dialect.ts';
import { checkResponse } from './helpers/envelopes.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';
import { hosterCalls, seedServiceKey } from './helpers/hoster.ts';

const withPostgres = databases().includes('postgres');
const skip = withPostgres ? false : 'needs TOKEND_TEST_DATABASE_URL';
/** Without the timeouts these tests would wait forever for a lock: fail instead. */
const timeout = 60_000;

/**
 * Short enough for a test, long enough that an ordinary statement never hits it, even with the
 * other suites running beside this one on a small machine.
 */
const STATEMENT_TIMEOUT_MS = 1500;
/**
 * "Well before any client timeout": a blocked request must be answered within this. Without the
 * timeouts it would wait for the lock for as long as the test holds it (up to the test's timeout),
 * so the bound only has to sit well below that, not near the statement timeout: a busy machine
 * adds seconds, never tens of seconds.
 */
const ANSWER_WITHIN_MS = 15_000;
const ADMIN_TOKEN = `tdm_timeouts_${randomUUID().replaceAll('-', '')}`;

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A plain session (no timeouts of its own) that takes a lock inside a transaction and keeps it until released. */
async function holdLock(url: string, statement: string, params: unknown[] = []): Promise<{ client: pg.Client; rows: number; release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'lock-holder' });
  await client.connect();
  await client.query('begin');
  const r = await client.query(statement, params);
  return {
    client,
    rows: r.rowCount ?? 0,
    async release() {
      await client.query('rollback');
      await client.end();
    },
  };
}

/** tokend's sessions on this database that are waiting for a lock right now. */
async function tokendWaitingForLocks(client: pg.Client): Promise<number> {
  const r = await client.query(
    `select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = 'tokend' and wait_event_type = 'Lock'`,
  );
  return r.rows[0].n as number;
}

interface Answer {
  status: number;
  body: Record<string, any>;
  headers: Record<string, string | string[] | number | undefined>;
  ms: number;
}

async function timed(t: TestTokend, request: { method: string; url: string; headers?: Record<string, string>; payload?: string }): Promise<Answer> {
  const started = performance.now();
  const res = await t.app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers ?? {}, ...(request.payload !== undefined ? { payload: request.payload } : {}) });
  const ms = performance.now() - started;
  const problem = checkResponse({ method: request.method, url: request.url }, { status: res.statusCode, headers: res.headers, body: res.body }, { allow5xx: true });
  assert.equal(problem, null, `${request.url}: ${problem}`);
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any>, headers: res.headers, ms };
}

/** A 503 that came from the statement timeout: after it, not after a client-side wait; Retry-After set. */
function assertTimedOut503(a: Answer, what: string): void {
  assert.equal(a.status, 503, `${what}: ${a.status} ${JSON.stringify(a.body)}`);
  assert.ok(Number(a.headers['retry-after']) > 0, `${what}: Retry-After on 503`);
  assert.ok(a.ms >= STATEMENT_TIMEOUT_MS - 20, `${what}: answered after ${a.ms} ms, before the statement timeout: not blocked?`);
  assert.ok(a.ms < ANSWER_WITHIN_MS, `${what}: answered after ${a.ms} ms`);
}

describe('statement timeout: a request blocked by a lock answers 503 in its envelope, then succeeds', { skip, timeout }, () => {
  let t: TestTokend;
  let observer: pg.Client;

  before(async () => {
    // A pool of 2: a client not given back after a timed-out statement would soon leave none,
    // and the requests after the 503s would wait for a connection and fail.
    t = await startTokend({ db: 'postgres', config: { databaseStatementTimeout: STATEMENT_TIMEOUT_MS, databasePoolSize: 2, adminToken: ADMIN_TOKEN } });
    observer = new pg.Client({ connectionString: t.db.url, application_name: 'observer' });
    await observer.connect();
  });
  after(async () => {
    await observer?.end();
    await t?.close();
  });

  it('the pool sessions carry the configured timeouts', async () => {
    const s = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(t.services.db.dialect.db);
    assert.equal(s.rows[0]!.statement_timeout, `${STATEMENT_TIMEOUT_MS}ms`);
    const i = await sql<{ idle_in_transaction_session_timeout: string }>`show idle_in_transaction_session_timeout`.execute(t.services.db.dialect.db);
    assert.equal(i.rows[0]!.idle_in_transaction_session_timeout, '30s');
  });

  it('ChatApp refresh blocked by a row lock on its refresh token: 503, then the old token works exactly once', async () => {
    const u = await seedAccount(t.core);
    const made = await timed(t, { method: 'POST', url: '/v1/tokens', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: u.email, password: u.password, appId: u.appId }) });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const { accessToken, refreshToken } = made.body.data as { accessToken: string; refreshToken: string };
    const hash = sha256Hex(refreshToken);
    const session = (await observer.query('select session_id from refresh_tokens where hash = $1', [hash])).rows[0].session_id as string;

    // Another session (a node stalled mid-refresh) holds the refresh token's row.
    const lock = await holdLock(t.db.url, 'select hash from refresh_tokens where hash = $1 for update', [hash]);
    assert.equal(lock.rows, 1);
    try {
      // Three in a row with a pool of 2: each timed-out statement gave its client back.
      for (let i = 0; i < 3; i++) {
        const r = await timed(t, { method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: refreshToken } });
        assertTimedOut503(r, `refresh #${i + 1}`);
        assert.deepEqual(Object.keys(r.body).sort(), ['error', 'success']);
        assert.equal(r.body.success, false);
        assert.equal(r.body.error.code, 'ApiServiceUnavailableError');
      }
      // The statement was cancelled on the server, not only abandoned by the client.
      assert.equal(await tokendWaitingForLocks(observer), 0);
      // Nothing half-written: still one pair, generation 1, the token unrotated, no refresh audited.
      const s = (await observer.query('select generation, revoked_at from sessions where id = $1', [session])).rows[0];
      assert.deepEqual(s, { generation: 1, revoked_at: null });
      const tokens = await observer.query('select rotated_at from refresh_tokens where session_id = $1', [session]);
      assert.deepEqual(tokens.rows, [{ rotated_at: null }]);
      assert.equal((await observer.query('select count(*)::int as n from access_tokens where session_id = $1', [session])).rows[0].n, 1);
      assert.equal((await observer.query(`select count(*)::int as n from audit_events where session_id = $1 and type = 'session.refreshed'`, [session])).rows[0].n, 0);
      // The access token still works meanwhile (a read: row locks do not block it).
      assert.equal((await timed(t, { method: 'GET', url: '/v1/tokens/check', headers: { authorization: accessToken } })).status, 200);
    } finally {
      await lock.release();
    }

    const ok = await timed(t, { method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: refreshToken } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.notEqual(ok.body.data.refreshToken, refreshToken);
    const again = await timed(t, { method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: refreshToken } });
    assert.equal(again.status, 401, JSON.stringify(again.body));
    assert.equal(again.body.error.code, 'ApiInvalidRefreshTokenError');
    assert.equal((await timed(t, { method: 'GET', url: '/v1/tokens/check', headers: { authorization: ok.body.data.accessToken } })).status, 200);
    assert.equal((await observer.query('select generation from sessions where id = $1', [session])).rows[0].generation, 2);
  });

  it('hoster.by token creation blocked by a row lock on its key: 503, its earlier write rolled back, then it succeeds', async () => {
    const k = await seedServiceKey(t.core);
    const h = hosterCalls(t);
    // The creation's transaction first marks the service account used, then the key: the key's
    // row is held, so the first write must be undone with the rest.
    const lock = await holdLock(t.db.url, 'select id from service_keys where id = $1 for update', [k.keyId]);
    assert.equal(lock.rows, 1);
    try {
      const started = performance.now();
      const r = await h.create(k);
      const a: Answer = { status: r.status, body: r.body, headers: r.headers, ms: performance.now() - started };
      assertTimedOut503(a, 'hoster create');
      assert.equal(r.body.httpCode, 503);
      assert.equal(r.body.statusCode, 'error');
      assert.deepEqual(r.body.codeList, { error: ['service_unavailable'] });
      assert.equal(typeof r.body.messageList?.error?.service_unavailable, 'string');
      assert.equal(await tokendWaitingForLocks(observer), 0);
      const sa = (await observer.query('select last_used_at from service_accounts where id = $1', [k.serviceAccountId])).rows[0];
      assert.equal(sa.last_used_at, null, 'the service account was marked used by a transaction that failed');
      assert.equal((await observer.query(`select count(*)::int as n from sessions where kind = 'service' and account_id = $1`, [k.accountId])).rows[0].n, 0);
      assert.equal((await observer.query('select count(*)::int as n from counters where scope = $1', [`service-create:${k.keyId}`])).rows[0].n, 0, 'quota taken by a failed creation');
    } finally {
      await lock.release();
    }
    const ok = await h.create(k);
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await observer.query(`select count(*)::int as n from sessions where kind = 'service' and account_id = $1`, [k.accountId])).rows[0].n, 1);
    assert.notEqual((await observer.query('select last_used_at from service_accounts where id = $1', [k.serviceAccountId])).rows[0].last_used_at, null);
  });

  it('Invoicebox check blocked by a lock on the token table: 503 in its envelope, then 200', async () => {
    const u = await seedAccount(t.core);
    const { token } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, { address: 'test' });
    // Reads do not wait for row locks; an exclusive table lock (a schema change stuck behind a
    // stalled node, say) stops them too.
    const lock = await holdLock(t.db.url, 'lock table api_tokens in access exclusive mode');
    try {
      const r = await timed(t, { method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });
      assertTimedOut503(r, 'invoicebox check');
      assert.deepEqual(r.body, { error: { message: 'Service temporarily unavailable', code: 'service_unavailable' } });
      assert.equal(await tokendWaitingForLocks(observer), 0);
    } finally {
      await lock.release();
    }
    const ok = await timed(t, { method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.data.userId, u.uid);
  });

  it('native admin API blocked by a lock on the accounts table: 503 in the native envelope, then 200', async () => {
    const lock = await holdLock(t.db.url, 'lock table accounts in access exclusive mode');
    try {
      const r = await timed(t, { method: 'GET', url: '/api/admin/accounts', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assertTimedOut503(r, 'admin accounts');
      assert.deepEqual(Object.keys(r.body), ['error']);
      assert.equal(r.body.error.code, 'service_unavailable');
    } finally {
      await lock.release();
    }
    const ok = await timed(t, { method: 'GET', url: '/api/admin/accounts', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it('no request was logged as a server error', () => {
    const errors = t.logs.filter((line) => /"level":(50|60)/.test(line) || /"statusCode":500/.test(line));
    assert.deepEqual(errors, []);
  });
});

describe('idle-in-transaction timeout: the server ends a session that stalls inside a transaction', { skip, timeout }, () => {
  const IDLE_MS = 300;
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('postgres');
  });
  after(async () => db?.drop());

  it('a session configured like tokend\'s pool loses its session and its row lock; another session takes the lock', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query('create table stall_probe (id int primary key, v int not null)');
      await admin.query('insert into stall_probe values (1, 0)');

      const stalled = new pg.Client({ ...postgresConnectionConfig(db.url), application_name: 'tokend' });
      const events: Error[] = [];
      stalled.on('error', (e) => events.push(e));
      await stalled.connect();
      await stalled.query(sessionSettingsSql(10_000, IDLE_MS));
      assert.equal((await stalled.query('show idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout, `${IDLE_MS}ms`);
      await stalled.query('begin');
      await stalled.query('update stall_probe set v = 1 where id = 1');
      // ...and the node stalls: it sends nothing more. Another session needs the row.
      const started = performance.now();
      const other = await holdLock(db.url, 'select v from stall_probe where id = 1 for update');
      const waited = performance.now() - started;
      try {
        assert.equal(other.rows, 1);
        assert.ok(waited >= IDLE_MS - 20, `the lock was free after ${waited} ms: was it held?`);
        assert.ok(waited < ANSWER_WITHIN_MS, `the lock was released only after ${waited} ms`);
        // The stalled transaction's write was rolled back.
        assert.equal((await other.client.query('select v from stall_probe where id = 1')).rows[0].v, 0);
      } finally {
        await other.release();
      }

      // The server said why, and when the node resumes its next query fails: both read as "unavailable".
      const dialect = openPostgres(db.url);
      try {
        const fatal = events.find((e) => (e as { code?: string }).code === '25P03');
        assert.ok(fatal, `no 25P03 error event: ${events.map((e) => e.message).join('; ')}`);
        assert.match(fatal.message, /terminating connection due to idle-in-transaction timeout/);
        assert.ok(dialect.isUnavailable(fatal));
        const next = await stalled.query('select 1').then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(next, 'a query on the ended session succeeded');
        assert.ok(dialect.isUnavailable(next), `not classified unavailable: ${String(next)}`);
      } finally {
        await dialect.db.destroy();
        await stalled.end().catch(() => {});
      }
    } finally {
      await admin.end();
    }
  });

  it('through the store: a transaction that stalls past it fails as StoreUnavailableError, wrote nothing, and the pool carries on', async () => {
    // The schema first, without the short timeout: on a busy machine a migration's transaction
    // may rightly sit idle for longer than 300 ms between its statements.
    const setup = createStore(openPostgres(db.url));
    try {
      await setup.migrate();
    } finally {
      await setup.close();
    }
    // A pool of 1: the ended session must be discarded, not handed out again.
    const store = createStore(openPostgres(db.url, { idleInTransactionTimeoutMs: IDLE_MS, poolSize: 1 }));
    try {
      const address = `stall-${randomUUID()}`;
      const failed = await store
        .transaction(async (tx) => {
          await tx.audit.append({ at: Date.now(), type: 'session.revoked', accountId: null, sessionId: null, address, detail: {} });
          await sleep(IDLE_MS * 3);
          await tx.audit.append({ at: Date.now(), type: 'session.revoked', accountId: null, sessionId: null, address, detail: {} });
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
      assert.ok(failed instanceof StoreUnavailableError, `expected StoreUnavailableError, got ${String(failed)}`);
      const written = await sql<{ n: number }>`select count(*)::int as n from audit_events where address = ${address}`.execute(store.dialect.db);
      assert.equal(written.rows[0]!.n, 0, 'a stalled transaction left a record behind');
      // The next transaction gets a working session.
      await store.transaction(async (tx) => {
        await tx.audit.append({ at: Date.now(), type: 'session.revoked', accountId: null, sessionId: null, address, detail: {} });
      });
      const after = await sql<{ n: number }>`select count(*)::int as n from audit_events where address = ${address}`.execute(store.dialect.db);
      assert.equal(after.rows[0]!.n, 1);
    } finally {
      await store.close();
    }
  });

  it('does not end the LISTEN session: idle by design, but outside any transaction', async () => {
    const config = loadConfig({
      env: { TOKEND_DATABASE_STATEMENT_TIMEOUT: '200ms', TOKEND_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: `${IDLE_MS}ms` },
      overrides: { databaseUrl: db.url, dataDir: db.dataDir },
    });
    const a: Services = await openServices(config);
    const b: Services = await openServices(config);
    const observer = new pg.Client({ connectionString: db.url });
    await observer.connect();
    try {
      const listeners = async (): Promise<number[]> =>
        (await observer.query('select pid from pg_stat_activity where datname = current_database() and application_name = $1 order by pid', [LISTEN_APPLICATION_NAME])).rows.map((r) => r.pid as number);
      const before = await listeners();
      assert.equal(before.length, 2);
      await sleep(IDLE_MS * 4);
      assert.deepEqual(await listeners(), before, 'a LISTEN session was ended (and reopened)');
      const seen: Change[] = [];
      b.core.changes.subscribe((c) => seen.push(c));
      a.core.changes.publish({ kind: 'session', ids: ['after-idle'] });
      const deadline = Date.now() + 5000;
      while (!seen.some((c) => c.remote && c.ids.includes('after-idle')) && Date.now() < deadline) await sleep(20);
      assert.ok(seen.some((c) => c.remote && c.ids.includes('after-idle')), 'B did not hear A after the idle period');
    } finally {
      await observer.end();
      await a.close();
      await b.close();
    }
  });
});

describe('migrations are not bound by the statement timeout', { skip, timeout }, () => {
  /** Kysely's PostgreSQL migration lock (kysely/dist/dialect/postgres/postgres-adapter.js, LOCK_ID). */
  const KYSELY_MIGRATION_LOCK = '3853314791062309107';
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('postgres');
  });
  after(async () => db?.drop());

  it('a fresh database migrates with it at 1 ms, even waiting for another node\'s migration to finish', async () => {
    const config = loadConfig({ env: { TOKEND_DATABASE_STATEMENT_TIMEOUT: '1ms' }, overrides: { databaseUrl: db.url, dataDir: db.dataDir } });
    assert.equal(config.databaseStatementTimeout, 1);
    const store = createStore(openPostgres(db.url, { statementTimeoutMs: config.databaseStatementTimeout }));
    // Another node is migrating: it holds the migration lock for half a second.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      // The timeout is real on the pool: a 50 ms statement is cancelled, and reads as unavailable.
      const cut = await sql`select pg_sleep(0.05)`.execute(store.dialect.db).then(
        () => null,
        (e: unknown) => e,
      );
      assert.equal((cut as { code?: string } | null)?.code, '57014');
      assert.ok(store.dialect.isUnavailable(cut));

      await other.query(`select pg_advisory_lock(${KYSELY_MIGRATION_LOCK})`);
      const started = performance.now();
      const migrating = store.migrate();
      await sleep(500);
      await other.query(`select pg_advisory_unlock(${KYSELY_MIGRATION_LOCK})`);
      const applied = await migrating;
      assert.ok(performance.now() - started >= 480, 'the migration did not wait for the lock');
      assert.deepEqual(applied, MIGRATION_NAMES);
      const tables = await other.query(`select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name in ('accounts', 'sessions', 'refresh_tokens', 'api_tokens', 'console_sessions')`);
      assert.equal(tables.rows[0].n, 5);
      assert.deepEqual(await store.migrate(), []);
    } finally {
      await other.end();
      await store.close();
    }
  });

  it('0 turns the timeout off, even where the database sets one', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const name = (await admin.query('select current_database() as d')).rows[0].d as string;
    await admin.query(`alter database ${name} set statement_timeout = '5s'`);
    await admin.end();
    const off = openPostgres(db.url, { statementTimeoutMs: 0, idleInTransactionTimeoutMs: 0 });
    const dflt = openPostgres(db.url);
    try {
      const s = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(off.db);
      assert.equal(s.rows[0]!.statement_timeout, '0');
      const i = await sql<{ idle_in_transaction_session_timeout: string }>`show idle_in_transaction_session_timeout`.execute(off.db);
      assert.equal(i.rows[0]!.idle_in_transaction_session_timeout, '0');
      // Without options: the settings' defaults.
      assert.equal((await sql<{ statement_timeout: string }>`show statement_timeout`.execute(dflt.db)).rows[0]!.statement_timeout, '10s');
    } finally {
      await off.db.destroy();
      await dflt.db.destroy();
    }
  });
});
