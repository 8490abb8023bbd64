/**
 * tokend behind PgBouncer in session pooling mode (docs/operations.md): the deployment the docs
 * describe for pooled PostgreSQL. A real PgBouncer (Debian's `pgbouncer`) in front of the test
 * cluster; tokend migrates, writes and reads through it, and its sessions carry the statement and
 * idle-in-transaction timeouts, which it sets with SET because PgBouncer refuses unknown startup
 * parameters (the negative control below shows that refusal).
 *
 * Needs TOKEND_TEST_DATABASE_URL and the pgbouncer binary (.ci/run installs it); skipped otherwise.
 */
import { RUNUSER } from './helpers/pg-cluster.ts';
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';

function pgbouncerBinary(): string | null {
  for (const path of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) {
    try {
      execFileSync(path, ['--version'], { stdio: 'ignore' });
      return path;
    } catch {
      // not there
    }
  }
  return null;
}

const BIN = pgbouncerBinary();
// CI installs PgBouncer, so there a missing binary fails the test instead of skipping it.
const skip = !databases().includes('postgres') ? 'needs TOKEND_TEST_DATABASE_URL' : !BIN && !process.env.CI ? 'needs pgbouncer (apt-get install pgbouncer; CI installs it)' : false;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** PgBouncer refuses to run as root: as root, it runs as the cluster's `postgres` user. */
function startPgbouncer(dir: string, upstream: URL, port: number): ChildProcess {
  writeFileSync(join(dir, 'userlist.txt'), `"${decodeURIComponent(upstream.username)}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = session',
      'max_client_conn = 200',
      'default_pool_size = 50',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chmodSync(dir, 0o755);
    for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
  }
  const args = [join(dir, 'pgbouncer.ini')];
  return asRoot ? spawn(RUNUSER, ['-u', 'postgres', '--', BIN!, ...args], { stdio: 'ignore' }) : spawn(BIN!, args, { stdio: 'ignore' });
}

async function waitForPort(url: string): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      last = error;
      await client.end().catch(() => {});
      await sleep(100);
    }
  }
  throw new Error(`pgbouncer did not accept connections: ${(last as Error)?.message}`);
}

describe('tokend behind PgBouncer (session pooling)', { skip }, () => {
  let dir: string;
  let bouncer: ChildProcess;
  let db: TestDatabase;
  let viaBouncer: string;
  let t: TestTokend;

  before(async () => {
    if (!BIN) throw new Error('pgbouncer is not installed (apt-get install pgbouncer)');
    db = await createTestDatabase('postgres');
    dir = mkdtempSync(join(tmpdir(), 'tokend-pgbouncer-'));
    const upstream = new URL(db.url);
    const port = await freePort();
    bouncer = startPgbouncer(dir, upstream, port);
    const url = new URL(db.url);
    url.host = `127.0.0.1:${port}`;
    viaBouncer = url.toString();
    await waitForPort(viaBouncer);
    t = await startTokend({ db: { ...db, url: viaBouncer }, config: { databaseStatementTimeout: 7000, databaseIdleInTransactionTimeout: 20_000 } });
  });

  after(async () => {
    await t?.close();
    bouncer?.kill('SIGTERM');
    await db?.drop();
    if (dir) {
      const log = (() => {
        try {
          return readFileSync(join(dir, 'pgbouncer.log'), 'utf8');
        } catch {
          return '';
        }
      })();
      rmSync(dir, { recursive: true, force: true });
      // Kept in the output only when something went wrong in PgBouncer itself.
      if (/FATAL|ERROR/.test(log)) process.stderr.write(`pgbouncer log:\n${log}\n`);
    }
  });

  it('negative control: PgBouncer refuses a statement_timeout startup parameter', async () => {
    const client = new pg.Client({ connectionString: viaBouncer, statement_timeout: 1000 });
    await assert.rejects(client.connect(), /unsupported startup parameter/);
    await client.end().catch(() => {});
  });

  it('migrates through it, and every session of the pool carries the configured timeouts', async () => {
    const tables = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(t.services.db.dialect.db);
    assert.ok(tables.rows[0]!.n >= 5);
    // Several sessions at once, so that more than one server connection is opened.
    const shown = await Promise.all(
      Array.from({ length: 4 }, () =>
        t.services.db.dialect.db.transaction().execute(async (tx) => {
          const s = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(tx);
          const i = await sql<{ idle_in_transaction_session_timeout: string }>`show idle_in_transaction_session_timeout`.execute(tx);
          await sql`select pg_sleep(0.05)`.execute(tx);
          return [s.rows[0]!.statement_timeout, i.rows[0]!.idle_in_transaction_session_timeout];
        }),
      ),
    );
    for (const row of shown) assert.deepEqual(row, ['7s', '20s']);
  });

  it('serves the three schemes through it: ChatApp make and refresh, an Invoicebox check', async () => {
    const u = await seedAccount(t.core);
    const made = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
    assert.equal(made.statusCode, 200, made.body);
    const pair = made.json().data;
    const refreshed = await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: pair.refreshToken } });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    const { token } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, { address: 'test' });
    const check = await t.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });
    assert.equal(check.statusCode, 200, check.body);
    assert.equal(check.json().data.userId, u.uid);
  });
});
