import type { Kysely, Selectable } from 'kysely';
import type { AccountStatus, Session, SessionKind } from '../core/model.ts';
import type { SessionRepo } from '../core/ports.ts';
import { prepared } from './prepared.ts';
import type { DB, SessionsTable } from './schema.ts';

function toSession(r: Selectable<SessionsTable>): Session {
  return {
    id: r.id,
    accountId: r.account_id,
    kind: r.kind as SessionKind,
    clientId: r.client_id,
    scope: r.scope,
    generation: r.generation,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

const SESSION_COLUMNS = [
  's.id',
  's.account_id',
  's.kind',
  's.client_id',
  's.scope',
  's.generation',
  's.created_at',
  's.expires_at',
  's.revoked_at',
  's.revoke_reason',
] as const;

// The statements of every issuance, refresh and check: built and compiled once (src/store/prepared.ts).
type NewToken = { hash: string; sessionId: string; generation: number; createdAt: number; expiresAt: number };
const INSERT_SESSION = prepared(
  (
    db: Kysely<DB>,
    { id, accountId, kind, clientId, scope, createdAt, expiresAt }: { id: string; accountId: number; kind: string; clientId: string; scope: string; createdAt: number; expiresAt: number },
  ) =>
    db.insertInto('sessions').values({
      id,
      account_id: accountId,
      kind,
      client_id: clientId,
      scope,
      generation: 1,
      created_at: createdAt,
      expires_at: expiresAt,
      revoked_at: null,
      revoke_reason: null,
    }),
);
const INSERT_ACCESS = prepared((db: Kysely<DB>, { hash, sessionId, generation, createdAt, expiresAt }: NewToken) =>
  db.insertInto('access_tokens').values({ hash, session_id: sessionId, generation, created_at: createdAt, expires_at: expiresAt }),
);
const INSERT_REFRESH = prepared((db: Kysely<DB>, { hash, sessionId, generation, createdAt, expiresAt }: NewToken) =>
  db.insertInto('refresh_tokens').values({ hash, session_id: sessionId, generation, created_at: createdAt, expires_at: expiresAt, rotated_at: null }),
);
const FIND_ACCESS = prepared((db: Kysely<DB>, { hash }: { hash: string }) =>
  db
    .selectFrom('access_tokens as t')
    .innerJoin('sessions as s', 's.id', 't.session_id')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select(['t.hash', 't.generation as t_generation', 't.created_at as t_created_at', 't.expires_at as t_expires_at', 'a.status as account_status'])
    .select(SESSION_COLUMNS)
    .where('t.hash', '=', hash),
);
const FIND_REFRESH = prepared((db: Kysely<DB>, { hash }: { hash: string }) =>
  db
    .selectFrom('refresh_tokens as t')
    .innerJoin('sessions as s', 's.id', 't.session_id')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select([
      't.hash',
      't.generation as t_generation',
      't.created_at as t_created_at',
      't.expires_at as t_expires_at',
      't.rotated_at',
      'a.status as account_status',
    ])
    .select(SESSION_COLUMNS)
    .where('t.hash', '=', hash),
);
const CLAIM_REFRESH = prepared((db: Kysely<DB>, { hash, now }: { hash: string; now: number }) =>
  db.updateTable('refresh_tokens').set({ rotated_at: now }).where('hash', '=', hash).where('rotated_at', 'is', null),
);
const ADVANCE = prepared((db: Kysely<DB>, { sessionId, fromGeneration, toGeneration }: { sessionId: string; fromGeneration: number; toGeneration: number }) =>
  db
    .updateTable('sessions')
    .set({ generation: toGeneration })
    .where('id', '=', sessionId)
    .where('generation', '=', fromGeneration)
    .where('revoked_at', 'is', null),
);

export function sessionRepo(db: Kysely<DB>): SessionRepo {
  async function revokeWhere(column: 'account_id' | 'client_id', value: number | string, now: number, reason: string): Promise<string[]> {
    const rows = await db
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where(column, '=', value as never)
      .where('revoked_at', 'is', null)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  return {
    async insert(s) {
      const row = {
        id: s.id,
        account_id: s.accountId,
        kind: s.kind,
        client_id: s.clientId,
        scope: s.scope,
        generation: 1,
        created_at: s.createdAt,
        expires_at: s.expiresAt,
        revoked_at: null,
        revoke_reason: null,
      };
      await INSERT_SESSION.run(db, {
        id: row.id,
        accountId: row.account_id,
        kind: row.kind,
        clientId: row.client_id,
        scope: row.scope,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      });
      return toSession(row);
    },
    async insertAccessToken(t) {
      await INSERT_ACCESS.run(db, t);
    },
    async insertRefreshToken(t) {
      await INSERT_REFRESH.run(db, t);
    },
    async findAccess(hash) {
      const r = await FIND_ACCESS.first(db, { hash });
      if (!r) return null;
      return {
        token: { hash: r.hash, sessionId: r.id, generation: r.t_generation, createdAt: r.t_created_at, expiresAt: r.t_expires_at },
        session: toSession(r),
        accountStatus: r.account_status as AccountStatus,
      };
    },
    async findRefresh(hash) {
      const r = await FIND_REFRESH.first(db, { hash });
      if (!r) return null;
      return {
        token: {
          hash: r.hash,
          sessionId: r.id,
          generation: r.t_generation,
          createdAt: r.t_created_at,
          expiresAt: r.t_expires_at,
          rotatedAt: r.rotated_at,
        },
        session: toSession(r),
        accountStatus: r.account_status as AccountStatus,
      };
    },
    async claimRefresh(hash, now) {
      return (await CLAIM_REFRESH.affected(db, { hash, now })) === 1;
    },
    async advance(sessionId, fromGeneration) {
      return (await ADVANCE.affected(db, { sessionId, fromGeneration, toGeneration: fromGeneration + 1 })) === 1;
    },
    async revoke(sessionId, now, reason) {
      const r = await db
        .updateTable('sessions')
        .set({ revoked_at: now, revoke_reason: reason })
        .where('id', '=', sessionId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    revokeByAccount: (accountId, now, reason) => revokeWhere('account_id', accountId, now, reason),
    revokeByClient: (clientId, now, reason) => revokeWhere('client_id', clientId, now, reason),
    async listActiveByAccount(accountId, now) {
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(toSession);
    },
    async findById(sessionId) {
      const row = await db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
      return row ? toSession(row) : null;
    },
  };
}
