/**
 * The background checkpointer on a real SQLite file: committed pages reach the database file
 * without the writer checkpointing (its own mark is far above what is written here), the data
 * stays whole, and closing the store stops the thread and releases its connection.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { BACKSTOP_WAL_PAGES } from './checkpointer.ts';
import { createStore } from './database.ts';
import { openSqlite } from './dialect.ts';

async function until(what: string, test: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) assert.fail(`timed out waiting: ${what}`);
    await sleep(20);
  }
}

/** `rows` committed rows of 1 KiB, in transactions of 100. */
async function write(db: ReturnType<typeof openSqlite>['db'], rows: number): Promise<void> {
  for (let i = 0; i < rows; i += 100) {
    await db.transaction().execute(async (trx) => {
      for (let k = i; k < i + 100; k++) await sql`insert into t (k, v) values (${k}, ${'x'.repeat(1024)})`.execute(trx);
    });
  }
}

describe('background WAL checkpoints (SQLite)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tokend-ckpt-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('copies committed pages into the database file while the writer never checkpoints', async () => {
    const file = join(dir, 'on.db');
    const d = openSqlite(file);
    try {
      await sql`create table t (k integer primary key, v text not null)`.execute(d.db);
      const empty = statSync(file).size;
      await write(d.db, 2000); // ~600 pages of 4 KiB: far below the writer's own mark
      assert.ok(2000 * 1024 < (BACKSTOP_WAL_PAGES * 4096) / 4, "the writes stay well below the writer's own checkpoint mark");
      await until('the file to hold the rows', () => statSync(file).size > empty + 1.5 * 2 ** 20);
      const [row] = (await sql<{ n: number; total: number }>`select count(*) as n, sum(length(v)) as total from t`.execute(d.db)).rows;
      assert.deepEqual(row, { n: 2000, total: 2000 * 1024 });
      const [check] = (await sql<{ integrity_check: string }>`pragma integrity_check`.execute(d.db)).rows;
      assert.equal(check?.integrity_check, 'ok');
    } finally {
      await d.db.destroy();
    }
    // destroy() resolved after both connections closed; the writer's, the last, removed the WAL.
    assert.equal(existsSync(`${file}-wal`), false);
  });

  it('without it (for comparison), the same writes stay in the WAL', async () => {
    const file = join(dir, 'off.db');
    const d = openSqlite(file, { backgroundCheckpoints: false });
    try {
      await sql`create table t (k integer primary key, v text not null)`.execute(d.db);
      await sql`pragma wal_autocheckpoint = ${sql.raw(String(BACKSTOP_WAL_PAGES))}`.execute(d.db);
      const empty = statSync(file).size;
      await write(d.db, 2000);
      await sleep(500);
      assert.equal(statSync(file).size, empty);
      assert.ok(statSync(`${file}-wal`).size > 1.5 * 2 ** 20);
    } finally {
      await d.db.destroy();
    }
  });

  it("the store's close() returns once the thread has stopped: the data directory can be removed at once, ten times in a row", async () => {
    for (let round = 0; round < 10; round++) {
      const data = mkdtempSync(join(tmpdir(), 'tokend-ckpt-close-'));
      const file = join(data, 'tokend.db');
      const store = createStore(openSqlite(file));
      await store.migrate();
      await sql`create table t (k integer primary key, v text not null)`.execute(store.dialect.db);
      await write(store.dialect.db, 300);
      await store.close();
      assert.deepEqual(readdirSync(data), ['tokend.db'], `round ${round}: only the database file is left`);
      // Not force, no retries: a thread still holding its connection would leave -wal/-shm behind
      // and make this fail with ENOTEMPTY.
      rmSync(data, { recursive: true });
    }
  });
});
