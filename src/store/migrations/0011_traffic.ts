import type { Kysely } from 'kysely';

/**
 * The operator dashboard's figures (src/core/traffic.ts): token checks by kind and outcome,
 * issuances, refreshes and refusals, and the busiest accounts and tokens, counted in memory on
 * every node and added here in batches (one upsert per flush, adding to what other nodes wrote).
 *
 * One row per (bucket size, bucket start, series, subject): `bucket_ms` is 60000 (minutes, kept
 * about a day, for the short ranges) or 3600000 (hours, kept 31 days); `subject` is '' for the
 * instance's series and an account or token for the top lists. `expires_at` lets one indexed
 * delete drop what is past its retention.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('traffic_stats')
    .addColumn('bucket_ms', 'integer', (c) => c.notNull())
    .addColumn('bucket_start', 'bigint', (c) => c.notNull())
    .addColumn('series', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('traffic_stats_pk', ['bucket_ms', 'bucket_start', 'series', 'subject'])
    .execute();
  await db.schema.createIndex('traffic_stats_expires').on('traffic_stats').column('expires_at').execute();
}
