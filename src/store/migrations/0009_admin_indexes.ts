import type { Kysely } from 'kysely';

/**
 * Indexes for the operator's audit queries (GET /api/admin/audit and its export): both read the log
 * ordered by (at, id), filtered by time and optionally by type or account. `audit_at_id` serves the
 * time range alone, `audit_type_at_id` a type with or without a range; an account's entries already
 * have `audit_account_at` (account_id, at).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('audit_at_id').on('audit_events').columns(['at', 'id']).execute();
  await db.schema.createIndex('audit_type_at_id').on('audit_events').columns(['type', 'at', 'id']).execute();
}
