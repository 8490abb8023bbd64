/** The composition root shared by `tokend serve`, the other CLI commands and the tests. */
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { ChangeBus } from './core/changes.ts';
import type { Clock } from './core/clock.ts';
import { createCore, type Core } from './core/tokend.ts';
import { TokendMetrics } from './observability/metrics.ts';
import type { Tracing } from './observability/tracing.ts';
import type { CheckPolicy } from './core/verification.ts';
import { createPasswordHasher, type PasswordHasher } from './secrets/password.ts';
import { AccessJwt } from './signing/access-jwt.ts';
import { KeyRing } from './signing/key-ring.ts';
import { lazyMasterKey, masterKeyWarning } from './signing/master-key.ts';
import { deriveKey, open, seal } from './signing/sealed.ts';
import { createStore, type Database } from './store/database.ts';
import { WebhookDispatcher } from './core/events/dispatcher.ts';
import { httpWebhookTransport } from './http/outbound/webhooks.ts';
import { webhookSecretBox } from './signing/webhook-secrets.ts';
import { openDialect, type ChangeBridge, type ClockHandle } from './store/dialect.ts';

/**
 * Core as the composition root holds it: with the store and the key ring it was built from, for
 * those that own them (tests, the bench). http and cli take `Core`, which hands out neither.
 */
export type OpenedCore = Core & { readonly store: Database; readonly signing: KeyRing };

export interface Services {
  config: Config;
  db: Database;
  core: OpenedCore;
  /** Prometheus metrics (`/metrics`), or null with `TOKEND_METRICS=false`. */
  metrics: TokendMetrics | null;
  /**
   * What only a server runs (`serve`): the webhook dispatcher and the audit retention cut. Stopped
   * by close(), before the store closes.
   */
  startBackground(): void;
  /**
   * Loads the API-token filter and keeps it in step with other writers (startBackground does, in
   * the background); resolves once loaded. Checks go to storage until then.
   */
  startApiTokenFilter(): Promise<void>;
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
  /** The metrics to count into; default: a new set when TOKEND_METRICS is on (one-shot CLI commands pass null). */
  metrics?: TokendMetrics | null;
  /** Traces of core operations and store transactions (src/observability/tracing.ts); none by default. */
  tracing?: Tracing | null;
  /** The policy every token check applies after liveness (src/core/verification.ts); default: allow all. */
  policy?: CheckPolicy;
}

