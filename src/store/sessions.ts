import { sql, type Kysely, type Selectable } from 'kysely';
import type { AccountStatus, Session, SessionKind } from '../core/model.ts';
import type { AuditRepo, Rotation, SessionRepo, UnreadRotation } from '../core/ports.ts';
import { judgeRefresh } from '../core/liveness.ts';
import { entryAroundNumber, type AuditChainer } from './audit.ts';
import type { SqlDialect } from './dialect.ts';
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

/**
 * The claim of a rotation where each statement runs on its own (SQLite): the token not yet used
 * nor expired, and its session at the token's generation, live, of an active account. The
 * conditions of judgeRefresh (src/core/liveness.ts), so that a claim here is a refresh that may
 * go ahead; SQLite's one writer holds them until the rest of the rotation is written.
 */
const CLAIM_LIVE = prepared((db: Kysely<DB>, { hash, sessionId, fromGeneration, now }: { hash: string; sessionId: string; fromGeneration: number; now: number }) =>
  db
    .updateTable('refresh_tokens')
    .set({ rotated_at: now })
    .where('hash', '=', hash)
    .where('rotated_at', 'is', null)
    .where('expires_at', '>', now)
    .where('generation', '=', fromGeneration)
    .where('session_id', '=', sessionId)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('sessions as s')
          .innerJoin('accounts as a', 'a.id', 's.account_id')
          .select(sql<number>`1`.as('one'))
          .where('s.id', '=', sessionId)
          .where('s.generation', '=', fromGeneration)
          .where('s.revoked_at', 'is', null)
          .where('s.expires_at', '>', now)
          .where('a.status', '=', 'active'),
      ),
    ),
);

/** A new access/refresh pair and its audit entry's time and type, as a one-statement write takes them. */
export type PairArgs = {
  accessHash: string;
  accessCreatedAt: number;
  accessExpiresAt: number;
  refreshHash: string;
  refreshCreatedAt: number;
  refreshExpiresAt: number;
  at: number;
  type: string;
};

type RotateArgs = PairArgs & {
  hash: string;
  sessionId: string;
  fromGeneration: number;
  toGeneration: number;
  now: number;
  accountId: number | null;
  auditSessionId: string | null;
  address: string | null;
  detail: string;
};

/**
 * A whole rotation in one statement (PostgreSQL): the claim (the arbiter of concurrent refreshes:
 * the row lock orders them, and a refresh that waited re-checks `rotated_at is null` on the
 * winner's row and claims nothing; CLAIM_LIVE's conditions, so that a token is claimed only for a
 * session that looks alive), the advance (which re-checks the session under its row lock against
 * a concurrent revocation), the two tokens and the audit entry (waiting for its link, as
 * appendPending writes it), each written only from the row the step before returned. Committed
 * by itself: one round trip instead of BEGIN, claim, advance, two inserts, the entry and COMMIT.
 * Casts: an untyped parameter in a select list would be taken as text.
 */
const ROTATE = prepared((db: Kysely<DB>, a: RotateArgs) => ({
  compile: () =>
    sql<{ n: number }>`with claimed as (
  update refresh_tokens set rotated_at = ${a.now}
  where hash = ${a.hash} and rotated_at is null and expires_at > ${a.now} and generation = ${a.fromGeneration} and session_id = ${a.sessionId}
    and exists (select 1 from sessions as s join accounts as ac on ac.id = s.account_id
      where s.id = ${a.sessionId} and s.generation = ${a.fromGeneration} and s.revoked_at is null and s.expires_at > ${a.now} and ac.status = 'active')
  returning session_id
), advanced as (
  update sessions as s set generation = ${a.toGeneration}
  from claimed as c
  where s.id = c.session_id and s.generation = ${a.fromGeneration} and s.revoked_at is null and s.expires_at > ${a.now}
    and exists (select 1 from accounts as ac where ac.id = s.account_id and ac.status = 'active')
  returning s.id
), new_access as (
  insert into access_tokens (hash, session_id, generation, created_at, expires_at)
  select cast(${a.accessHash} as text), id, cast(${a.toGeneration} as integer), cast(${a.accessCreatedAt} as bigint), cast(${a.accessExpiresAt} as bigint) from advanced
), new_refresh as (
  insert into refresh_tokens (hash, session_id, generation, created_at, expires_at, rotated_at)
  select cast(${a.refreshHash} as text), id, cast(${a.toGeneration} as integer), cast(${a.refreshCreatedAt} as bigint), cast(${a.refreshExpiresAt} as bigint), null from advanced
), new_entry as (
  insert into audit_events (at, type, account_id, session_id, address, detail, seq, prev_hash, hash, chain_pending)
  select cast(${a.at} as bigint), cast(${a.type} as text), cast(${a.accountId} as bigint), cast(${a.auditSessionId} as text), cast(${a.address} as text), cast(${a.detail} as text), null, null, null, 1 from advanced
)
select count(*) as n from advanced`.compile(db),
}));

