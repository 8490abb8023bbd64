/**
 * core.changes across processes (a revocation reaches every node within the bound).
 * On PostgreSQL the store bridges the bus through LISTEN/NOTIFY: a change published by one
 * process reaches the others marked `remote`, is never sent back, survives a lost LISTEN
 * connection, and a short-lived process (the CLI) gets its NOTIFY out before it exits. Changes
 * published in one turn of the event loop travel as one NOTIFY per kind.
 * On SQLite there is no bridge: changes stay in the process (the cache's staleness bound covers
 * the CLI beside a running server).
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadConfig } from '../src/config/load.ts';
import type { Change } from '../src/core/changes.ts';
import { openServices, type Services } from '../src/services.ts';
import { LISTEN_APPLICATION_NAME } from '../src/store/dialect.ts';
import { CHANGES_CHANNEL, decodeChange, encodeChange } from '../src/store/pg-notify.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase } from './helpers/harness.ts';

async function open(db: TestDatabase): Promise<Services> {
  return openServices(loadConfig({ env: {}, overrides: { databaseUrl: db.url, dataDir: db.dataDir } }));
}

function recorder(s: Services): Change[] {
  const seen: Change[] = [];
  s.core.changes.subscribe((c) => seen.push(c));
  return seen;
}

async function until(ms: number, probe: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

describe('change payloads', () => {
  it('split large id lists into NOTIFY-sized payloads and parse back', () => {
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    const payloads = encodeChange('node-1', { kind: 'session', ids });
    assert.ok(payloads.length > 1);
    const back: string[] = [];
    for (const p of payloads) {
      assert.ok(Buffer.byteLength(p) < 8000, `${Buffer.byteLength(p)} bytes`);
      const c = decodeChange(p);
      assert.ok(c);
      assert.equal(c.o, 'node-1');
      assert.equal(c.k, 'session');
      back.push(...c.i);
    }
    assert.deepEqual(back, ids);
  });

  it('ignore anything that is not a change from tokend', () => {
    for (const bad of [undefined, '', 'garbage', '{}', '[]', 'null', '{"o":"x","k":"Session!","i":[]}', '{"o":"x","k":"session","i":[1]}', '{"o":1,"k":"session","i":[]}']) {
      assert.equal(decodeChange(bad), null, String(bad));
    }
  });
});

for (const kind of databases()) {
  describe(`change bus across processes (${kind})`, () => {
    let db: TestDatabase;
    let a: Services;
    let b: Services;
    let seenA: Change[];
    let seenB: Change[];

    before(async () => {
      db = await createTestDatabase(kind);
      a = await open(db);
      b = await open(db);
      seenA = recorder(a);
      seenB = recorder(b);
    });

    after(async () => {
      await a?.close();
      await b?.close();
      await db?.drop();
    });

    if (kind === 'sqlite') {
      it('stays in the process: subscribers of the same process hear it, others do not', async () => {
        a.core.changes.publish({ kind: 'session', ids: ['s-local'] });
        await sleep(100);
        assert.deepEqual(seenA.at(-1), { kind: 'session', ids: ['s-local'] });
        assert.equal(seenB.length, 0);
      });
      return;
    }

    it('delivers a change to the other process marked remote, once, and never echoes it back', async () => {
      seenA.length = 0;
      seenB.length = 0;
      a.core.changes.publish({ kind: 'api_token', ids: ['t1', 't2'] });
      assert.ok(await until(5000, () => seenB.length > 0), 'B did not hear the change');
      await sleep(300);
      // sentAt: when A sent it (A's clock), for the notification-lag metric.
      assert.ok(typeof seenB[0]?.sentAt === 'number' && Math.abs(Date.now() - seenB[0].sentAt) < 60_000, String(seenB[0]?.sentAt));
      assert.deepEqual(seenB.map(({ sentAt: _, ...change }) => change), [{ kind: 'api_token', ids: ['t1', 't2'], remote: true }]);
      assert.deepEqual(seenA, [{ kind: 'api_token', ids: ['t1', 't2'] }], 'A hears only its own local publish, no echo');
    });

    it('carries a large revocation (more ids than one NOTIFY holds) completely', async () => {
      seenB.length = 0;
      const ids = Array.from({ length: 1500 }, () => randomUUID());
      a.core.changes.publish({ kind: 'session', ids });
      assert.ok(await until(5000, () => seenB.flatMap((c) => c.ids).length === ids.length));
      assert.deepEqual(new Set(seenB.flatMap((c) => c.ids)), new Set(ids));
      assert.ok(seenB.every((c) => c.remote === true && c.kind === 'session'));
    });

    it('sends the changes published in one turn of the event loop together: one NOTIFY per kind', async () => {
      seenB.length = 0;
      // As many commits landing in the same turn publish them: three sessions and a token, at once.
      a.core.changes.publish({ kind: 'session', ids: ['turn-s1'] });
      a.core.changes.publish({ kind: 'session', ids: ['turn-s2', 'turn-s1'] });
      a.core.changes.publish({ kind: 'api_token', ids: ['turn-t1'] });
      a.core.changes.publish({ kind: 'session', ids: ['turn-s3'] });
      assert.ok(await until(5000, () => seenB.length >= 2));
      await sleep(300);
      // Two NOTIFYs through two pooled sessions: either may commit first.
      const heard = seenB.map(({ sentAt: _, ...change }) => change).sort((x, y) => y.kind.localeCompare(x.kind));
      assert.deepEqual(heard, [
        { kind: 'session', ids: ['turn-s1', 'turn-s2', 'turn-s3'], remote: true },
        { kind: 'api_token', ids: ['turn-t1'], remote: true },
      ]);
      // A change of a later turn goes out on its own.
      seenB.length = 0;
      await sleep(10);
      a.core.changes.publish({ kind: 'session', ids: ['turn-s4'] });
      assert.ok(await until(5000, () => seenB.length > 0));
      assert.deepEqual(seenB.map((c) => c.ids), [['turn-s4']]);
    });

    it('a real revocation on one process reaches the other', async () => {
      seenB.length = 0;
      const account = await a.core.accounts.create({ email: `bridge-${randomUUID()}@example.com`, password: 'correct horse battery' }, { address: 'test' });
      const app = await a.core.accounts.createApp({ accountId: account.id, name: 'bridge' }, { address: 'test' });
      const login = await a.core.accounts.passwordLogin({ email: account.email, password: 'correct horse battery', appId: app.appId }, { address: 'test' });
      assert.ok(login.ok);
      await a.core.sessions.revoke(login.pair.session.id, { address: 'test' }, 'test');
      assert.ok(await until(5000, () => seenB.some((c) => c.kind === 'session' && c.ids.includes(login.pair.session.id) && c.remote === true)));
    });

    it('ignores foreign payloads on the channel without failing', async () => {
      seenB.length = 0;
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query('select pg_notify($1, $2)', [CHANGES_CHANNEL, 'not json']);
        await c.query('select pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify({ o: 'someone', k: 'session', i: ['x'] })]);
      } finally {
        await c.end();
      }
      assert.ok(await until(5000, () => seenB.length === 1));
      assert.deepEqual(seenB, [{ kind: 'session', ids: ['x'], remote: true }]);
    });

    it('listens again after its LISTEN connection is killed', async () => {
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        const killed = await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1',
          [LISTEN_APPLICATION_NAME],
        );
        assert.equal(killed.rowCount, 2, 'one LISTEN session per process');
      } finally {
        await admin.end();
      }
      // Publish until B hears again: B reconnects with backoff; A's notifications go through its pool.
      seenB.length = 0;
      let ticks = 0;
      const heard = await until(15_000, () => {
        if (ticks++ % 10 === 0) a.core.changes.publish({ kind: 'account', ids: ['42'] });
        return seenB.some((c) => c.kind === 'account');
      });
      assert.ok(heard, 'B never heard again after losing its LISTEN connection');
    });

    it('a short-lived process (the CLI) gets its notification out before it closes', async () => {
      seenB.length = 0;
      const cli = await open(db);
      cli.core.changes.publish({ kind: 'api_token', ids: ['from-cli'] });
      await cli.close();
      assert.ok(await until(5000, () => seenB.some((c) => c.ids.includes('from-cli'))));
    });
  });
}

for (const kind of databases()) {
  describe(`a revocation by the CLI reaches a running server's warm cache (${kind})`, () => {
    // SQLite has no bridge: the cache's staleness bound is the guarantee (docs/operations.md), so
    // a short TTL here. PostgreSQL: a TTL far longer than the wait, so only NOTIFY can do it.
    const ttlMs = kind === 'sqlite' ? 1000 : 60_000;
    const boundMs = kind === 'sqlite' ? ttlMs : 5000;

    it(`is in effect within ${boundMs} ms`, async () => {
      const server = await startTokend({ db: kind, config: { verifyCacheTtl: ttlMs } });
      try {
        const u = await seedAccount(server.core);
        const made = await server.core.accounts.passwordLogin(u, { address: 'test' });
        assert.ok(made.ok);
        const checkStatus = async (): Promise<number> =>
          (await server.app.inject({ method: 'GET', url: '/v1/tokens/check', headers: { authorization: made.pair.accessToken } })).statusCode;
        for (let i = 0; i < 3; i++) assert.equal(await checkStatus(), 200);

        // The CLI: another process on the same database, open for one command and closed.
        const cli = await open(server.db);
        try {
          assert.equal(await cli.core.sessions.revoke(made.pair.session.id, { address: 'cli' }, 'test'), true);
        } finally {
          await cli.close();
        }
        const started = Date.now();
        let status = await checkStatus();
        // Slack on top of the bound for a loaded machine; a cache ignoring the bound would stay 200 for 60 s.
        while (status !== 401 && Date.now() - started < boundMs + 2000) {
          await sleep(50);
          status = await checkStatus();
        }
        assert.equal(status, 401);
      } finally {
        await server.close();
      }
    });
  });
}
