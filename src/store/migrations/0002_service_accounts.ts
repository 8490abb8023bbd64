import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.ts';

/**
 * Service accounts and their keys and the JWT signing keys. Secrets are
 * never stored: a key's Secret Key only as its SHA-256, a signing key's private part only sealed
 * with AES-256-GCM under a key derived from TOKEND_MASTER_KEY.
 */
export async function up(db: Kysely<any>, d: SqlDialect): Promise<void> {
  await db.schema
    .createTable('service_accounts')
    .addColumn('id', 'integer', (c) => d.idColumn(c))
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('actions', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('service_accounts_account').on('service_accounts').column('account_id').execute();

  await db.schema
    .createTable('service_keys')
    .addColumn('id', 'integer', (c) => d.idColumn(c))
    .addColumn('service_account_id', 'integer', (c) => c.notNull().references('service_accounts.id'))
    .addColumn('access_key', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('secret_hint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();
  // Token creation looks a key up by its Access Key: one unique index.
  await db.schema.createIndex('service_keys_access_key').on('service_keys').column('access_key').unique().execute();
  await db.schema.createIndex('service_keys_secret_hash').on('service_keys').column('secret_hash').unique().execute();
  await db.schema.createIndex('service_keys_service_account').on('service_keys').column('service_account_id').execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_jwk_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('activates_at', 'bigint', (c) => c.notNull())
    .addColumn('max_token_ttl', 'bigint', (c) => c.notNull())
    .execute();
}
