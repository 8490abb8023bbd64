/**
 * Organisation API tokens, resource-server credentials and instance secrets: the queries behind
 * ApiTokenRepo, ResourceServerRepo and InstanceSecretRepo (src/core/ports.ts).
 */
import { sql, type ExpressionBuilder, type Expression, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { AccountStatus, ApiToken, ApiTokenFormat, ApiTokenStatus, ResourceServer } from '../core/model.ts';
import type { ApiTokenRepo, InstanceSecretRepo, ResourceServerRepo } from '../core/ports.ts';
import { prepared } from './prepared.ts';
import type { ApiTokensTable, DB, ResourceServersTable } from './schema.ts';

function toApiToken(r: Omit<Selectable<ApiTokensTable>, 'hash' | 'revoke_reason'>): ApiToken {
  return {
    id: r.id,
    accountId: r.account_id,
    format: r.format as ApiTokenFormat,
    hint: r.hint,
    label: r.label,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
    replacedBy: r.replaced_by,
  };
}

const TOKEN_COLUMNS = [
  't.id',
  't.account_id',
  't.format',
  't.hint',
  't.label',
  't.created_at',
  't.expires_at',
  't.last_used_at',
  't.revoked_at',
  't.replaced_by',
] as const;

// The lookup behind every API-token check the cache does not answer: built and compiled once (src/store/prepared.ts).
const FIND_BY_HASH = prepared((db: Kysely<DB>, { hash }: { hash: string }) =>
  db
    .selectFrom('api_tokens as t')
    .innerJoin('accounts as a', 'a.id', 't.account_id')
    .select(TOKEN_COLUMNS)
    .select(['a.uid as account_uid', 'a.status as account_status'])
    .where('t.hash', '=', hash),
);

// A flush writes up to thousands of these in one go, on the event loop: compiled once.
const TOUCH_LAST_USED = prepared((db: Kysely<DB>, { id, at }: { id: string; at: number }) =>
  db
    .updateTable('api_tokens')
    .set({ last_used_at: at })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)])),
);

/**
 * The tokens `apiTokenStatus` (src/core/api-tokens.ts) puts in `status` at `now`, as SQL: the same
 * rule, term for term (test/store.conformance.test.ts holds the two together).
 */
function inStatus(eb: ExpressionBuilder<DB & { t: ApiTokensTable }, 't'>, status: ApiTokenStatus, now: number): Expression<SqlBool> {
  const live = eb('t.revoked_at', 'is', null);
  const replaced = eb('t.replaced_by', 'is not', null);
  const notReplaced = eb('t.replaced_by', 'is', null);
  const ended = eb.and([eb('t.expires_at', 'is not', null), eb('t.expires_at', '<=', now)]);
  const running = eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', now)]);
  // Revoked once its grace had already ended (a rotation without grace): it was replaced.
  const revokedAfterGrace = eb.and([eb('t.revoked_at', 'is not', null), replaced, eb('t.expires_at', 'is not', null), eb('t.expires_at', '<=', eb.ref('t.revoked_at'))]);
  switch (status) {
    case 'revoked':
      return eb.and([
        eb('t.revoked_at', 'is not', null),
        eb.or([notReplaced, eb('t.expires_at', 'is', null), eb('t.expires_at', '>', eb.ref('t.revoked_at'))]),
      ]);
    case 'replaced':
      return eb.or([revokedAfterGrace, eb.and([live, ended, replaced])]);
    case 'expired':
      return eb.and([live, ended, notReplaced]);
    case 'grace':
      return eb.and([live, running, replaced]);
    case 'active':
      return eb.and([live, running, notReplaced]);
  }
}