export async function openServices(config: Config, options: OpenOptions = {}): Promise<Services> {
  const metrics = options.metrics !== undefined ? options.metrics : config.metrics ? new TokendMetrics() : null;
  const db = createStore(
    openDialect(config.databaseUrl, config.dataDir, {
      poolSize: config.databasePoolSize,
      statementTimeoutMs: config.databaseStatementTimeout,
      idleInTransactionTimeoutMs: config.databaseIdleInTransactionTimeout,
      backgroundCheckpoints: options.backgroundCheckpoints ?? true,
    }),
    metrics ?? undefined,
  );
  const log = options.logger;
  let clockHandle: ClockHandle | undefined;
  let bridge: ChangeBridge | undefined;
  let core: OpenedCore | undefined;
  let dispatcher: WebhookDispatcher | undefined;
  let retention: NodeJS.Timeout | undefined;
  let expiring: NodeJS.Timeout | undefined;
  const stop = async (): Promise<void> => {
    clearInterval(retention);
    clearInterval(expiring);
    await dispatcher?.stop();
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
    const changes = new ChangeBus();
    const signing = new KeyRing({
      store: db,
      clock,
      changes,
      masterKey,
      algorithm: config.jwtAlgorithm,
      maxTokenTtlMs: config.serviceAccessTtl,
      publishDelayMs: config.signingKeyPublishDelay,
    });
    // Answers remembered for `Idempotency-Key` may carry a secret shown once: sealed at rest.
    let replyKey: Buffer | null = null;
    const replyKeyOf = (): Buffer => (replyKey ??= deriveKey(masterKey().key, 'idempotency-replies'));
    const replySealer = {
      seal: (plaintext: string, associatedData: string): string => seal(replyKeyOf(), plaintext, associatedData),
      open: (sealed: string, associatedData: string): string | null => open(replyKeyOf(), sealed, associatedData),
    };
    const accessTokens = new AccessJwt({ ring: signing, clock, issuer: config.jwtIssuer, audience: config.jwtAudience });
    const tracing = options.tracing ?? null;
    const store = tracing ? tracing.traceStore(db) : db;
    const webhookSecrets = webhookSecretBox(masterKey);
    const created: OpenedCore = {
      ...createCore({ config, store, clock, hasher, changes, signing, accessTokens, replySealer, webhookSecrets, ...(options.policy ? { policy: options.policy } : {}), ...(metrics ? { metrics } : {}) }),
      store: db,
      signing,
    };
    core = tracing ? tracing.traceCore(created) : created;
    bridge = await db.dialect.bridgeChanges(core.changes, log);
    const listener = bridge as ChangeBridge & { listening?: boolean };
    metrics?.attachStore(
      {
        database: db.dialect.kind,
        ...(db.dialect.poolStats ? { poolStats: db.dialect.poolStats } : {}),
        ...('listening' in listener ? { listening: () => listener.listening === true } : {}),
        apiTokenFilter: () => created.apiTokenFilter.stats,
      },
      core.changes,
    );
    const opened = core;
    let filterStarted: Promise<void> | null = null;
    const startApiTokenFilter = (): Promise<void> =>
      (filterStarted ??= (async () => {
        const feed = db.dialect.insertFeed({ hashesBetween: (from, to) => db.apiTokens.hashesWithIdsBetween(from, to) }, log);
        await opened.apiTokenFilter.start(db.apiTokens, feed);
        const stats = opened.apiTokenFilter.stats;
        log?.info({ tokens: stats.entries, bytes: stats.bytes, ms: Math.round(stats.loadMs) }, 'API-token filter loaded: unknown API tokens end before the database');
      })());
    const startBackground = (): void => {
      if (dispatcher) return;
      startApiTokenFilter().catch((err: unknown) => log?.warn({ err }, 'loading the API-token filter failed; API tokens are looked up in the database'));
      dispatcher = new WebhookDispatcher({
        store: db,
        clock: opened.clock,
        transport: httpWebhookTransport(opened.webhookGuard),
        secrets: webhookSecrets,
        timeoutMs: config.webhookTimeout,
        backoff: { initialMs: config.webhookRetryInitial, maxMs: config.webhookRetryMaxDelay, periodMs: config.webhookRetryPeriod },
        pollMs: config.webhookPollInterval,
        ...(log ? { log } : {}),
        ...(metrics ? { onAttempt: (outcome: 'delivered' | 'retry' | 'failed') => metrics.webhookAttempt(outcome) } : {}),
      });
      dispatcher.start();
      const housekeeping = (): void => {
        if (config.webhookExpiringWindow > 0) {
          opened.webhooks.announceExpiring(config.webhookExpiringWindow).catch((err: unknown) => log?.warn({ err }, 'announcing expiring API tokens failed'));
        }
        db.webhooks.purgeFinished(opened.clock.now() - config.webhookHistory).catch((err: unknown) => log?.warn({ err }, 'webhook history purge failed'));
      };
      housekeeping();
      expiring = setInterval(housekeeping, 10 * 60_000);
      expiring.unref();
      if (config.auditRetention > 0) {
        const cut = (): void => {
          opened.auditChain.applyRetention(config.auditRetention, 'retention').then(
            (done) => done && log?.info({ deleted: done.deleted, keptFromSeq: done.keptFromSeq }, 'audit retention: old entries deleted'),
            (err: unknown) => log?.warn({ err }, 'audit retention failed'),
          );
        };
        cut();
        retention = setInterval(cut, 10 * 60_000);
        retention.unref();
      }
    };
    return { config, db, core, metrics, startBackground, startApiTokenFilter, close: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
