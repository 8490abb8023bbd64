/** Which record a reported secret is (LeakRepo, src/core/events/ports.ts): one indexed read by hash per kind. */
import type { Kysely } from 'kysely';
import type { LeakRepo } from '../core/events/ports.ts';
import type { DB } from './schema.ts';

/** The instance secret that holds the generated admin token's hash (src/core/callers.ts). */
const ADMIN_TOKEN_SECRET = 'admin_token';

export function leakRepo(db: Kysely<DB>): LeakRepo {
  return {
    async find(hash, lookup) {
      switch (lookup) {
        case 'api_token': {
          const r = await db.selectFrom('api_tokens').select(['id', 'account_id']).where('hash', '=', hash).executeTakeFirst();
          return r ? { kind: 'api_token', id: r.id, accountId: r.account_id } : null;
        }
        case 'access':
        case 'refresh': {
          // Either token of a session names the session; the two tables share the columns read here.
          const tokens = (lookup === 'access' ? 'access_tokens as t' : 'refresh_tokens as t') as 'access_tokens as t';
          const r = await db
            .selectFrom(tokens)
            .innerJoin('sessions as s', 's.id', 't.session_id')
            .select(['s.id', 's.account_id'])
            .where('t.hash', '=', hash)
            .executeTakeFirst();
          return r ? { kind: 'session', id: r.id, accountId: r.account_id } : null;
        }
        case 'secret_key': {
          const r = await db
            .selectFrom('service_keys as k')
            .innerJoin('service_accounts as sa', 'sa.id', 'k.service_account_id')
            .select(['k.id', 'sa.account_id'])
            .where('k.secret_hash', '=', hash)
            .executeTakeFirst();
          return r ? { kind: 'service_key', id: String(r.id), accountId: r.account_id } : null;
        }
        case 'resource_server': {
          const r = await db.selectFrom('resource_servers').select('id').where('hash', '=', hash).executeTakeFirst();
          return r ? { kind: 'resource_server', id: r.id, accountId: null } : null;
        }
        case 'console_session': {
          // A console sign-in's id is the SHA-256 of its cookie token.
          const r = await db.selectFrom('console_sessions').select(['id', 'account_id']).where('id', '=', hash).executeTakeFirst();
          return r ? { kind: 'console_session', id: r.id, accountId: r.account_id } : null;
        }
        case 'operator_key': {
          const r = await db.selectFrom('operator_keys').select('id').where('hash', '=', hash).executeTakeFirst();
          return r ? { kind: 'operator_key', id: r.id, accountId: null } : null;
        }
        case 'password_reset': {
          // A reset link's id is the SHA-256 of its token.
          const r = await db.selectFrom('password_resets').select(['id', 'account_id']).where('id', '=', hash).executeTakeFirst();
          return r ? { kind: 'password_reset', id: r.id, accountId: r.account_id } : null;
        }
        case 'admin_token': {
          const r = await db.selectFrom('instance_secrets').select('name').where('name', '=', ADMIN_TOKEN_SECRET).where('hash', '=', hash).executeTakeFirst();
          return r ? { kind: 'admin_token', id: 'admin', accountId: null } : null;
        }
      }
    },
  };
}
