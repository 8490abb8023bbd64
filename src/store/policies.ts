/** Policies (rules per subject) and their credit balances: the queries behind PolicyRepo (src/core/ports.ts). */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { PolicyRecord, PolicyRepo } from '../core/ports.ts';
import type { PolicyRules, SubjectKind } from '../core/policies/rules.ts';
import { prepared } from './prepared.ts';
import type { DB, PoliciesTable } from './schema.ts';

function toRecord(r: Selectable<PoliciesTable>): PolicyRecord {
  return {
    subject: { kind: r.subject_kind as SubjectKind, id: r.subject_id },
    accountId: r.account_id,
    rules: JSON.parse(r.rules) as PolicyRules,
    credits: r.credits_remaining === null ? null : { remaining: r.credits_remaining, period: r.credits_period ?? 0 },
    updatedAt: r.updated_at,
  };
}


// One statement, so concurrent flushes from several nodes serialise on the row and each subtracts
// from what the previous one left. CASE rather than GREATEST/MAX: the same SQL runs on SQLite and
// PostgreSQL. Built once (src/store/prepared.ts): a flush runs it for every metered subject.
const SPEND_CREDITS = prepared(
  (db: Kysely<DB>, a: { kind: string; id: string; period: number; used: number; refill: number }) => {
    const p = sql`cast(${a.period} as bigint)`;
    const u = sql`cast(${a.used} as bigint)`;
    const refill = sql`cast(${a.refill} as bigint)`;
    return db
      .updateTable('policies')
      .set({
        credits_remaining: sql<number>`case
          when ${p} < credits_period then credits_remaining
          when ${p} > credits_period then (case when ${refill} - ${u} < 0 then 0 else ${refill} - ${u} end)
          else (case when credits_remaining - ${u} < 0 then 0 else credits_remaining - ${u} end) end`,
        credits_period: sql<number>`case when ${p} > credits_period then ${p} else credits_period end`,
      })
      .where('subject_kind', '=', a.kind)
      .where('subject_id', '=', a.id)
      .where('credits_remaining', 'is not', null)
      .returning(['credits_remaining', 'credits_period']);
  },
);
export function policyRepo(db: Kysely<DB>): PolicyRepo {
  return {
    async put(p) {
      const values = {
        subject_kind: p.subject.kind,
        subject_id: p.subject.id,
        account_id: p.accountId,
        rules: JSON.stringify(p.rules),
        credits_remaining: p.credits?.remaining ?? null,
        credits_period: p.credits?.period ?? null,
        credits_refill: p.rules.credits?.refill?.amount ?? null,
        updated_at: p.updatedAt,
      };
      await db
        .insertInto('policies')
        .values(values)
        .onConflict((oc) =>
          oc.columns(['subject_kind', 'subject_id']).doUpdateSet({
            account_id: values.account_id,
            rules: values.rules,
            credits_remaining: values.credits_remaining,
            credits_period: values.credits_period,
            credits_refill: values.credits_refill,
            updated_at: values.updated_at,
          }),
        )
        .execute();
    },
    async get(subject) {
      const row = await db
        .selectFrom('policies')
        .selectAll()
        .where('subject_kind', '=', subject.kind)
        .where('subject_id', '=', subject.id)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async delete(subject) {
      const r = await db.deleteFrom('policies').where('subject_kind', '=', subject.kind).where('subject_id', '=', subject.id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async list() {
      const rows = await db.selectFrom('policies').selectAll().orderBy('subject_kind').orderBy('subject_id').execute();
      return rows.map(toRecord);
    },
    async listByAccount(accountId) {
      const rows = await db.selectFrom('policies').selectAll().where('account_id', '=', accountId).orderBy('subject_kind').orderBy('subject_id').execute();
      return rows.map(toRecord);
    },
    async spendCredits(subject, period, used, refillAmount) {
      const row = await SPEND_CREDITS.first(db, { kind: subject.kind, id: subject.id, period, used, refill: refillAmount ?? 0 });
      if (!row || row.credits_remaining === null) return null;
      return { remaining: Number(row.credits_remaining), period: Number(row.credits_period ?? 0) };
    },
  };
}
