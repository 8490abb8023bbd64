import type { Kysely, Selectable } from 'kysely';
import type { ConsoleSession, ConsoleSessionKind } from '../core/model.ts';
import type { ConsoleSessionRepo } from '../core/ports.ts';
import type { ConsoleSessionsTable, DB } from './schema.ts';

function toConsoleSession(r: Selectable<ConsoleSessionsTable>): ConsoleSession {
  return {
    id: r.id,
    kind: r.kind as ConsoleSessionKind,
    accountId: r.account_id,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    address: r.address,
    userAgent: r.user_agent,
  };
}

export function consoleSessionRepo(db: Kysely<DB>): ConsoleSessionRepo {
  return {
    async insert(s) {
      await db
        .insertInto('console_sessions')
        .values({
          id: s.id,
          kind: s.kind,
          account_id: s.accountId,
          created_at: s.createdAt,
          last_seen_at: s.lastSeenAt,
          expires_at: s.expiresAt,
          revoked_at: s.revokedAt,
          address: s.address,
          user_agent: s.userAgent,
        })
        .execute();
    },
    async find(id) {
      const row = await db.selectFrom('console_sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toConsoleSession(row) : null;
    },
    async touch(id, now) {
      // Monotonic: a slow request finishing late never moves last_seen_at backwards.
      await db.updateTable('console_sessions').set({ last_seen_at: now }).where('id', '=', id).where('last_seen_at', '<', now).execute();
    },
    async revoke(id, now) {
      const r = await db
        .updateTable('console_sessions')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async revokeByAccount(accountId, now, exceptId) {
      let q = db.updateTable('console_sessions').set({ revoked_at: now }).where('account_id', '=', accountId).where('revoked_at', 'is', null);
      if (exceptId !== undefined) q = q.where('id', '<>', exceptId);
      const r = await q.executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async purgeExpired(now) {
      const r = await db.deleteFrom('console_sessions').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
