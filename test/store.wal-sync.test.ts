/**
 * SQLite's commits are synced off the event loop (src/store/wal-sync.ts): the COMMIT returns
 * before the log is on disk, so what must hold is the order. No answer precedes the sync that
 * covers its commit: not a transaction's, not a write's outside one, not a read's that saw a
 * commit not yet on disk. A sync that fails fails what waits for it and every write after it.
 *
 * The syncs are the real ones (fdatasync of the real log on its thread); the tests watch them
 * through the `around` hook, hold one back, or, once, make one fail.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { StoreUnavailableError } from '../src/core/errors.ts';
import { createStore, type Database } from '../src/store/database.ts';
import { mayCommit, openSqlite } from '../src/store/dialect.ts';
import type { WalSyncOptions } from '../src/store/wal-sync.ts';

const WINDOW = 0;
const FAR = 9e15;

/** A gate that holds every sync until opened. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Resolves `true` when `p` settles within `ms`, `false` otherwise. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  return done;
}

describe('SQLite commits synced off the event loop', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tokend-walsync-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function open(name: string, walSync: WalSyncOptions): Promise<{ store: Database; file: string }> {
    const file = join(dir, `${name}.db`);
    const store = createStore(openSqlite(file, { walSync }));
    await store.migrate();
    return { store, file };
  }

  /** The counters committed in the file, read on a connection of the test's own. */
  function committed(file: string): Map<string, number> {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      // Before the migrations made the table (their syncs pass by here too): nothing committed.
      if (!db.prepare("select 1 from sqlite_master where name = 'counters'").get()) return new Map();
      const rows = db.prepare('select scope, count from counters').all() as { scope: string; count: number }[];
      return new Map(rows.map((r) => [r.scope, r.count]));
    } finally {
      db.close();
    }
  }

  it('runs the writer with synchronous=NORMAL, the log being synced by the thread instead', async () => {
    const { store } = await open('mode', {});
    try {
      const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.dialect.db);
      assert.equal(rows[0]!.synchronous, 1, 'NORMAL');
    } finally {
      await store.close();
    }
  });

  it('keeps the sub-journal of a batch\'s savepoints in memory, not in a temporary file', async () => {
    const { store } = await open('subjournal', {});
    try {
      const { rows } = await sql<{ temp_store: number }>`pragma temp_store`.execute(store.dialect.db);
      assert.equal(rows[0]!.temp_store, 2, 'MEMORY');
      // Far more than 64 KiB of pages changed inside one transaction's savepoint: with SQLite's
      // default, the sub-journal would now be an open (already deleted) temporary file.
      const openFiles = await store.transaction(async (tx) => {
        for (let i = 0; i < 3000; i++) await tx.counters.increment(`subjournal-${i}-${'x'.repeat(64)}`, WINDOW, FAR);
        return readdirSync('/proc/self/fd').map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return '';
          }
        });
      });
      assert.deepEqual(openFiles.filter((target) => target.includes('etilqs_')), [], 'a temporary file of SQLite was open');
    } finally {
      await store.close();
    }
  });

  it('answers every transaction only after a sync that began after its COMMIT has returned', async () => {
    // At the start of each sync: what is committed in the file (the sync covers at least that).
    // At its end: that is on disk. Each answer must find its own write among what is on disk.
    const onDisk = new Set<string>();
    const file = join(dir, 'order.db');
    let syncs = 0;
    const { store } = await open('order', {
      around: async (sync) => {
        const covered = [...committed(file).keys()];
        syncs++;
        await sync();
        for (const scope of covered) onDisk.add(scope);
      },
    });
    syncs = 0;
    try {
      const answered: string[] = [];
      await Promise.all(
        Array.from({ length: 80 }, async (_, i) => {
          const scope = `tx-${i}`;
          await store.transaction(async (tx) => tx.counters.increment(scope, WINDOW, FAR));
          assert.ok(onDisk.has(scope), `${scope} was answered before a sync covered its commit`);
          answered.push(scope);
        }),
      );
      assert.equal(answered.length, 80);
      assert.ok(syncs >= 1 && syncs < 80, `expected the syncs to be shared by batches, got ${syncs} for 80 transactions`);
    } finally {
      await store.close();
    }
  });

  it('holds a committed transaction, a write outside a transaction and a read of either until the sync returns', async () => {
    let held = gate();
    let holding = false;
    const { store, file } = await open('hold', {
      around: async (sync) => {
        if (holding) await held.wait;
        await sync();
      },
    });
    try {
      holding = true;
      const write = store.transaction(async (tx) => tx.counters.increment('held', WINDOW, FAR));
      // Committed (another connection sees it) but not answered: its sync is held back.
      for (let i = 0; i < 100 && !committed(file).has('held'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(committed(file).get('held'), 1, 'the COMMIT has returned');
      assert.equal(await settlesWithin(write, 100), false, 'a transaction was answered before its sync');
      // A read outside a transaction sees the commit and so must wait for the same sync.
      const read = store.counters.get('held', WINDOW);
      assert.equal(await settlesWithin(read, 100), false, 'a read answered from a commit not yet on disk');
      held.open();
      assert.equal(await write, 1);
      assert.equal(await read, 1);

      // A write outside a transaction (autocommit) is answered after its own sync.
      held = gate();
      const single = store.counters.increment('single', WINDOW, FAR);
      for (let i = 0; i < 100 && !committed(file).has('single'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(committed(file).get('single'), 1);
      assert.equal(await settlesWithin(single, 100), false, 'an autocommit write was answered before its sync');
      held.open();
      assert.equal(await single, 1);

      // Nothing pending: a read is answered at once, without a sync.
      holding = false;
      assert.equal(await store.counters.get('single', WINDOW), 1);
    } finally {
      held.open();
      await store.close();
    }
  });

  it('a sync that fails fails what waits for it (503), and every later write', async () => {
    let fail = false;
    const { store } = await open('fail', {
      around: async (sync) => {
        if (fail) throw Object.assign(new Error('injected I/O error'), { code: 'EIO' });
        await sync();
      },
    });
    try {
      await store.transaction(async (tx) => tx.counters.increment('before', WINDOW, FAR));
      fail = true;
      await assert.rejects(
        store.transaction(async (tx) => tx.counters.increment('lost', WINDOW, FAR)),
        (e) => e instanceof StoreUnavailableError,
      );
      fail = false;
      await assert.rejects(
        store.transaction(async (tx) => tx.counters.increment('after', WINDOW, FAR)),
        (e) => e instanceof StoreUnavailableError,
      );
      await assert.rejects(store.counters.increment('after', WINDOW, FAR), (e) => e instanceof StoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  it('tells reads from statements that may commit', () => {
    for (const sql of ['select 1', '  SELECT * from t', 'begin immediate', 'savepoint tokend_batch', 'rollback', 'rollback to tokend_batch', 'pragma synchronous']) {
      assert.equal(mayCommit(sql), false, sql);
    }
    for (const sql of ['commit', 'release tokend_batch', 'insert into t values (1)', 'update t set v = 1', 'delete from t', 'with x as (select 1) insert into t select * from x', 'pragma user_version = 3', 'end']) {
      assert.equal(mayCommit(sql), true, sql);
    }
  });
});
