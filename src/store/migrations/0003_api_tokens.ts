import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.ts';

/**
 * Organisation API tokens, resource-server credentials and the instance's generated
 * admin token. Every table holds SHA-256 hashes of secrets, never a secret.
 */
export async function up(db: Kysely<any>, _d: SqlDialect): Promise<void> {
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
    // 'v3' | 'l3' | 'native': checked against the shape of the presented token on every use.
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('label', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoke_reason', 'text')
    .addColumn('replaced_by', 'text')
    .execute();
  // The hot path: one lookup by hash. Unique also makes the demo seed idempotent.
  await db.schema.createIndex('api_tokens_hash').on('api_tokens').column('hash').unique().execute();
  await db.schema.createIndex('api_tokens_account').on('api_tokens').columns(['account_id', 'created_at']).execute();

  await db.schema
    .createTable('resource_servers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('resource_servers_hash').on('resource_servers').column('hash').unique().execute();

  await db.schema
    .createTable('instance_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