export function apiTokenRepo(db: Kysely<DB>): ApiTokenRepo {
  /** Revokes the live tokens the caller's WHERE picks, saying why (`revoked`, `leaked`, …). */
  const revokeLive = (now: number, reason: string) =>
    db.updateTable('api_tokens').set({ revoked_at: now, revoke_reason: reason }).where('revoked_at', 'is', null);
  return {
    async insert(t) {
      const r = await db
        .insertInto('api_tokens')
        .values({
          id: t.id,
          account_id: t.accountId,
          format: t.format,
          hash: t.hash,
          hint: t.hint,
          label: t.label,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
          last_used_at: null,
          revoked_at: null,
          revoke_reason: null,
          replaced_by: null,
        })
        .onConflict((oc) => oc.column('hash').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async findByHash(hash) {
      const r = await FIND_BY_HASH.first(db, { hash });
      if (!r) return null;
      return { token: toApiToken(r), accountUid: r.account_uid, accountStatus: r.account_status as AccountStatus };
    },
    async findById(id) {
      const r = await db.selectFrom('api_tokens as t').select(TOKEN_COLUMNS).where('t.id', '=', id).executeTakeFirst();
      return r ? toApiToken(r) : null;
    },
    async listByAccount(accountId) {
      const rows = await db
        .selectFrom('api_tokens as t')
        .select(TOKEN_COLUMNS)
        .where('t.account_id', '=', accountId)
        .orderBy('t.created_at', 'desc')
        .orderBy('t.id')
        .execute();
      return rows.map(toApiToken);
    },
    async pageByAccount(accountId, page) {
      const { before, status } = page;
      const rows = await db
        .selectFrom('api_tokens as t')
        .select(TOKEN_COLUMNS)
        .where('t.account_id', '=', accountId)
        .$if(status !== undefined, (q) => q.where((eb) => inStatus(eb, status!, page.now)))
        .$if(before !== undefined, (q) => q.where((eb) => eb(eb.refTuple('t.created_at', 't.id'), '<', eb.tuple(before!.createdAt, before!.id))))
        .orderBy('t.created_at', 'desc')
        .orderBy('t.id', 'desc')
        .limit(page.limit)
        .execute();
      return rows.map(toApiToken);
    },
    async revoke(id, now, reason) {
      const r = await revokeLive(now, reason).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async retire(id, replacedBy, until) {
      // The conditional UPDATE decides which of concurrent rotations wins; the grace never extends an expiry.
      const current = await db.selectFrom('api_tokens').select('expires_at').where('id', '=', id).executeTakeFirst();
      if (!current) return false;
      const expiresAt = current.expires_at === null ? until : Math.min(current.expires_at, until);
      const r = await db
        .updateTable('api_tokens')
        .set({ replaced_by: replacedBy, expires_at: expiresAt })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where('replaced_by', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async reinstate(id) {
      const r = await db
        .updateTable('api_tokens')
        .set({ revoked_at: null, revoke_reason: null, replaced_by: null, expires_at: null })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async revokeByAccount(accountId, now, reason) {
      const rows = await revokeLive(now, reason).where('account_id', '=', accountId).returning('id').execute();
      return rows.map((r) => r.id);
    },
    async touchLastUsed(entries) {
      // Callers run this in a transaction (one commit per slice of a flush, not per token).
      for (const e of entries) await TOUCH_LAST_USED.run(db, e);
    },
    async pageFingerprints(after, limit) {
      // Keyset pages along the unique index on hash: each page is one index range, whatever the
      // table's size, aggregated into one row (string_agg: PostgreSQL, and SQLite since 3.44).
      const page = db
        .selectFrom('api_tokens')
        .select('hash')
        .$if(after !== null, (q) => q.where('hash', '>', after!))
        .orderBy('hash')
        .limit(limit)
        .as('page');
      const row = await db
        .selectFrom(page)
        .select((eb) => [
          sql<string | null>`string_agg(substr(page.hash, 1, 16), '')`.as('packed'),
          eb.fn.max('page.hash').as('last'),
          eb.fn.countAll<number | string | bigint>().as('n'),
        ])
        .executeTakeFirst();
      return { packed: row?.packed ?? '', count: Number(row?.n ?? 0), last: row?.last ?? null };
    },
    async countHashes() {
      const row = await db.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async hashesWithIdsBetween(fromId, toId) {
      const rows = await db.selectFrom('api_tokens').select('hash').where('id', '>=', fromId).where('id', '<', toId).execute();
      return rows.map((r) => r.hash);
    },
  };
}

function toResourceServer(r: Omit<Selectable<ResourceServersTable>, 'hash'>): ResourceServer {
  return { id: r.id, name: r.name, hint: r.hint, createdAt: r.created_at, revokedAt: r.revoked_at };
}

export function resourceServerRepo(db: Kysely<DB>): ResourceServerRepo {
  return {
    async insert(s) {
      await db
        .insertInto('resource_servers')
        .values({ id: s.id, name: s.name, hash: s.hash, hint: s.hint, created_at: s.createdAt, revoked_at: s.revokedAt })
        .execute();
    },
    async findByHash(hash) {
      const r = await db
        .selectFrom('resource_servers')
        .select(['id', 'name', 'hint', 'created_at', 'revoked_at'])
        .where('hash', '=', hash)
        .executeTakeFirst();
      return r ? toResourceServer(r) : null;
    },
    async list() {
      const rows = await db
        .selectFrom('resource_servers')
        .select(['id', 'name', 'hint', 'created_at', 'revoked_at'])
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(toResourceServer);
    },
    async revoke(id, now) {
      const r = await db
        .updateTable('resource_servers')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
}

export function instanceSecretRepo(db: Kysely<DB>): InstanceSecretRepo {
  return {
    async insertIfAbsent(name, hash, createdAt) {
      const r = await db
        .insertInto('instance_secrets')
        .values({ name, hash, created_at: createdAt })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async getHash(name) {
      const r = await db.selectFrom('instance_secrets').select('hash').where('name', '=', name).executeTakeFirst();
      return r?.hash ?? null;
    },
  };
}
