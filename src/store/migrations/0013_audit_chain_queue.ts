import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.ts';

/**
 * Entries waiting for their link in the audit chain (src/store/audit.ts, AuditChainer). Where the
 * chain is linked after commit (PostgreSQL), an entry is written with `chain_pending` = 1 and no
 * `seq`; the chainer gives it its `seq`, `prev_hash` and `hash` a moment later and clears the
 * mark. A partial index: only the few entries waiting are in it, so finding them costs nothing
 * however long the log is. Entries from before the chain (no `seq`, no mark) stay outside it.
 */
export async function up(db: Kysely<any>, _d: SqlDialect): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('chain_pending', 'integer').execute();
  await db.schema
    .createIndex('audit_events_chain_pending')
    .on('audit_events')
    .column('id')
    .where(sql.ref('chain_pending'), 'is not', null)
    .execute();
}
