import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.ts';

/**
 * The operator API (docs/admin-api.md): operator keys, remembered answers for `Idempotency-Key`,
 * and one-time password-reset links. Secrets are stored as SHA-256 hashes only; a remembered
 * answer that carries a secret shown once is stored sealed under the master key.
 */
export async function up(db: Kysely<any>, _d: SqlDialect): Promise<void> {
  await db.schema
    .createTable('operator_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    // Space-separated permissions (`accounts:read tokens:write`).
    .addColumn('permissions', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();
  // Every admin call with a key looks it up by hash (through the verification cache).
  await db.schema.createIndex('operator_keys_hash').on('operator_keys').column('hash').unique().execute();

  await db.schema
    .createTable('idempotency_keys')
    // 'admin' for the admin token and the operator console, else the operator key's id.
    .addColumn('credential', 'text', (c) => c.notNull())
    // SHA-256 of the client's Idempotency-Key (whatever a client picks is never stored as is).
    .addColumn('key', 'text', (c) => c.notNull())
    // SHA-256 of the method, route and body: the same key with another request is a conflict.
    .addColumn('request_hash', 'text', (c) => c.notNull())
    // 'in_progress' until the first answer is stored, then 'done'.
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('status', 'integer')
    // The answer's body, sealed (AES-256-GCM under the master key): it may carry a secret shown once.
    .addColumn('response', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['credential', 'key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_created').on('idempotency_keys').column('created_at').execute();

  await db.schema
    .createTable('password_resets')
    // SHA-256 of the one-time token in the link.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('password_resets_account').on('password_resets').column('account_id').execute();
}
