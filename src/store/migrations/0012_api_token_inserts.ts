import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.ts';

/**
 * PostgreSQL: every insert into api_tokens notifies `tokend_api_tokens` with the first 16 hex
 * characters of the token's hash, in the inserting transaction, so that every node's API-token
 * filter hears of it at its commit whoever inserted (src/store/token-feeds.ts). The fingerprint is
 * 64 bits of a SHA-256 the table already holds: nothing a listener could use as a token.
 * SQLite: nothing (its feed reads the table).
 */
export async function up(db: Kysely<any>, d: SqlDialect): Promise<void> {
  if (d.kind !== 'postgres') return;
  await sql`create or replace function tokend_api_token_inserted() returns trigger language plpgsql as $$
begin
  perform pg_notify('tokend_api_tokens', 'a:' || left(new.hash, 16));
  return null;
end
$$`.execute(db);
  await sql`create trigger api_tokens_inserted after insert on api_tokens for each row execute function tokend_api_token_inserted()`.execute(db);
}
