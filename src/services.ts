/** The composition root shared by `tokend serve`, the other CLI commands and the tests. */
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { createCore, type Core } from './core/tokend.ts';
import { createPasswordHasher } from './secrets/password.ts';
import { createStore, type Database } from './store/database.ts';
import { openDialect } from './store/dialect.ts';

export interface Services {
  config: Config;
  db: Database;
  core: Core;
  close(): Promise<void>;
}

export interface OpenOptions {
  clock?: Clock;
  logger?: Logger;
  /** Apply migrations before returning (serve and migrate do; tests too). */
  migrate?: boolean;
}

export async function openServices(config: Config, options: OpenOptions = {}): Promise<Services> {
  const db = createStore(openDialect(config.databaseUrl, config.dataDir));
  try {
    if (options.migrate ?? true) {
      const applied = await db.migrate();
      if (applied.length) options.logger?.info({ applied }, 'database migrations applied');
    }
    const hasher = await createPasswordHasher({
      memoryKiB: config.argon2MemoryKiB,
      iterations: config.argon2Iterations,
      parallelism: config.argon2Parallelism,
    });
    const core = createCore({ config, store: db, clock: options.clock ?? systemClock, hasher });
    return { config, db, core, close: () => db.close() };
  } catch (error) {
    await db.close();
    throw error;
  }
}
