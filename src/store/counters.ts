import { sql, type Kysely } from 'kysely';
import type { AuditEvent, AuditType } from '../core/model.ts';
import type { AuditRepo, CounterRepo } from '../core/ports.ts';
import type { DB } from './schema.ts';

export function counterRepo(db: Kysely<DB>): CounterRepo {
  return {
    async incrementBelow(scope, windowStart, limit, expiresAt) {
      // One statement, atomic in both databases: the row lock (PostgreSQL) or the write lock
      // (SQLite) orders concurrent callers, and the WHERE stops the count at the limit exactly.
      const row = await db
        .insertInto('counters')
        .values({ scope, window_start: windowStart, count: 1, expires_at: expiresAt })
        .onConflict((oc) =>
          oc
            .columns(['scope', 'window_start'])
            .doUpdateSet({ count: sql`counters.count + 1` })
            .where('counters.count', '<', limit),
        )
        .returning('count')
        .executeTakeFirst();
      return row ? row.count : null;
    },
    async increment(scope, windowStart, expiresAt) {
      const row = await db
        .insertInto('counters')
        .values({ scope, window_start: windowStart, count: 1, expires_at: expiresAt })
        .onConflict((oc) => oc.columns(['scope', 'window_start']).doUpdateSet({ count: sql`counters.count + 1` }))
        .returning('count')
        .executeTakeFirstOrThrow();
      return row.count;
    },
    async get(scope, windowStart) {
      const row = await db
        .selectFrom('counters')
        .select('count')
        .where('scope', '=', scope)
        .where('window_start', '=', windowStart)
        .executeTakeFirst();
      return row?.count ?? 0;
    },
    async purgeExpired(now) {
      const r = await db.deleteFrom('counters').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export function auditRepo(db: Kysely<DB>): AuditRepo {
  return {
    async append(e) {
      await db
        .insertInto('audit_events')
        .values({
          at: e.at,
          type: e.type,
          account_id: e.accountId,
          session_id: e.sessionId,
          address: e.address,
          detail: JSON.stringify(e.detail),
        })
        .execute();
    },
    async list(filter) {
      let q = db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(filter.limit);
      if (filter.accountId !== undefined) q = q.where('account_id', '=', filter.accountId);
      if (filter.type !== undefined) q = q.where('type', '=', filter.type);
      if (filter.before !== undefined) q = q.where('id', '<', filter.before);
      const rows = await q.execute();
      return rows.map(
        (r): AuditEvent => ({
          id: r.id,
          at: r.at,
          type: r.type as AuditType,
          accountId: r.account_id,
          sessionId: r.session_id,
          address: r.address,
          detail: JSON.parse(r.detail) as Record<string, unknown>,
        }),
      );
    },
  };
}
