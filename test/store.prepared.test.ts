/**
 * Prepared queries (src/store/prepared.ts): built and compiled once per dialect, then run with new
 * values, they answer exactly what the same query built each time answers, on SQLite and
 * PostgreSQL, inside transactions too; a builder that does not use an argument as a value is refused.
 * On SQLite, run directly on the connection a transaction holds (the group commit's batches), they
 * answer exactly what Kysely's driver answers.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { createStore, type Database } from '../src/store/database.ts';
import { openDialect } from '../src/store/dialect.ts';
import { prepared, runPreparedDirectly } from '../src/store/prepared.ts';
import type { DB } from '../src/store/schema.ts';
import { createTestDatabase, databases, type TestDatabase, TEST_DIALECT_OPTIONS } from './helpers/harness.ts';

const W = Date.UTC(2026, 0, 15);

const addTo = prepared((db: Kysely<DB>, { scope, amount }: { scope: string; amount: number }) =>
  db
    .insertInto('counters')
    .values({ scope, window_start: W, count: amount, expires_at: W + 1 })
    .onConflict((oc) => oc.columns(['scope', 'window_start']).doUpdateSet({ count: sql`counters.count + ${amount}` }))
    .returning('count'),
);
const countOf = prepared((db: Kysely<DB>, { scope }: { scope: string }) =>
  db.selectFrom('counters').select(['scope', 'count']).where('scope', '=', scope).where('window_start', '=', W),
);
const expireAll = prepared((db: Kysely<DB>, { prefix, at }: { prefix: string; at: number }) =>
  db.updateTable('counters').set({ expires_at: at }).where('scope', 'like', prefix).where('expires_at', 'is not', null),
);

for (const kind of databases()) {
  describe(`prepared queries (${kind})`, () => {
    let tdb: TestDatabase;
    let store: Database;
    let db: Kysely<DB>;

    before(async () => {
      tdb = await createTestDatabase(kind);
      store = createStore(openDialect(tdb.url, tdb.dataDir, TEST_DIALECT_OPTIONS));
      await store.migrate();
      db = store.dialect.db;
    });
    after(async () => {
      await store.close();
      await tdb.drop();
    });

    it('runs with each call\'s values by name, in any order, an argument used twice included', async () => {
      assert.equal((await addTo.first(db, { scope: 'p:a', amount: 5 }))?.count, 5);
      assert.equal((await addTo.first(db, { amount: 2, scope: 'p:a' }))?.count, 7);
      assert.equal((await addTo.first(db, { scope: 'p:b', amount: 1 }))?.count, 1);
      assert.deepEqual(await countOf.first(db, { scope: 'p:a' }), { scope: 'p:a', count: 7 });
      assert.deepEqual(await countOf.first(db, { scope: 'p:b' }), { scope: 'p:b', count: 1 });
      assert.equal(await countOf.first(db, { scope: 'p:none' }), undefined);
      // What the same query built each time answers.
      const built = await db.selectFrom('counters').select(['scope', 'count']).where('scope', '=', 'p:a').where('window_start', '=', W).executeTakeFirst();
      assert.deepEqual(await countOf.first(db, { scope: 'p:a' }), built);
    });

    it('reports rows affected, and constants of the query stay in place', async () => {
      assert.equal(await expireAll.affected(db, { prefix: 'p:%', at: W + 99 }), 2);
      assert.equal(await expireAll.affected(db, { prefix: 'nothing:%', at: W + 99 }), 0);
      assert.equal(await store.counters.purgeExpired(W + 50), 0);
    });

    it('runs inside a transaction, on its connection', async () => {
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await addTo.first(trx, { scope: 'p:tx', amount: 3 });
          assert.equal((await countOf.first(trx, { scope: 'p:tx' }))?.count, 3);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.equal(await countOf.first(db, { scope: 'p:tx' }), undefined);
    });

    // SQLite only: PostgreSQL has no direct runner (its statements are round trips to the server).
    if (kind === 'sqlite') it('run directly on the connection a transaction holds, they answer what Kysely answers', async () => {
      const run = store.dialect.direct;
      assert.ok(run, 'SQLite has a direct runner');
      const ways = ['kysely', 'direct'] as const;
      const answers: Record<(typeof ways)[number], unknown[]> = { kysely: [], direct: [] };
      for (const way of ways) {
        await assert.rejects(
          db.transaction().execute(async (trx) => {
            if (way === 'direct') runPreparedDirectly(trx, run);
            const scope = `p:way`;
            answers[way].push(await addTo.run(trx, { scope, amount: 3 }));
            answers[way].push(await addTo.run(trx, { scope, amount: 4 }));
            answers[way].push(await countOf.run(trx, { scope }));
            answers[way].push(await countOf.run(trx, { scope: 'p:none' }));
            answers[way].push(await expireAll.run(trx, { prefix: 'p:way', at: W + 7 }));
            // An error is a rejection, named as the driver names it.
            await assert.rejects(
              prepared((d: Kysely<DB>, { scope: s }: { scope: string }) => d.insertInto('counters').values({ scope: s, window_start: W, count: 1, expires_at: null, nope: 1 } as never)).run(trx, { scope }),
              /nope/,
            );
            throw new Error('roll back');
          }),
          /roll back/,
        );
      }
      assert.deepEqual(answers.direct, answers.kysely);
      assert.equal((answers.direct[4] as { numAffectedRows: bigint }).numAffectedRows, 1n);
      assert.equal(await countOf.first(db, { scope: 'p:way' }), undefined);
    });

    it('refuses a builder that does not put an argument in the query as a value', async () => {
      const looksAtIt = prepared((d: Kysely<DB>, { scope }: { scope: string | null }) =>
        scope === null ? d.selectFrom('counters').select('count') : d.selectFrom('counters').select('count').where('scope', '=', 'fixed'),
      );
      await assert.rejects(looksAtIt.first(db, { scope: 'x' }), /must appear as a value/);
    });
  });
}
