import { sql, type Kysely, type Selectable } from 'kysely';
import type { Account, AccountStatus, App } from '../core/model.ts';
import type { AccountRepo, AppRepo, IdPage } from '../core/ports.ts';
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
      if (filter.email !== undefined) q = q.where('email', '=', filter.email);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      if (filter.emailContains) {
        // LIKE metacharacters in the needle are escaped: a search for "a_b" means the literal text.
        const needle = filter.emailContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
        q = q.where(sql<boolean>`email like ${`%${needle}%`} escape '\\'`);
      }
      const rows = await q.execute();
      return rows.map(toAccount);
    },
    async update(id, changes) {
      const set: { name?: string | null; email?: string } = {};
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.email !== undefined) {
        // Checked before the write so that a taken email changes nothing; the unique index still
        // guards a race between two changes to the same email.
        const other = await db.selectFrom('accounts').select('id').where('email', '=', changes.email).where('id', '<>', id).executeTakeFirst();
        if (other) return 'email_taken';
        set.email = changes.email;
      }
      if (Object.keys(set).length > 0) await db.updateTable('accounts').set(set).where('id', '=', id).execute();
      const row = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toAccount(row) : null;
    },
    async setPasswordHash(id, passwordHash) {
      const r = await db.updateTable('accounts').set({ password_hash: passwordHash }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async deleteCascade(id) {
      const account = await db.selectFrom('accounts').select('id').where('id', '=', id).executeTakeFirst();
      if (!account) return null;
      // What starts sessions goes first. A login holds its app's row while it starts a session, and
      // a service-account token creation its key's row (claimUse): deleting those rows waits for
      // such a transaction in flight, and after it no new one can start. Only then are the
      // sessions read, so a session started meanwhile is seen and deleted with the rest, and the
      // account row is never left referenced.
      await db.deleteFrom('apps').where('account_id', '=', id).execute();
      const serviceAccountsOf = db.selectFrom('service_accounts').select('id').where('account_id', '=', id);
      const serviceKeyIds = (await db.selectFrom('service_keys').select('id').where('service_account_id', 'in', serviceAccountsOf).execute()).map((r) => Number(r.id));
      await db.deleteFrom('service_keys').where('service_account_id', 'in', serviceAccountsOf).execute();
      // Then children before parents, in the order of the foreign keys.
      const sessionIds = (await db.selectFrom('sessions').select('id').where('account_id', '=', id).execute()).map((r) => r.id);
      const sessionsOf = db.selectFrom('sessions').select('id').where('account_id', '=', id);
      await db.deleteFrom('access_tokens').where('session_id', 'in', sessionsOf).execute();
      await db.deleteFrom('refresh_tokens').where('session_id', 'in', sessionsOf).execute();
      await db.deleteFrom('sessions').where('account_id', '=', id).execute();
      const serviceAccountIds = (await db.selectFrom('service_accounts').select('id').where('account_id', '=', id).execute()).map((r) => Number(r.id));
      await db.deleteFrom('service_accounts').where('account_id', '=', id).execute();
      const apiTokenIds = (await db.selectFrom('api_tokens').select('id').where('account_id', '=', id).execute()).map((r) => r.id);
      await db.deleteFrom('api_tokens').where('account_id', '=', id).execute();
      const policySubjects = (await db.selectFrom('policies').select(['subject_kind', 'subject_id']).where('account_id', '=', id).execute()).map(
        (r) => `${r.subject_kind}:${r.subject_id}`,
      );
      await db.deleteFrom('policies').where('account_id', '=', id).execute();
      await db.deleteFrom('console_sessions').where('account_id', '=', id).execute();
      await db.deleteFrom('password_resets').where('account_id', '=', id).execute();
      await db.deleteFrom('accounts').where('id', '=', id).execute();
      return { sessionIds, apiTokenIds, serviceAccountIds, serviceKeyIds, policySubjects };
    },
  };
}

/** The tables of records an account owns that are listed by id, oldest first (IdPage). */
type OwnedByAccount = 'apps' | 'service_accounts';

/**
 * The rows of `table` an account owns, oldest (lowest id) first: all of them, or with `page` the
 * `page.limit` rows after `page.afterId`.
 */
export async function rowsOfAccount<T extends OwnedByAccount>(db: Kysely<DB>, table: T, accountId: number, page?: IdPage): Promise<Selectable<DB[T]>[]> {
  let q = db.selectFrom(table as OwnedByAccount).selectAll().where('account_id', '=', accountId).orderBy('id');
  if (page) q = q.limit(page.limit);
  if (page?.afterId !== undefined) q = q.where('id', '>', page.afterId);
  return (await q.execute()) as Selectable<DB[T]>[];
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
      return (await rowsOfAccount(db, 'apps', accountId)).map(toApp);
    },
    async pageByAccount(accountId, page) {
      return (await rowsOfAccount(db, 'apps', accountId, page)).map(toApp);
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
