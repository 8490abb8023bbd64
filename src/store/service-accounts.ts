import { sql, type Kysely, type Selectable } from 'kysely';
import type { AccountStatus, ServiceAccount, ServiceAccountStatus, ServiceKey } from '../core/model.ts';
import type { AuditRepo, CounterRepo, NewSession, ServiceAccountRepo, ServiceKeyRepo, ServiceStart, SessionRepo } from '../core/ports.ts';
import { rowsOfAccount } from './accounts.ts';
import { entryAroundNumber, type AuditChainer } from './audit.ts';
import type { SqlDialect } from './dialect.ts';
import { prepared } from './prepared.ts';
import type { PairArgs } from './sessions.ts';
import type { DB, ServiceAccountsTable, ServiceKeysTable } from './schema.ts';

function toServiceAccount(r: Selectable<ServiceAccountsTable>): ServiceAccount {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    actions: r.actions === '' ? [] : r.actions.split(' '),
    status: r.status as ServiceAccountStatus,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

function toServiceKey(r: Selectable<ServiceKeysTable>): ServiceKey {
  return {
    id: r.id,
    serviceAccountId: r.service_account_id,
    accessKey: r.access_key,
    secretHint: r.secret_hint,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
  };
}

// Every token creation runs these: built and compiled once (src/store/prepared.ts).
const CLAIM_SERVICE_ACCOUNT = prepared((db: Kysely<DB>, { id, now }: { id: number; now: number }) =>
  db.updateTable('service_accounts').set({ last_used_at: now }).where('id', '=', id).where('status', '=', 'active'),
);
const FIND_BY_ACCESS_KEY = prepared((db: Kysely<DB>, { accessKey }: { accessKey: string }) =>
  db
    .selectFrom('service_keys as k')
    .innerJoin('service_accounts as sa', 'sa.id', 'k.service_account_id')
    .innerJoin('accounts as a', 'a.id', 'sa.account_id')
    .selectAll('k')
    .select([
      'sa.account_id as sa_account_id',
      'sa.name as sa_name',
      'sa.actions as sa_actions',
      'sa.status as sa_status',
      'sa.created_at as sa_created_at',
      'sa.last_used_at as sa_last_used_at',
      'a.status as account_status',
    ])
    .where('k.access_key', '=', accessKey),
);
const CLAIM_KEY = prepared((db: Kysely<DB>, { id, now }: { id: number; now: number }) =>
  db
    .updateTable('service_keys')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])),
);

/**
 * The service account's claim of a creation (startSession): CLAIM_SERVICE_ACCOUNT, and only when
 * the key's claim will hold too, so that a creation refused for its key records no use of the
 * service account either (as the transaction that rolls back records none); and only while the
 * service account grants exactly the scope the tokens carry and its account is active (the lookup
 * the tokens were minted from may be a cached one).
 */
const CLAIM_SERVICE_ACCOUNT_WITH_KEY = prepared((db: Kysely<DB>, { id, keyId, now, actions }: { id: number; keyId: number; now: number; actions: string }) =>
  db
    .updateTable('service_accounts')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where('status', '=', 'active')
    .where('actions', '=', actions)
    .where((eb) =>
      eb.and([
        eb.exists(
          eb
            .selectFrom('service_keys as k')
            .select(sql<number>`1`.as('one'))
            .where('k.id', '=', keyId)
            .where('k.revoked_at', 'is', null)
            .where((e) => e.or([e('k.expires_at', 'is', null), e('k.expires_at', '>', now)])),
        ),
        eb.exists(
          eb
            .selectFrom('accounts as a')
            .select(sql<number>`1`.as('one'))
            .whereRef('a.id', '=', 'service_accounts.account_id')
            .where('a.status', '=', 'active'),
        ),
      ]),
    ),
);

/** The new session's columns are its own fields, its id named `sessionId`. */
type StartArgs = PairArgs & Omit<NewSession, 'id'> & {
  serviceAccountId: number;
  keyId: number;
  now: number;
  quotaScope: string;
  windowStart: number;
  limit: number;
  quotaExpiresAt: number;
  sessionId: string;
  auditAccountId: number | null;
  auditSessionId: string | null;
  address: string | null;
  detailHead: string;
  detailTail: string;
};

