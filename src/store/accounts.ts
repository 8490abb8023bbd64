import { sql, type Kysely, type Selectable } from 'kysely';
import type { Account, AccountStatus, App } from '../core/model.ts';
import type { AccountRepo, AppRepo } from '../core/ports.ts';
import type { SqlDialect } from './dialect.ts';
import type { AccountsTable, AppsTable, DB } from './schema.ts';

export function toAccount(r: Selectable<AccountsTable>): Account {
  return {
    id: r.id,
    uid: r.uid,
    email: r.email,
    name: r.name,
    status: r.status as AccountStatus,
    isDemo: r.is_demo === 1,
    createdAt: r.created_at,
  };
}

export function accountRepo(db: Kysely<DB>, d: SqlDialect): AccountRepo {
  return {
    async insert(a) {
      const row = await db
        .insertInto('accounts')
        .values({
          ...(a.id !== undefined ? { id: a.id } : {}),
          uid: a.uid,
          email: a.email,
          password_hash: a.passwordHash,
          name: a.name,
          status: 'active',
          is_demo: a.isDemo ? 1 : 0,
          created_at: a.createdAt,
        })
        .onConflict((oc) => oc.column('email').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (row && a.id !== undefined) await d.syncIdSequence(db, 'accounts');
      return row ? toAccount(row) : null;
    },
    async findById(id) {
      const row = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toAccount(row) : null;
    },
    async findByEmail(email) {
      const row = await db.selectFrom('accounts').selectAll().where('email', '=', email).executeTakeFirst();
      return row ? { ...toAccount(row), passwordHash: row.password_hash } : null;
    },
    async setStatus(id, status) {
      const r = await db.updateTable('accounts').set({ status }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async list(filter) {
      let q = db.selectFrom('accounts').selectAll().orderBy('id', 'desc').limit(filter.limit);
      if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
      if (filter.emailContains) {
        // LIKE metacharacters in the needle are escaped: a search for "a_b" means the literal text.
        const needle = filter.emailContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
        q = q.where(sql<boolean>`email like ${`%${needle}%`} escape '\\'`);
      }
      const rows = await q.execute();
      return rows.map(toAccount);
    },
  };
}

function toApp(r: Selectable<AppsTable>): App {
  return { id: r.id, appId: r.app_id, accountId: r.account_id, name: r.name, createdAt: r.created_at };
}

export function appRepo(db: Kysely<DB>, d: SqlDialect): AppRepo {
  return {
    async insert(a) {
      const row = await db
        .insertInto('apps')
        .values({ app_id: a.appId, account_id: a.accountId, name: a.name, created_at: a.createdAt })
        .onConflict((oc) => oc.column('app_id').doNothing())
        .returningAll()
        .executeTakeFirst();
      return row ? toApp(row) : null;
    },
    async findByAppId(appId) {
      const row = await db.selectFrom('apps').selectAll().where('app_id', '=', appId).executeTakeFirst();
      return row ? toApp(row) : null;
    },
    async listByAccount(accountId) {
      const rows = await db.selectFrom('apps').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
      return rows.map(toApp);
    },
    async pageByAccount(accountId, page) {
      let q = db.selectFrom('apps').selectAll().where('account_id', '=', accountId).orderBy('id').limit(page.limit);
      if (page.afterId !== undefined) q = q.where('id', '>', page.afterId);
      return (await q.execute()).map(toApp);
    },
    async rename(appId, name) {
      const r = await db.updateTable('apps').set({ name }).where('app_id', '=', appId).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async delete(appId) {
      const r = await db.deleteFrom('apps').where('app_id', '=', appId).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    },
    async holdForUse(appId) {
      const row = await db
        .selectFrom('apps')
        .selectAll()
        .where('app_id', '=', appId)
        .$if(d.keyShareLocks, (q) => q.forKeyShare())
        .executeTakeFirst();
      return row ? toApp(row) : null;
    },
  };
}
