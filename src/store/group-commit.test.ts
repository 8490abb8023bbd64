/**
 * GroupCommit on a real SQLite file: batching happens, and a batch keeps each transaction's own
 * atomicity, isolation and outcome; a COMMIT that fails fails every transaction of its batch.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Repos } from '../core/ports.ts';
import { openSqlite, type SqlDialect } from './dialect.ts';
import { GroupCommit } from './group-commit.ts';
import type { DB } from './schema.ts';

/** The tests talk SQL directly: the "repos" handed to each transaction is the Kysely transaction. */
type Raw = Kysely<DB> & Repos;
const raw = (trx: Transaction<DB>): Repos => trx as unknown as Repos;

describe('GroupCommit (SQLite)', () => {
  let dir: string;
  let d: SqlDialect;
  let gc: GroupCommit;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tokend-gc-'));
    d = openSqlite(join(dir, 'gc.db'));
    await sql`create table t (k text primary key, v integer not null)`.execute(d.db);
    await sql`create table parent (id integer primary key)`.execute(d.db);
    await sql`create table child (id integer primary key, parent_id integer not null references parent(id))`.execute(d.db);
    gc = new GroupCommit(d.db, raw);
  });
  after(async () => {
    await d.db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function value(k: string): Promise<number | null> {
    const r = await sql<{ v: number }>`select v from t where k = ${k}`.execute(d.db);
    return r.rows[0]?.v ?? null;
  }

  it('runs concurrent transactions under fewer COMMITs, each caller getting its own result', async () => {
    const before = gc.stats;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        gc.run(async (tx) => {
          await sql`insert into t (k, v) values (${`a${i}`}, ${i})`.execute(tx as Raw);
          return i * 2;
        }),
      ),
    );
    assert.deepEqual(results, Array.from({ length: 50 }, (_, i) => i * 2));
    const stats = gc.stats;
    assert.equal(stats.transactions - before.transactions, 50);
    assert.ok(stats.batches - before.batches < 50, `expected batching, got ${stats.batches - before.batches} COMMITs for 50 transactions`);
    for (let i = 0; i < 50; i++) assert.equal(await value(`a${i}`), i);
  });

  it('a transaction that throws is rolled back alone; the others of its batch commit', async () => {
    const outcomes = await Promise.allSettled([
      gc.run(async (tx) => {
        await sql`insert into t (k, v) values ('b1', 1)`.execute(tx as Raw);
      }),
      gc.run(async (tx) => {
        await sql`insert into t (k, v) values ('b2', 2)`.execute(tx as Raw);
        throw new Error('rolled back');
      }),
      gc.run(async (tx) => {
        // Runs after b2's rollback: it must not see b2's write.
        const seen = await sql<{ n: number }>`select count(*) as n from t where k = 'b2'`.execute(tx as Raw);
        await sql`insert into t (k, v) values ('b3', ${seen.rows[0]!.n})`.execute(tx as Raw);
      }),
    ]);
    assert.equal(outcomes[0]!.status, 'fulfilled');
    assert.equal(outcomes[1]!.status, 'rejected');
    assert.equal((outcomes[1] as PromiseRejectedResult).reason.message, 'rolled back');
    assert.equal(outcomes[2]!.status, 'fulfilled');
    assert.equal(await value('b1'), 1);
    assert.equal(await value('b2'), null);
    assert.equal(await value('b3'), 0);
  });

  it('transactions of one batch run one after another, each seeing the ones before it', async () => {
    await sql`insert into t (k, v) values ('counter', 0)`.execute(d.db);
    const seen = await Promise.all(
      Array.from({ length: 20 }, () =>
        gc.run(async (tx) => {
          const r = await sql<{ v: number }>`select v from t where k = 'counter'`.execute(tx as Raw);
          const v = r.rows[0]!.v;
          // An await between the read and the write: another transaction must not slip in here.
          await new Promise((resolve) => setImmediate(resolve));
          await sql`update t set v = ${v + 1} where k = 'counter'`.execute(tx as Raw);
          return v;
        }),
      ),
    );
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(await value('counter'), 20);
  });

  it('a COMMIT that fails fails every transaction of its batch, and none of their writes lands', async () => {
    await sql`insert into parent (id) values (1)`.execute(d.db);
    const outcomes = await Promise.allSettled([
      gc.run(async (tx) => {
        await sql`insert into t (k, v) values ('c1', 1)`.execute(tx as Raw);
      }),
      gc.run(async (tx) => {
        // A deferred foreign-key violation passes every statement and fails the COMMIT itself.
        await sql`pragma defer_foreign_keys = on`.execute(tx as Raw);
        await sql`insert into child (id, parent_id) values (1, 999)`.execute(tx as Raw);
      }),
      gc.run(async (tx) => {
        await sql`insert into child (id, parent_id) values (2, 1)`.execute(tx as Raw);
      }),
    ]);
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(rejected.length, 3, 'all three shared the failed COMMIT');
    assert.equal(await value('c1'), null);
    const children = await sql<{ n: number }>`select count(*) as n from child`.execute(d.db);
    assert.equal(children.rows[0]!.n, 0);
    // And the queue goes on: the next transaction commits.
    await gc.run(async (tx) => {
      await sql`insert into t (k, v) values ('c4', 4)`.execute(tx as Raw);
    });
    assert.equal(await value('c4'), 4);
  });

  it('a lone transaction is a batch of one', async () => {
    const before = gc.stats;
    assert.equal(await gc.run(async () => 'alone'), 'alone');
    assert.deepEqual(gc.stats, { batches: before.batches + 1, transactions: before.transactions + 1 });
  });
});