/**
 * A token creation in one statement (PostgreSQL): the two claims (row locks that order it against
 * a disable or a revoke, as claimUse's do; the key's only after the service account's, in the
 * order the transaction takes them), the quota's unit (incrementBelow's upsert), the session,
 * its pair and the audit entry (waiting for its link, as appendPending writes it), each written
 * only from the row the step before returned. The entry's detail carries the quota's count, which
 * only the statement knows: its JSON is written around it. Committed by itself: one round trip
 * instead of BEGIN, seven statements and COMMIT. Casts: an untyped parameter in a select list
 * would be taken as text.
 */
const START_SESSION = prepared((db: Kysely<DB>, a: StartArgs) => ({
  compile: () =>
    sql<{ count: number | null }>`with claimed_sa as (
  update service_accounts set last_used_at = ${a.now}
  where id = ${a.serviceAccountId} and status = 'active' and actions = ${a.scope}
    and exists (select 1 from service_keys as k where k.id = ${a.keyId} and k.revoked_at is null and (k.expires_at is null or k.expires_at > ${a.now}))
    and exists (select 1 from accounts as a where a.id = service_accounts.account_id and a.status = 'active')
  returning id
), claimed_key as (
  update service_keys set last_used_at = ${a.now}
  where id = ${a.keyId} and revoked_at is null and (expires_at is null or expires_at > ${a.now}) and exists (select 1 from claimed_sa)
  returning id
), quota as (
  insert into counters (scope, window_start, count, expires_at)
  select cast(${a.quotaScope} as text), cast(${a.windowStart} as bigint), 1, cast(${a.quotaExpiresAt} as bigint) from claimed_key
  on conflict (scope, window_start) do update set count = counters.count + 1 where counters.count < ${a.limit}
  returning count
), new_session as (
  insert into sessions (id, account_id, kind, client_id, scope, generation, created_at, expires_at, revoked_at, revoke_reason)
  select cast(${a.sessionId} as text), cast(${a.accountId} as bigint), cast(${a.kind} as text), cast(${a.clientId} as text), cast(${a.scope} as text), 1,
    cast(${a.createdAt} as bigint), cast(${a.expiresAt} as bigint), null, null from quota
  returning id
), new_access as (
  insert into access_tokens (hash, session_id, generation, created_at, expires_at)
  select cast(${a.accessHash} as text), id, 1, cast(${a.accessCreatedAt} as bigint), cast(${a.accessExpiresAt} as bigint) from new_session
), new_refresh as (
  insert into refresh_tokens (hash, session_id, generation, created_at, expires_at, rotated_at)
  select cast(${a.refreshHash} as text), id, 1, cast(${a.refreshCreatedAt} as bigint), cast(${a.refreshExpiresAt} as bigint), null from new_session
), new_entry as (
  insert into audit_events (at, type, account_id, session_id, address, detail, seq, prev_hash, hash, chain_pending)
  select cast(${a.at} as bigint), cast(${a.type} as text), cast(${a.auditAccountId} as bigint), cast(${a.auditSessionId} as text), cast(${a.address} as text),
    cast(${a.detailHead} as text) || quota.count || cast(${a.detailTail} as text), null, null, null, 1 from quota, new_session
)
select (select count from quota) as count`.compile(db),
}));

