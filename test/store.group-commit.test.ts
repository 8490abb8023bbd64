/**
 * Many write transactions at once through the Store (SQLite batches them under one COMMIT,
 * src/store/group-commit.ts; PostgreSQL runs them on its pool): every caller gets its own
 * outcome, a failing one takes only its own writes with it, and what another connection reads
 * afterwards is exactly what committed.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createStore, type Database } from '../src/store/database.ts';
import { openDialect } from '../src/store/dialect.ts';
import { createTestDatabase, databases, type TestDatabase, TEST_DIALECT_OPTIONS } from './helpers/harness.ts';

const DAY = 86_400_000;
const W = Date.UTC(2026, 0, 15);

for (const kind of databases()) {
  describe(`concurrent write transactions (${kind})`, () => {
    let tdb: TestDatabase;
    let store: Database;
    let other: Database;

    before(async () => {
      tdb = await createTestDatabase(kind);
      store = createStore(openDialect(tdb.url, tdb.dataDir, TEST_DIALECT_OPTIONS));
      await store.migrate();
      other = createStore(openDialect(tdb.url, tdb.dataDir, TEST_DIALECT_OPTIONS));
    });
    after(async () => {
      await store.close();
      await other.close();
      await tdb.drop();
    });

    it('each of 60 concurrent transactions gets its own result; the failing ones leave nothing behind', async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) =>
          store.transaction(async (tx) => {
            const a = await tx.counters.increment(`gc:${i}:a`, W, W + DAY);
            const b = await tx.counters.add(`gc:${i}:b`, W, i, W + DAY);
            if (i % 7 === 3) throw new Error(`refused ${i}`);
            return a + b;
          }),
        ),
      );
      for (let i = 0; i < 60; i++) {
        const o = outcomes[i]!;
        if (i % 7 === 3) {
          assert.equal(o.status, 'rejected');
          assert.equal((o as PromiseRejectedResult).reason.message, `refused ${i}`);
          assert.equal(await store.counters.get(`gc:${i}:a`, W), 0);
          assert.equal(await store.counters.get(`gc:${i}:b`, W), 0);
        } else {
          assert.equal(o.status, 'fulfilled');
          assert.equal((o as PromiseFulfilledResult<number>).value, 1 + i);
          assert.equal(await other.counters.get(`gc:${i}:a`, W), 1);
          assert.equal(await other.counters.get(`gc:${i}:b`, W), i);
        }
      }
    });

    it('a limit checked inside concurrent transactions still stops exactly at the limit', async () => {
      const results = await Promise.all(
        Array.from({ length: 40 }, () => store.transaction((tx) => tx.counters.incrementBelow('gc:limit', W, 25, W + DAY))),
      );
      assert.equal(results.filter((r) => r !== null).length, 25);
      assert.equal(await store.counters.get('gc:limit', W), 25);
    });
  });
}
