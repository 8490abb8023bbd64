import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { StoreUnavailableError } from '../core/errors.ts';
import type { Repos, Store } from '../core/ports.ts';
import { accountRepo, appRepo } from './accounts.ts';
import { auditRepo, counterRepo } from './counters.ts';
import type { SqlDialect } from './dialect.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { DB } from './schema.ts';
import { sessionRepo } from './sessions.ts';

const MAX_ATTEMPTS = 8;

function reposOf(db: Kysely<DB>, d: SqlDialect): Repos {
  return {
    accounts: accountRepo(db, d),
    apps: appRepo(db),
    sessions: sessionRepo(db),
    counters: counterRepo(db),
    audit: auditRepo(db),
  };
}

/**
 * Wraps every repository method so that a database that is down or locked surfaces as
 * StoreUnavailableError (503), never as an anonymous 500.
 */
function guarded<T extends object>(target: T, d: SqlDialect): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if (typeof value === 'function') {
        return async (...args: unknown[]) => {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          } catch (error) {
            throw translate(error, d);
          }
        };
      }
      if (typeof value === 'object' && value !== null) return guarded(value, d);
      return value;
    },
  });
}

function translate(error: unknown, d: SqlDialect): unknown {
  if (error instanceof StoreUnavailableError) return error;
  if (d.isUnavailable(error)) return new StoreUnavailableError(error);
  return error;
}

export interface Database extends Store {
  readonly dialect: SqlDialect;
  migrate(): Promise<string[]>;
}

export function createStore(d: SqlDialect): Database {
  const base = reposOf(d.db, d);
  const store: Database = {
    ...guarded(base, d),
    kind: d.kind,
    dialect: d,
    async transaction(fn) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await d.db.transaction().execute((trx) => fn(reposOf(trx, d)));
        } catch (error) {
          if (d.isTransient(error) && attempt < MAX_ATTEMPTS) {
            await sleep(Math.floor(Math.random() * 10 * attempt));
            continue;
          }
          throw translate(error, d);
        }
      }
    },
    async ping() {
      try {
        await sql`select 1`.execute(d.db);
      } catch (error) {
        throw new StoreUnavailableError(error);
      }
    },
    async close() {
      await d.db.destroy();
    },
    async migrate() {
      const report = await migrateToLatest(d);
      return report.applied;
    },
  };
  return store;
}
