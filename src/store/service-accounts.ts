import type { Kysely, Selectable } from 'kysely';
import type { AccountStatus, ServiceAccount, ServiceAccountStatus, ServiceKey } from '../core/model.ts';
import type { ServiceAccountRepo, ServiceKeyRepo } from '../core/ports.ts';
import { prepared } from './prepared.ts';
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
      const rows = await db.selectFrom('service_accounts').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
      return rows.map(toServiceAccount);
    },
    async pageByAccount(accountId, page) {
      let q = db.selectFrom('service_accounts').selectAll().where('account_id', '=', accountId).orderBy('id').limit(page.limit);
      if (page.afterId !== undefined) q = q.where('id', '>', page.afterId);
      return (await q.execute()).map(toServiceAccount);
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

export function serviceKeyRepo(db: Kysely<DB>): ServiceKeyRepo {
  return {
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
