import type { Kysely } from 'kysely';

/**
 * Drops the `session_id` indexes of the two token tables. No query reads tokens by session (a
 * session is revoked in its own row, and tokens are found by hash), so they only cost: every
 * issuance and rotation wrote two more entries at a random place of two more b-trees, which in
 * SQLite is a page written to the WAL and later to the file (bench/RESULTS.md, durable writes).
 * Sessions are never deleted, so the foreign keys need no child index either.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('access_tokens_session').ifExists().execute();
  await db.schema.dropIndex('refresh_tokens_session').ifExists().execute();
}
