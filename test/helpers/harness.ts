/**
 * Test harness: a real tokend (real store, real argon2id, real HTTP when asked) on SQLite or
 * PostgreSQL. Every integration suite loops over `databases()` so it runs on both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Clock } from '../../src/core/clock.ts';
import { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from '../../src/secrets/password.ts';
import { buildApp } from '../../src/http/app.ts';
import type { Core } from '../../src/core/tokend.ts';
import { openServices, type OpenedCore, type Services } from '../../src/services.ts';

export type DbKind = 'sqlite' | 'postgres';

/**
 * The databases the suite runs on: SQLite always; PostgreSQL when TOKEND_TEST_DATABASE_URL points
 * at a server (`source scripts/pg-test-cluster.sh start` makes one). In CI its absence is an error,
 * not a silent skip.
 */
export function databases(): DbKind[] {
  if (process.env.TOKEND_TEST_DATABASE_URL) return ['sqlite', 'postgres'];
  if (process.env.CI) throw new Error('CI must run the suite on PostgreSQL too: TOKEND_TEST_DATABASE_URL is not set');
  if (!warned) {
    warned = true;
    process.stderr.write(
      '\n[tokend tests] PostgreSQL is not configured: running on SQLite only.\n' +
        '  To include PostgreSQL: source scripts/pg-test-cluster.sh start && npm test\n\n',
    );
  }
  return ['sqlite'];
}
let warned = false;

export interface TestDatabase {
  kind: DbKind;
  /** TOKEND_DATABASE_URL for this database ('' = SQLite in dataDir). */
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

/** A fresh, empty database: a temp dir for SQLite, a new database in the test cluster for PostgreSQL. */
export async function createTestDatabase(kind: DbKind): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokend-test-'));
  if (kind === 'sqlite') {
    return { kind, url: '', dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const adminUrl = process.env.TOKEND_TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TOKEND_TEST_DATABASE_URL is not set');
  const name = `tokend_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    dataDir,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Options for a store a test opens itself: as in startTokend, a statement timeout no lock queue of
 * a busy test machine reaches (the tests of the timeout set their own).
 */
export const TEST_DIALECT_OPTIONS = { statementTimeoutMs: 120_000 } as const;

/**
 * The password hashing of the tests: real argon2id (same library, same PHC strings, a stored hash
 * verified by its own parameters in any process), at 1 MiB and one pass instead of the production
 * 19 MiB and two, about fifteen times cheaper: passwords are hashed and checked thousands of times
 * in a run, and all but a few tests are about something else. The tests of the KDF itself and of
 * races around a password check pass the production parameters (OWASP_ARGON2ID) as `hasher`.
 */
export const TEST_ARGON2ID: PasswordHasherOptions = { memoryKiB: 1024, iterations: 1, parallelism: 1 };
let testHasher: Promise<PasswordHasher> | undefined;

/** One argon2id hasher with TEST_ARGON2ID per test process (its dummy hash is made once). */
export function testPasswordHasher(): Promise<PasswordHasher> {
  return (testHasher ??= createPasswordHasher(TEST_ARGON2ID));
}

export interface TestTokend {
  db: TestDatabase;
  config: Config;
  services: Services;
  core: OpenedCore;
  app: FastifyInstance;
  /** Base URL when started with `listen: true`. */
  url: string;
  /** Every log line the app wrote (JSON strings), for secret-hygiene checks. */
  logs: string[];
  /** Every route the app registered, with its options (schemas): the fuzz tests cover each. */
  routes: RouteOptions[];
  close(): Promise<void>;
}

export interface StartOptions {
  db: DbKind | TestDatabase;
  clock?: Clock;
  config?: Partial<Config>;
  listen?: boolean;
  /** Replaces the argon2id hasher (to watch it, or to hash at production cost); default: testPasswordHasher(). */
  hasher?: PasswordHasher;
}

export async function startTokend(options: StartOptions): Promise<TestTokend> {
  const db = typeof options.db === 'string' ? await createTestDatabase(options.db) : options.db;
  const ownsDb = typeof options.db === 'string';
  const config = loadConfig({
    env: {},
    // The statement timeout bounds a stalled node. Here, with other suites beside this one on a small
    // machine, fifty requests queued on one row lock can legitimately take longer than the 10 s
    // default, so tests get a bound no queue reaches; the tests of the timeout set their own.
    overrides: { dataDir: db.dataDir, databaseUrl: db.url, port: 0, logLevel: 'info', databaseStatementTimeout: 120_000, ...options.config },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: config.logLevel }, sink);
  const services = await openServices(config, {
    ...(options.clock ? { clock: options.clock } : {}),
    hasher: options.hasher ?? (await testPasswordHasher()),
    logger,
  });
  const routes: RouteOptions[] = [];
  const app = await buildApp({ core: services.core, logger, metrics: services.metrics, onRoute: (route) => routes.push(route) });
  let url = '';
  if (options.listen) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  } else {
    await app.ready();
  }
  return {
    db,
    config,
    services,
    core: services.core,
    app,
    url,
    logs,
    routes,
    async close() {
      await app.close();
      await services.close();
      if (ownsDb) await db.drop();
    },
  };
}

/** Creates an account and an app through core; returns what a client needs for tokens.make. */
export async function seedAccount(
  core: Core,
  input: { email?: string; password?: string } = {},
): Promise<{ accountId: number; uid: string; email: string; password: string; appId: string }> {
  const email = input.email ?? `user-${randomBytes(4).toString('hex')}@example.com`;
  const password = input.password ?? `pw-${randomBytes(12).toString('hex')}`;
  const account = await core.accounts.create({ email, password }, { address: 'test' });
  const app = await core.accounts.createApp({ accountId: account.id, name: 'test app' }, { address: 'test' });
  return { accountId: account.id, uid: account.uid, email: account.email, password, appId: app.appId };
}