type UnreadArgs = {
  hash: string;
  kind: string;
  now: number;
  accessHash: string;
  accessTtl: number;
  refreshHash: string;
  refreshTtl: number;
  at: number;
  type: string;
  address: string | null;
  detailHead: string;
  detailTail: string;
};

/**
 * ROTATE for a token not read first (PostgreSQL): the token's session and generation come from
 * the claim, the pair's ends are capped by the session's end as SessionService mints them, and the
 * entry's detail is written around the new generation. One row always: the rotated session, or
 * nulls and whether the hash is known at all (from the statement's snapshot).
 */
const ROTATE_UNREAD = prepared((db: Kysely<DB>, a: UnreadArgs) => ({
  compile: () =>
    sql<Omit<Selectable<SessionsTable>, 'id' | 'revoked_at' | 'revoke_reason'> & { id: string | null; t_created_at: number; known: boolean }>`with claimed as (
  update refresh_tokens as t set rotated_at = ${a.now}
  where t.hash = ${a.hash} and t.rotated_at is null and t.expires_at > ${a.now}
    and exists (select 1 from sessions as s join accounts as ac on ac.id = s.account_id
      where s.id = t.session_id and s.kind = ${a.kind} and s.generation = t.generation and s.revoked_at is null and s.expires_at > ${a.now} and ac.status = 'active')
  returning t.session_id, t.generation, t.created_at
), advanced as (
  update sessions as s set generation = c.generation + 1
  from claimed as c
  where s.id = c.session_id and s.generation = c.generation and s.revoked_at is null and s.expires_at > ${a.now}
    and exists (select 1 from accounts as ac where ac.id = s.account_id and ac.status = 'active')
  returning s.id, s.account_id, s.kind, s.client_id, s.scope, s.generation, s.created_at, s.expires_at, c.created_at as t_created_at
), new_access as (
  insert into access_tokens (hash, session_id, generation, created_at, expires_at)
  select cast(${a.accessHash} as text), id, generation, cast(${a.now} as bigint), least(cast(${a.now} as bigint) + cast(${a.accessTtl} as bigint), expires_at) from advanced
), new_refresh as (
  insert into refresh_tokens (hash, session_id, generation, created_at, expires_at, rotated_at)
  select cast(${a.refreshHash} as text), id, generation, cast(${a.now} as bigint), least(cast(${a.now} as bigint) + cast(${a.refreshTtl} as bigint), expires_at), null from advanced
), new_entry as (
  insert into audit_events (at, type, account_id, session_id, address, detail, seq, prev_hash, hash, chain_pending)
  select cast(${a.at} as bigint), cast(${a.type} as text), account_id, id, cast(${a.address} as text),
    cast(${a.detailHead} as text) || generation || cast(${a.detailTail} as text), null, null, null, 1 from advanced
)
select advanced.*, exists (select 1 from refresh_tokens where hash = ${a.hash}) as known
from (select 1) as one left join advanced on true`.compile(db),
}));

/**
 * `audit`: the repository the audit entry of a rotation goes through where the rotation is several
 * statements; `chainer`: the store's, where entries are linked after commit (the one-statement
 * rotation writes its entry waiting for its link, and counts it for the store's poke).
 */
