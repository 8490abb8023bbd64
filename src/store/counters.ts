import { sql, type Kysely } from 'kysely';
import type { CounterRepo } from '../core/ports.ts';
import { prepared } from './prepared.ts';
import type { DB } from './schema.ts';

// Every login, issuance and refresh counts and audits: built and compiled once (src/store/prepared.ts).
const INCREMENT_BELOW = prepared(
  (db: Kysely<DB>, { scope, windowStart, limit, expiresAt }: { scope: string; windowStart: number; limit: number; expiresAt: number }) =>
  db
    .insertInto('counters')
    .values({ scope, window_start: windowStart, count: 1, expires_at: expiresAt })
    .onConflict((oc) =>
      oc
        .columns(['scope', 'window_start'])
        .doUpdateSet({ count: sql`counters.count + 1` })
        .where('counters.count', '<', limit),
    )
    .returning('count'),
);
const INCREMENT = prepared((db: Kysely<DB>, { scope, windowStart, expiresAt }: { scope: string; windowStart: number; expiresAt: number }) =>
  db
    .insertInto('counters')
    .values({ scope, window_start: windowStart, count: 1, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['scope', 'window_start']).doUpdateSet({ count: sql`counters.count + 1` }))
    .returning('count'),
);
const GET = prepared((db: Kysely<DB>, { scope, windowStart }: { scope: string; windowStart: number }) =>
  db.selectFrom('counters').select('count').where('scope', '=', scope).where('window_start', '=', windowStart),
);

export function counterRepo(db: Kysely<DB>): CounterRepo {
  /** The counters whose scope starts with `prefix`, from a window on, with the sum of `count` as `total`; the caller groups. */
  const summedSince = (prefix: string, fromWindowStart: number) => {
    // LIKE, not a range on the key: PostgreSQL compares text by the database's collation, which
    // may order punctuation apart from the bytes, so `scope >= 'checks:'` could miss rows.
    const needle = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return db
      .selectFrom('counters')
      // PostgreSQL's sum of integers is a bigint, which the driver hands over as a string.
      .select((eb) => eb.fn.sum<number | string>('count').as('total'))
      .where(sql<boolean>`scope like ${needle} escape '\\'`)
      .where('window_start', '>=', fromWindowStart);
  };
  return {
    async incrementBelow(scope, windowStart, limit, expiresAt) {
      // One statement, atomic in both databases: the row lock (PostgreSQL) or the write lock
      // (SQLite) orders concurrent callers, and the WHERE stops the count at the limit exactly.
      const row = await INCREMENT_BELOW.first(db, { scope, windowStart, limit, expiresAt });
      return row ? row.count : null;
    },
    async increment(scope, windowStart, expiresAt) {
      const row = await INCREMENT.first(db, { scope, windowStart, expiresAt });
      if (!row) throw new Error('counter upsert returned no row');
      return row.count;
    },
    async get(scope, windowStart) {
      const row = await GET.first(db, { scope, windowStart });
      return row?.count ?? 0;
    },
    async add(scope, windowStart, amount, expiresAt) {
      const row = await db
        .insertInto('counters')
        .values({ scope, window_start: windowStart, count: amount, expires_at: expiresAt })
        .onConflict((oc) => oc.columns(['scope', 'window_start']).doUpdateSet({ count: sql`counters.count + ${amount}` }))
        .returning('count')
        .executeTakeFirstOrThrow();
      return row.count;
    },
    async addMany(rows) {
      if (rows.length === 0) return;
      await db
        .insertInto('counters')
        .values(rows.map((r) => ({ scope: r.scope, window_start: r.windowStart, count: r.amount, expires_at: r.expiresAt })))
        .onConflict((oc) => oc.columns(['scope', 'window_start']).doUpdateSet({ count: sql`counters.count + excluded.count` }))
        .execute();
    },
    async series(scope, fromWindowStart) {
      const rows = await db
        .selectFrom('counters')
        .select(['window_start', 'count'])
        .where('scope', '=', scope)
        .where('window_start', '>=', fromWindowStart)
        .orderBy('window_start')
        .execute();
      return rows.map((r) => ({ windowStart: r.window_start, count: r.count }));
    },
    async seriesSum(prefix, fromWindowStart) {
      const rows = await summedSince(prefix, fromWindowStart).select('window_start').groupBy('window_start').orderBy('window_start').execute();
      return rows.map((r) => ({ windowStart: Number(r.window_start), count: Number(r.total) }));
    },
    async sumsByScope(prefix, fromWindowStart) {
      const rows = await summedSince(prefix, fromWindowStart).select('scope').groupBy('scope').execute();
      return rows.map((r) => ({ scope: r.scope, count: Number(r.total) }));
    },
    async purgeExpired(now) {
      const r = await db.deleteFrom('counters').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