export function serviceAccountRepo(db: Kysely<DB>): ServiceAccountRepo {
  return {
    async insert(sa) {
      const row = await db
        .insertInto('service_accounts')
        .values({
          account_id: sa.accountId,
          name: sa.name,
          actions: sa.actions.join(' '),
          status: 'active',
          created_at: sa.createdAt,
          last_used_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toServiceAccount(row);
    },
    async findById(id) {
      const row = await db.selectFrom('service_accounts').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toServiceAccount(row) : null;
    },
    async listByAccount(accountId) {
      return (await rowsOfAccount(db, 'service_accounts', accountId)).map(toServiceAccount);
    },
    async pageByAccount(accountId, page) {
      return (await rowsOfAccount(db, 'service_accounts', accountId, page)).map(toServiceAccount);
    },
    async rename(id, name) {
      const r = await db.updateTable('service_accounts').set({ name }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async setStatus(id, status) {
      const r = await db.updateTable('service_accounts').set({ status }).where('id', '=', id).where('status', '!=', status).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async setActions(id, actions) {
      const r = await db.updateTable('service_accounts').set({ actions: actions.join(' ') }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async claimUse(id, now) {
      return (await CLAIM_SERVICE_ACCOUNT.affected(db, { id, now })) === 1;
    },
  };
}

/**
 * `repos`: what a creation writes through where it is several statements (SQLite); `chainer`: the
 * store's, where entries are linked after commit (the one-statement creation writes its entry
 * waiting for its link, and counts it for the store's poke).
 */
export function serviceKeyRepo(
  db: Kysely<DB>,
  d: SqlDialect,
  repos: { counters: CounterRepo; sessions: SessionRepo; audit: AuditRepo },
  chainer: AuditChainer | null,
): ServiceKeyRepo {
  return {
    async startSession(c: ServiceStart, entry) {
      const { session } = c;
      if (d.dataModifyingCtes && chainer) {
        const { id: sessionId, ...sessionColumns } = session;
        const { event, head, tail } = entryAroundNumber(entry, 'startSession');
        const row = await START_SESSION.first(db, {
          serviceAccountId: c.serviceAccountId,
          keyId: c.keyId,
          now: c.now,
          quotaScope: c.quota.scope,
          windowStart: c.quota.windowStart,
          limit: c.quota.limit,
          quotaExpiresAt: c.quota.expiresAt,
          sessionId,
          ...sessionColumns,
          accessHash: c.access.hash,
          accessCreatedAt: c.access.createdAt,
          accessExpiresAt: c.access.expiresAt,
          refreshHash: c.refresh.hash,
          refreshCreatedAt: c.refresh.createdAt,
          refreshExpiresAt: c.refresh.expiresAt,
          at: event.at,
          type: event.type,
          auditAccountId: event.accountId,
          auditSessionId: event.sessionId,
          address: event.address,
          detailHead: head,
          detailTail: tail,
        });
        if (row?.count == null) return null;
        chainer.appended++;
        return Number(row.count);
      }
      // SQLite's one writer holds what the first claim checked until the rest is written.
      const claim = { id: c.serviceAccountId, keyId: c.keyId, now: c.now, actions: session.scope };
      if ((await CLAIM_SERVICE_ACCOUNT_WITH_KEY.affected(db, claim)) !== 1) return null;
      if ((await CLAIM_KEY.affected(db, { id: c.keyId, now: c.now })) !== 1) return null;
      const count = await repos.counters.incrementBelow(c.quota.scope, c.quota.windowStart, c.quota.limit, c.quota.expiresAt);
      if (count === null) return null;
      await repos.sessions.insert(session);
      const base = { sessionId: session.id, generation: 1 };
      await repos.sessions.insertAccessToken({ ...base, ...c.access });
      await repos.sessions.insertRefreshToken({ ...base, ...c.refresh });
      await repos.audit.append(entry(count));
      return count;
    },
    async insert(k) {
      // Both unique columns conflict-free or nothing: a taken Access Key or secret hash gives null.
      const row = await db
        .insertInto('service_keys')
        .values({
          service_account_id: k.serviceAccountId,
          access_key: k.accessKey,
          secret_hash: k.secretHash,
          secret_hint: k.secretHint,
          created_at: k.createdAt,
          expires_at: k.expiresAt,
          revoked_at: null,
          last_used_at: null,
        })
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .executeTakeFirst();
      return row ? toServiceKey(row) : null;
    },
    async findById(id) {
      const row = await db.selectFrom('service_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toServiceKey(row) : null;
    },
    async findByAccessKey(accessKey) {
      const r = await FIND_BY_ACCESS_KEY.first(db, { accessKey });
      if (!r) return null;
      return {
        key: toServiceKey(r),
        secretHash: r.secret_hash,
        serviceAccount: toServiceAccount({
          id: r.service_account_id,
          account_id: r.sa_account_id,
          name: r.sa_name,
          actions: r.sa_actions,
          status: r.sa_status,
          created_at: r.sa_created_at,
          last_used_at: r.sa_last_used_at,
        }),
        accountStatus: r.account_status as AccountStatus,
      };
    },
    async listByServiceAccount(serviceAccountId) {
      const rows = await db
        .selectFrom('service_keys')
        .selectAll()
        .where('service_account_id', '=', serviceAccountId)
        .orderBy('id')
        .execute();
      return rows.map(toServiceKey);
    },
    async listByServiceAccounts(serviceAccountIds) {
      if (serviceAccountIds.length === 0) return [];
      const rows = await db
        .selectFrom('service_keys')
        .selectAll()
        .where('service_account_id', 'in', [...serviceAccountIds])
        .orderBy('service_account_id')
        .orderBy('id')
        .execute();
      return rows.map(toServiceKey);
    },
    async revoke(id, now) {
      const r = await db.updateTable('service_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async reinstate(id) {
      const r = await db.updateTable('service_keys').set({ revoked_at: null, expires_at: null }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async claimUse(id, now) {
      return (await CLAIM_KEY.affected(db, { id, now })) === 1;
    },
  };
}