export function sessionRepo(db: Kysely<DB>, d: SqlDialect, audit: AuditRepo, chainer: AuditChainer | null): SessionRepo {
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

  const repo: SessionRepo = {
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
    async rotate(r: Rotation, entry) {
      const toGeneration = r.fromGeneration + 1;
      if (d.dataModifyingCtes && chainer) {
        const row = await ROTATE.first(db, {
          hash: r.hash,
          sessionId: r.sessionId,
          fromGeneration: r.fromGeneration,
          toGeneration,
          now: r.now,
          accessHash: r.access.hash,
          accessCreatedAt: r.access.createdAt,
          accessExpiresAt: r.access.expiresAt,
          refreshHash: r.refresh.hash,
          refreshCreatedAt: r.refresh.createdAt,
          refreshExpiresAt: r.refresh.expiresAt,
          at: entry.at,
          type: entry.type,
          accountId: entry.accountId,
          auditSessionId: entry.sessionId,
          address: entry.address,
          // Stored as it will be hashed: through JSON (undefined members dropped, dates as strings).
          detail: JSON.stringify(entry.detail),
        });
        if (Number(row?.n ?? 0) !== 1) return false;
        chainer.appended++;
        return true;
      }
      if ((await CLAIM_LIVE.affected(db, { hash: r.hash, sessionId: r.sessionId, fromGeneration: r.fromGeneration, now: r.now })) !== 1) return false;
      // Held by the one writer since the claim's check, so the session is still at that generation.
      if ((await ADVANCE.affected(db, { sessionId: r.sessionId, fromGeneration: r.fromGeneration, toGeneration })) !== 1) return false;
      const base = { sessionId: r.sessionId, generation: toGeneration };
      await INSERT_ACCESS.run(db, { ...base, ...r.access });
      await INSERT_REFRESH.run(db, { ...base, ...r.refresh });
      await audit.append(entry);
      return true;
    },
    async rotateUnread(r: UnreadRotation, entry) {
      if (!(d.dataModifyingCtes && chainer)) {
        // Several statements (SQLite, in the caller's transaction): the read, then `rotate`.
        const found = await repo.findRefresh(r.hash);
        if (!found) return { ok: false, known: false };
        const { token, session } = found;
        if (session.kind !== r.kind || judgeRefresh(found, r.now) !== null) return { ok: false, known: true };
        const generation = token.generation + 1;
        const rotated = await repo.rotate(
          {
            hash: r.hash,
            sessionId: session.id,
            fromGeneration: token.generation,
            now: r.now,
            access: { hash: r.access.hash, createdAt: r.now, expiresAt: Math.min(r.now + r.access.ttlMs, session.expiresAt) },
            refresh: { hash: r.refresh.hash, createdAt: r.now, expiresAt: Math.min(r.now + r.refresh.ttlMs, session.expiresAt) },
          },
          { ...entry(generation), accountId: session.accountId, sessionId: session.id },
        );
        return rotated ? { ok: true, session: { ...session, generation }, issuedAt: token.createdAt } : { ok: false, known: true };
      }
      const { event: e, head, tail } = entryAroundNumber(entry, 'rotateUnread');
      const row = await ROTATE_UNREAD.first(db, {
        hash: r.hash,
        kind: r.kind,
        now: r.now,
        accessHash: r.access.hash,
        accessTtl: r.access.ttlMs,
        refreshHash: r.refresh.hash,
        refreshTtl: r.refresh.ttlMs,
        at: e.at,
        type: e.type,
        address: e.address,
        detailHead: head,
        detailTail: tail,
      });
      if (!row || row.id === null) return { ok: false, known: row?.known === true };
      chainer.appended++;
      const session: Session = {
        id: row.id,
        accountId: row.account_id,
        kind: row.kind as SessionKind,
        clientId: row.client_id,
        scope: row.scope,
        generation: row.generation,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        revokedAt: null,
      };
      return { ok: true, session, issuedAt: row.t_created_at };
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
    async listActivePage(accountId, now, page) {
      const before = page.before;
      const rows = await db
        .selectFrom('sessions as s')
        .select(SESSION_COLUMNS)
        // The current generation's refresh token was issued by the last refresh (one indexed read per row of a page).
        .select((eb) =>
          eb
            .selectFrom('refresh_tokens as r')
            .select('r.created_at')
            .whereRef('r.session_id', '=', 's.id')
            .whereRef('r.generation', '=', 's.generation')
            .where('r.generation', '>', 1)
            .limit(1)
            .as('last_refresh_at'),
        )
        .where('s.account_id', '=', accountId)
        .where('s.revoked_at', 'is', null)
        .where('s.expires_at', '>', now)
        .$if(before !== undefined, (q) =>
          q.where((eb) =>
            eb.or([eb('s.created_at', '<', before!.createdAt), eb.and([eb('s.created_at', '=', before!.createdAt), eb('s.id', '<', before!.id)])]),
          ),
        )
        .orderBy('s.created_at', 'desc')
        .orderBy('s.id', 'desc')
        .limit(page.limit)
        .execute();
      return rows.map((r) => ({ ...toSession(r), lastRefreshAt: r.last_refresh_at === null ? null : Number(r.last_refresh_at) }));
    },
    async countActive(accountId, now) {
      const r = await db
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('account_id', '=', accountId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async findById(sessionId) {
      const row = await db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
      return row ? toSession(row) : null;
    },
  };
  return repo;
}
