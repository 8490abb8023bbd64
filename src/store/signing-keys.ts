import type { Kysely, Selectable } from 'kysely';
import type { JwtAlgorithm, SigningKeyRecord } from '../core/model.ts';
import type { SigningKeyRepo } from '../core/ports.ts';
import type { DB, SigningKeysTable } from './schema.ts';

function toRecord(r: Selectable<SigningKeysTable>): SigningKeyRecord {
  return {
    kid: r.kid,
    alg: r.alg as JwtAlgorithm,
    publicJwk: r.public_jwk,
    privateJwkSealed: r.private_jwk_sealed,
    createdAt: r.created_at,
    activatesAt: r.activates_at,
    maxTokenTtlMs: r.max_token_ttl,
  };
}

export function signingKeyRepo(db: Kysely<DB>): SigningKeyRepo {
  return {
    async insert(k) {
      await db
        .insertInto('signing_keys')
        .values({
          kid: k.kid,
          alg: k.alg,
          public_jwk: k.publicJwk,
          private_jwk_sealed: k.privateJwkSealed,
          created_at: k.createdAt,
          activates_at: k.activatesAt,
          max_token_ttl: k.maxTokenTtlMs,
        })
        .execute();
    },
    async list() {
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('activates_at').orderBy('kid').execute();
      return rows.map(toRecord);
    },
    async raiseMaxTokenTtl(kid, ttlMs) {
      await db
        .updateTable('signing_keys')
        .set({ max_token_ttl: ttlMs })
        .where('kid', '=', kid)
        .where('max_token_ttl', '<', ttlMs)
        .execute();
    },
    async delete(kids) {
      if (kids.length === 0) return 0;
      const r = await db.deleteFrom('signing_keys').where('kid', 'in', [...kids]).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
