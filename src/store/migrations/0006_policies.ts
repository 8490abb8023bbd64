import type { Kysely } from 'kysely';

/**
 * Policies: the rules an API token, a service-account key, an app or an account carries
 * (docs/policies.md). One row per subject that has rules; subjects without rules have no row, so
 * the whole table is small enough for every node to hold in memory (checks never read it).
 * `rules` is the validated JSON of core's PolicyRules; the credit balance is kept in its own
 * columns because it moves (batched decrements, refills) while the rules do not.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('policies')
    // 'api_token' | 'service_key' | 'app' | 'account'
    .addColumn('subject_kind', 'text', (c) => c.notNull())
    // The API token's id, the key's Access Key, the appId, the account id.
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
    .addColumn('rules', 'text', (c) => c.notNull())
    .addColumn('credits_remaining', 'bigint')
    // Start of the refill period the balance belongs to (0 without refill).
    .addColumn('credits_period', 'bigint')
    .addColumn('credits_refill', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('policies_pk', ['subject_kind', 'subject_id'])
    .execute();
  await db.schema.createIndex('policies_account').on('policies').column('account_id').execute();
}
