import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.ts';

/**
 * Console sign-ins (the personal cabinet and the operator console). The cookie carries a random
 * token; only its SHA-256 is stored here, as the primary key, so a leaked table signs nobody in.
 */
export async function up(db: Kysely<any>, _d: SqlDialect): Promise<void> {
  await db.schema
    .createTable('console_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // 'account' (a cabinet sign-in, account_id set) or 'operator' (the admin token, account_id null).
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('account_id', 'integer', (c) => c.references('accounts.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('address', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('console_sessions_account').on('console_sessions').columns(['account_id', 'revoked_at']).execute();
  await db.schema.createIndex('console_sessions_expires').on('console_sessions').column('expires_at').execute();
}
