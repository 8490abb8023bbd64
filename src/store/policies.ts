/** Policies (rules per subject) and their credit balances: the queries behind PolicyRepo (src/core/ports.ts). */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { CreditSpend, PolicyRecord, PolicyRepo } from '../core/ports.ts';
import type { StoredCredits } from '../core/policies/credits.ts';
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
/** Subjects one statement of a batched flush covers (5 parameters each). */
const SPEND_CHUNK = 500;

/**
 * SPEND_CREDITS for many subjects in one statement: an UPDATE … FROM a VALUES list (SQLite 3.33+
 * and PostgreSQL alike; the list's columns are column1…column5 on both). A row of the table is
 * updated once per statement whatever the list holds, so a subject appears at most once in it
 * (two periods of one subject go in two statements).
 */
async function spendChunk(db: Kysely<DB>, spends: readonly CreditSpend[]): Promise<Map<string, StoredCredits>> {
  const rows = sql.join(
    spends.map(
      (s) =>
        sql`(cast(${s.subject.kind} as text), cast(${s.subject.id} as text), cast(${s.period} as bigint), cast(${s.used} as bigint), cast(${s.refillAmount ?? 0} as bigint))`,
    ),
  );
  const result = await sql<{ subject_kind: string; subject_id: string; credits_remaining: number | string | null; credits_period: number | string | null }>`
    update policies set
      credits_remaining = case
        when v.column3 < credits_period then credits_remaining
        when v.column3 > credits_period then (case when v.column5 - v.column4 < 0 then 0 else v.column5 - v.column4 end)
        else (case when credits_remaining - v.column4 < 0 then 0 else credits_remaining - v.column4 end) end,
      credits_period = case when v.column3 > credits_period then v.column3 else credits_period end
    from (values ${rows}) as v
    where policies.subject_kind = v.column1 and policies.subject_id = v.column2 and policies.credits_remaining is not null
    returning policies.subject_kind, policies.subject_id, policies.credits_remaining, policies.credits_period`.execute(db);
  const out = new Map<string, StoredCredits>();
  for (const r of result.rows) {
    if (r.credits_remaining === null) continue;
    out.set(`${r.subject_kind}:${r.subject_id}`, { remaining: Number(r.credits_remaining), period: Number(r.credits_period ?? 0) });
  }
  return out;
}

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
    async spendCreditsMany(spends) {
      const out: (StoredCredits | null)[] = new Array<StoredCredits | null>(spends.length).fill(null);
      // Rounds in which each subject appears once, then chunks of each round.
      let left = spends.map((s, i) => ({ s, i }));
      while (left.length > 0) {
        const seen = new Set<string>();
        const round: typeof left = [];
        const later: typeof left = [];
        for (const item of left) {
          const key = `${item.s.subject.kind}:${item.s.subject.id}`;
          if (seen.has(key)) later.push(item);
          else {
            seen.add(key);
            round.push(item);
          }
        }
        for (let i = 0; i < round.length; i += SPEND_CHUNK) {
          const chunk = round.slice(i, i + SPEND_CHUNK);
          const after = await spendChunk(db, chunk.map((c) => c.s));
          for (const c of chunk) out[c.i] = after.get(`${c.s.subject.kind}:${c.s.subject.id}`) ?? null;
        }
        left = later;
      }
      return out;
    },
  };
}
