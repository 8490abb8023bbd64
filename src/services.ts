/** The composition root shared by `tokend serve`, the other CLI commands and the tests. */
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import type { Clock } from './core/clock.ts';
import { createCore, type Core } from './core/tokend.ts';
import { createPasswordHasher, type PasswordHasher } from './secrets/password.ts';
import { lazyMasterKey, masterKeyWarning } from './signing/master-key.ts';
import { createStore, type Database } from './store/database.ts';
import { openDialect, type ChangeBridge, type ClockHandle } from './store/dialect.ts';

export interface Services {
  config: Config;
  db: Database;
  core: Core;
  close(): Promise<void>;
}

export interface OpenOptions {
  clock?: Clock;
  logger?: Logger;
  /** The password hasher (tests wrap the real one to watch it); default: argon2id with the configured parameters. */
  hasher?: PasswordHasher;
  /** Apply migrations before returning (serve and migrate do; tests too). */
  migrate?: boolean;
  /** SQLite: checkpoint the WAL on a thread of its own (src/store/checkpointer.ts). Default on; one-shot CLI commands turn it off. */
  backgroundCheckpoints?: boolean;
}

export async function openServices(config: Config, options: OpenOptions = {}): Promise<Services> {
  const db = createStore(
    openDialect(config.databaseUrl, config.dataDir, {
      poolSize: config.databasePoolSize,
      statementTimeoutMs: config.databaseStatementTimeout,
      idleInTransactionTimeoutMs: config.databaseIdleInTransactionTimeout,
      backgroundCheckpoints: options.backgroundCheckpoints ?? true,
    }),
  );
  const log = options.logger;
  let clockHandle: ClockHandle | undefined;
  let bridge: ChangeBridge | undefined;
  let core: Core | undefined;
  const stop = async (): Promise<void> => {
    // Batched writes (`last used`) land before the store closes; a failure must not keep it open.
    await core?.close().catch((err: unknown) => log?.warn({ err }, 'flushing batched writes failed'));
    await bridge?.stop();
    clockHandle?.stop();
    await db.close();
  };
  try {
    if (options.migrate ?? true) {
      const applied = await db.migrate();
      if (applied.length) log?.info({ applied }, 'database migrations applied');
    }
    const hasher =
      options.hasher ??
      (await createPasswordHasher({
        memoryKiB: config.argon2MemoryKiB,
        iterations: config.argon2Iterations,
        parallelism: config.argon2Parallelism,
      }));
    // The dialect decides: the database's clock on PostgreSQL (nodes agree on expiry and the
    // quota day), the system clock on SQLite. A clock passed in (tests) wins.
    let clock = options.clock;
    if (!clock) {
      clockHandle = await db.dialect.startClock(log);
      clock = clockHandle.clock;
    }
    // Resolved on first need (signing); generating it is announced loudly.
    const masterKey = lazyMasterKey(config, (mk) => {
      const warning = masterKeyWarning(mk);
      if (warning) log?.warn({ masterKey: mk.source, path: mk.path }, mk.source === 'generated' ? `!!! ${warning} !!!` : warning);
    });
    core = createCore({ config, store: db, clock, hasher, masterKey });
    bridge = await db.dialect.bridgeChanges(core.changes, log);
    return { config, db, core, close: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
