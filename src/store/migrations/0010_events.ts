import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.ts';

/**
 * Events going out: the hash chain of the audit log, and webhooks (docs/webhooks.md).
 *
 * Audit chain: `seq` numbers the chained entries 1, 2, 3, … without gaps; `hash` is SHA-256 over
 * the entry's canonical encoding and `prev_hash` (src/core/audit-chain.ts). Entries written
 * before this migration keep `seq` NULL: they are outside the chain, which starts at the first
 * entry written after it (its `prev_hash` is 64 zeros, the genesis). `tokend audit verify`
 * counts them apart.
 *
 * Webhooks: endpoints (the operator's have no account), one message per event (its id, `msg_…`,
 * is the `webhook-id` every delivery of it carries), one delivery per (message, endpoint), written
 * in the transaction of the change, and one row per attempt for the console.
 */
export async function up(db: Kysely<any>, d: SqlDialect): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('seq', 'bigint').execute();
  await db.schema.alterTable('audit_events').addColumn('prev_hash', 'text').execute();
  await db.schema.alterTable('audit_events').addColumn('hash', 'text').execute();
  // The chain's order and its head (the largest seq) in one index; unique: one entry per link.
  await db.schema.createIndex('audit_events_seq').on('audit_events').column('seq').unique().execute();

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // NULL: the operator's endpoint, which receives every account's events.
    .addColumn('account_id', 'integer', (c) => c.references('accounts.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    // JSON array of event types; an empty array subscribes to every type.
    .addColumn('event_types', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    // The signing secret sealed under the master key (AES-256-GCM, bound to the endpoint id).
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('secret_hint', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_endpoints_account').on('webhook_endpoints').column('account_id').execute();

  await db.schema
    .createTable('webhook_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('account_id', 'integer')
    // The exact body every delivery sends (the signature covers these bytes).
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'integer', (c) => d.idColumn(c))
    .addColumn('message_id', 'text', (c) => c.notNull().references('webhook_messages.id').onDelete('cascade'))
    .addColumn('endpoint_id', 'text', (c) => c.notNull().references('webhook_endpoints.id').onDelete('cascade'))
    // 'pending' | 'delivered' | 'failed'
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    // A dispatcher's lease: while it lasts, no other dispatcher claims the delivery.
    .addColumn('claimed_until', 'bigint')
    .addColumn('claim', 'text')
    .addColumn('last_status', 'integer')
    .addColumn('last_latency_ms', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('webhook_deliveries_message_endpoint', ['message_id', 'endpoint_id'])
    .execute();
  // The dispatcher's claim: pending deliveries by due time.
  await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('webhook_deliveries_endpoint').on('webhook_deliveries').columns(['endpoint_id', 'id']).execute();

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('id', 'integer', (c) => d.idColumn(c))
    .addColumn('delivery_id', 'integer', (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
    .addColumn('endpoint_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('webhook_attempts_endpoint').on('webhook_attempts').columns(['endpoint_id', 'id']).execute();
  await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').column('delivery_id').execute();
}
