/**
 * The operator dashboard's figures (migration 0011): added to in batches by every node's flush
 * (src/core/traffic.ts), read per range by the admin API, dropped past their retention.
 */
import { sql, type Kysely } from 'kysely';
import type { TrafficRepo } from '../core/ports.ts';
import type { DB } from './schema.ts';

/** A bucket or group size is put in the SQL as a literal (a grouping expression must not be a parameter twice): only whole numbers. */
function literal(n: number): ReturnType<typeof sql.raw> {
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`not a bucket size: ${n}`);
  return sql.raw(String(n));
}

export function trafficRepo(db: Kysely<DB>): TrafficRepo {
  return {
    async addMany(rows) {
      if (rows.length === 0) return;
      await db
        .insertInto('traffic_stats')
        .values(
          rows.map((r) => ({ bucket_ms: r.bucketMs, bucket_start: r.bucketStart, series: r.series, subject: r.subject, count: r.amount, expires_at: r.expiresAt })),
        )
        .onConflict((oc) =>
          oc.columns(['bucket_ms', 'bucket_start', 'series', 'subject']).doUpdateSet({ count: sql`traffic_stats.count + excluded.count` }),
        )
        .execute();
    },
    async series(bucketMs, groupMs, from) {
      const group = literal(groupMs);
      const rows = await db
        .selectFrom('traffic_stats')
        .select((eb) => [sql<number>`bucket_start - bucket_start % ${group}`.as('start'), 'series', eb.fn.sum<number | string>('count').as('total')])
        .where('bucket_ms', '=', bucketMs)
        .where('subject', '=', '')
        .where('bucket_start', '>=', from)
        // By position: the same expression twice would be two parameters to PostgreSQL.
        .groupBy(sql.raw('1, 2') as never)
        .orderBy(sql.raw('1') as never)
        .execute();
      // PostgreSQL's sum of bigints is a numeric, which the driver hands over as a string.
      return rows.map((r) => ({ start: Number(r.start), series: r.series, count: Number(r.total) }));
    },
    async top(bucketMs, series, from, limit) {
      const rows = await db
        .selectFrom('traffic_stats')
        .select((eb) => ['subject', eb.fn.sum<number | string>('count').as('total')])
        .where('bucket_ms', '=', bucketMs)
        .where('series', '=', series)
        .where('bucket_start', '>=', from)
        .groupBy('subject')
        .orderBy(sql`sum(count)`, 'desc')
        .orderBy('subject')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ subject: r.subject, count: Number(r.total) }));
    },
    async purgeExpired(now) {
      const r = await db.deleteFrom('traffic_stats').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
