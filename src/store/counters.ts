import { sql, type Kysely, type Selectable } from 'kysely';
import type { AuditEvent, AuditType } from '../core/model.ts';
import type { AuditRepo, CounterRepo } from '../core/ports.ts';
import { prepared } from './prepared.ts';
import type { AuditEventsTable, DB } from './schema.ts';

// Every login, issuance and refresh counts and audits: built and compiled once (src/store/prepared.ts).
const INCREMENT_BELOW = prepared(
  (db: Kysely<DB>, { scope, windowStart, limit, expiresAt }: { scope: string; windowStart: number; limit: number; expiresAt: number }) =>
  db
    .insertInto('counters')
    .values({ scope, window_start: windowStart, count: 1, expires_at: expiresAt })
    .onConflict((oc) =>
      oc
        .columns(['scope', 'window_start'])
        .doUpdateSet({ count: sql`counters.count + 1` })
        .where('counters.count', '<', limit),
    )
    .returning('count'),
);
const INCREMENT = prepared((db: Kysely<DB>, { scope, windowStart, expiresAt }: { scope: string; windowStart: number; expiresAt: number }) =>
  db
    .insertInto('counters')
    .values({ scope, window_start: windowStart, count: 1, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['scope', 'window_start']).doUpdateSet({ count: sql`counters.count + 1` }))
    .returning('count'),
);
const GET = prepared((db: Kysely<DB>, { scope, windowStart }: { scope: string; windowStart: number }) =>
  db.selectFrom('counters').select('count').where('scope', '=', scope).where('window_start', '=', windowStart),
);
const APPEND_AUDIT = prepared(
  (
    db: Kysely<DB>,
    { at, type, accountId, sessionId, address, detail }: { at: number; type: string; accountId: number | null; sessionId: string | null; address: string | null; detail: string },
  ) =>
    db.insertInto('audit_events').values({ at, type, account_id: accountId, session_id: sessionId, address, detail }),
);

export function counterRepo(db: Kysely<DB>): CounterRepo {
  return {
    async incrementBelow(scope, windowStart, limit, expiresAt) {
      // One statement, atomic in both databases: the row lock (PostgreSQL) or the write lock
      // (SQLite) orders concurrent callers, and the WHERE stops the count at the limit exactly.
      const row = await INCREMENT_BELOW.first(db, { scope, windowStart, limit, expiresAt });
      return row ? row.count : null;
    },
    async increment(scope, windowStart, expiresAt) {
      const row = await INCREMENT.first(db, { scope, windowStart, expiresAt });
      if (!row) throw new Error('counter upsert returned no row');
      return row.count;
    },
    async get(scope, windowStart) {
      const row = await GET.first(db, { scope, windowStart });
      return row?.count ?? 0;
    },
    async add(scope, windowStart, amount, expiresAt) {
      const row = await db
        .insertInto('counters')
        .values({ scope, window_start: windowStart, count: amount, expires_at: expiresAt })
        .onConflict((oc) => oc.columns(['scope', 'window_start']).doUpdateSet({ count: sql`counters.count + ${amount}` }))
        .returning('count')
        .executeTakeFirstOrThrow();
      return row.count;
    },
    async addMany(rows) {
      if (rows.length === 0) return;
      await db
        .insertInto('counters')
        .values(rows.map((r) => ({ scope: r.scope, window_start: r.windowStart, count: r.amount, expires_at: r.expiresAt })))
        .onConflict((oc) => oc.columns(['scope', 'window_start']).doUpdateSet({ count: sql`counters.count + excluded.count` }))
        .execute();
    },
    async series(scope, fromWindowStart) {
      const rows = await db
        .selectFrom('counters')
        .select(['window_start', 'count'])
        .where('scope', '=', scope)
        .where('window_start', '>=', fromWindowStart)
        .orderBy('window_start')
        .execute();
      return rows.map((r) => ({ windowStart: r.window_start, count: r.count }));
    },
    async seriesSum(prefix, fromWindowStart) {
      // LIKE, not a range on the key: PostgreSQL compares text by the database's collation, which
      // may order punctuation apart from the bytes, so `scope >= 'checks:'` could miss rows.
      const needle = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const rows = await db
        .selectFrom('counters')
        .select((eb) => ['window_start', eb.fn.sum<number | string>('count').as('total')])
        .where(sql<boolean>`scope like ${needle} escape '\\'`)
        .where('window_start', '>=', fromWindowStart)
        .groupBy('window_start')
        .orderBy('window_start')
        .execute();
      // PostgreSQL's sum of integers is a bigint, which the driver hands over as a string.
      return rows.map((r) => ({ windowStart: Number(r.window_start), count: Number(r.total) }));
    },
    async purgeExpired(now) {
      const r = await db.deleteFrom('counters').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

function toAuditEvent(r: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: r.id,
    at: r.at,
    type: r.type as AuditType,
    accountId: r.account_id,
    sessionId: r.session_id,
    address: r.address,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  };
}

export function auditRepo(db: Kysely<DB>): AuditRepo {
  return {
    async append(e) {
      await APPEND_AUDIT.run(db, { at: e.at, type: e.type, accountId: e.accountId, sessionId: e.sessionId, address: e.address, detail: JSON.stringify(e.detail) });
    },
    async list(filter) {
      let q = db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(filter.limit);
      if (filter.accountId !== undefined) q = q.where('account_id', '=', filter.accountId);
      if (filter.type !== undefined) q = q.where('type', '=', filter.type);
      if (filter.before !== undefined) q = q.where('id', '<', filter.before);
      const rows = await q.execute();
      return rows.map(toAuditEvent);
    },
    async query(f) {
      const { after, order } = f;
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .$if(f.accountId !== undefined, (q) => q.where('account_id', '=', f.accountId!))
        .$if(f.type !== undefined, (q) => q.where('type', '=', f.type!))
        .$if(f.since !== undefined, (q) => q.where('at', '>=', f.since!))
        .$if(f.until !== undefined, (q) => q.where('at', '<', f.until!))
        // Keyset on (at, id): a row-value comparison both databases run as an index range.
        .$if(after !== undefined, (q) => q.where((eb) => eb(eb.refTuple('at', 'id'), order === 'desc' ? '<' : '>', eb.tuple(after!.at, after!.id))))
        .orderBy('at', order)
        .orderBy('id', order)
        .limit(f.limit)
        .execute();
      return rows.map(toAuditEvent);
    },
  };
}
