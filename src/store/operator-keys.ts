/**
 * The operator API's tables: operator keys, remembered `Idempotency-Key` answers and one-time
 * password-reset links (OperatorKeyRepo, IdempotencyRepo, PasswordResetRepo in src/core/ports.ts).
 */
import type { Kysely, Selectable } from 'kysely';
import type { OperatorKey } from '../core/model.ts';
import type { Permission } from '../core/operator-keys.ts';
import type { IdempotencyRecord, IdempotencyRepo, OperatorKeyRepo, PasswordResetRepo } from '../core/ports.ts';
import type { DB, IdempotencyKeysTable, OperatorKeysTable } from './schema.ts';

const KEY_COLUMNS = ['id', 'name', 'permissions', 'hint', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'] as const;

function toOperatorKey(r: Omit<Selectable<OperatorKeysTable>, 'hash'>): OperatorKey {
  return {
    id: r.id,
    name: r.name,
    permissions: r.permissions.split(' ').filter((p) => p.length > 0) as Permission[],
    hint: r.hint,
    createdAt: Number(r.created_at),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}

export function operatorKeyRepo(db: Kysely<DB>): OperatorKeyRepo {
  return {
    async insert(k) {
      await db
        .insertInto('operator_keys')
        .values({
          id: k.id,
          name: k.name,
          permissions: k.permissions.join(' '),
          hash: k.hash,
          hint: k.hint,
          created_at: k.createdAt,
          expires_at: k.expiresAt,
          revoked_at: k.revokedAt,
          last_used_at: k.lastUsedAt,
        })
        .execute();
    },
    async findByHash(hash) {
      const r = await db.selectFrom('operator_keys').select(KEY_COLUMNS).where('hash', '=', hash).executeTakeFirst();
      return r ? toOperatorKey(r) : null;
    },
    async findById(id) {
      const r = await db.selectFrom('operator_keys').select(KEY_COLUMNS).where('id', '=', id).executeTakeFirst();
      return r ? toOperatorKey(r) : null;
    },
    async list() {
      const rows = await db.selectFrom('operator_keys').select(KEY_COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
      return rows.map(toOperatorKey);
    },
    async revoke(id, now) {
      const r = await db.updateTable('operator_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async touchLastUsed(entries) {
      for (const e of entries) {
        await db
          .updateTable('operator_keys')
          .set({ last_used_at: e.at })
          .where('id', '=', e.id)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', e.at)]))
          .execute();
      }
    },
  };
}

function toIdempotency(r: Selectable<IdempotencyKeysTable>): IdempotencyRecord {
  return {
    requestHash: r.request_hash,
    state: r.state === 'done' ? 'done' : 'in_progress',
    status: r.status === null ? null : Number(r.status),
    response: r.response,
    createdAt: Number(r.created_at),
  };
}

export function idempotencyRepo(db: Kysely<DB>): IdempotencyRepo {
  return {
    async claim(record, drop) {
      await db
        .deleteFrom('idempotency_keys')
        .where('credential', '=', record.credential)
        .where('key', '=', record.key)
        .where((eb) =>
          eb.or([eb('created_at', '<', drop.expiredBefore), eb.and([eb('state', '=', 'in_progress'), eb('created_at', '<', drop.staleClaimBefore)])]),
        )
        .execute();
      // Insert-or-nothing: the primary key (credential, key) picks one winner among concurrent claims.
      const inserted = await db
        .insertInto('idempotency_keys')
        .values({
          credential: record.credential,
          key: record.key,
          request_hash: record.requestHash,
          state: 'in_progress',
          status: null,
          response: null,
          created_at: record.createdAt,
        })
        .onConflict((oc) => oc.columns(['credential', 'key']).doNothing())
        .returning('key')
        .executeTakeFirst();
      if (inserted) return null;
      const held = await db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('credential', '=', record.credential)
        .where('key', '=', record.key)
        .executeTakeFirstOrThrow();
      return toIdempotency(held);
    },
    async complete(credential, key, status, response) {
      await db
        .updateTable('idempotency_keys')
        .set({ state: 'done', status, response })
        .where('credential', '=', credential)
        .where('key', '=', key)
        .execute();
    },
    async release(credential, key) {
      await db.deleteFrom('idempotency_keys').where('credential', '=', credential).where('key', '=', key).where('state', '=', 'in_progress').execute();
    },
    async purgeExpired(expiredBefore) {
      const r = await db.deleteFrom('idempotency_keys').where('created_at', '<', expiredBefore).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export function passwordResetRepo(db: Kysely<DB>): PasswordResetRepo {
  return {
    async insert(reset) {
      await db
        .insertInto('password_resets')
        .values({ id: reset.id, account_id: reset.accountId, created_at: reset.createdAt, expires_at: reset.expiresAt, used_at: null })
        .execute();
    },
    async consume(id, now) {
      const r = await db
        .updateTable('password_resets')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('account_id')
        .executeTakeFirst();
      return r ? Number(r.account_id) : null;
    },
    async revokeByAccount(accountId, now) {
      const r = await db.updateTable('password_resets').set({ used_at: now }).where('account_id', '=', accountId).where('used_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async purgeExpired(now) {
      const r = await db.deleteFrom('password_resets').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
