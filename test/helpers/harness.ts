/**
 * Test harness: a real tokend (real store, real argon2id, real HTTP when asked) on SQLite or
 * PostgreSQL. Every integration suite loops over `databases()` so it runs on both.
 */
import { strict as assert } from 'node:assert';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import pg from 'pg';
import { pino } from 'pino';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Clock } from '../../src/core/clock.ts';
import { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from '../../src/secrets/password.ts';
import { buildApp, type AppDeps } from '../../src/http/app.ts';
import type { Core } from '../../src/core/tokend.ts';
import { openServices, type OpenedCore, type Services } from '../../src/services.ts';
import { createStore } from '../../src/store/database.ts';
import { openDialect } from '../../src/store/dialect.ts';

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

/**
 * What the schema is made of: the migrations and the dialect code they call. A migrated template
 * (below) carries it in its name, so a template made by other migrations is never copied.
 */
function schemaFingerprint(): string {
  const store = fileURLToPath(new URL('../../src/store/', import.meta.url));
  const hash = createHash('sha256');
  for (const file of ['dialect.ts', ...readdirSync(join(store, 'migrations')).sort().map((f) => `migrations/${f}`)]) {
    hash.update(file).update(readFileSync(join(store, file)));
  }
  return hash.digest('hex').slice(0, 16);
}
let fingerprint: string | undefined;

/** Migrates a new database with the store's own migrations, as `tokend migrate` would, and closes it. */
async function migrateOnce(url: string, dataDir: string): Promise<void> {
  const store = createStore(openDialect(url, dataDir, { ...TEST_DIALECT_OPTIONS, backgroundCheckpoints: false }));
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
}

/**
 * A migrated PostgreSQL database to copy (CREATE DATABASE … TEMPLATE): made once per cluster and
 * schema, under an advisory lock so that test processes starting together make it once, and closed
 * to connections (a connection to a template would stop every copy). Copying it costs half of
 * creating a database and migrating it, in the server and in the test.
 */
let pgTemplate: Promise<string> | undefined;
function postgresTemplate(adminUrl: string): Promise<string> {
  return (pgTemplate ??= (async () => {
    const name = `tokend_template_${(fingerprint ??= schemaFingerprint())}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query('select pg_advisory_lock(hashtext($1))', ['tokend test template']);
      const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
      if (found.rowCount === 0) {
        const building = `${name}_building`;
        await admin.query(`drop database if exists ${building} with (force)`);
        await admin.query(`create database ${building}`);
        const url = new URL(adminUrl);
        url.pathname = `/${building}`;
        const scratch = mkdtempSync(join(tmpdir(), 'tokend-template-'));
        try {
          await migrateOnce(url.toString(), scratch);
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
        await admin.query(`alter database ${building} rename to ${name}`);
        await admin.query(`alter database ${name} with allow_connections false`);
      }
    } finally {
      await admin.end();
    }
    return name;
  })());
}

/** The same for SQLite: a migrated tokend.db in the temp dir, made once per schema, copied into a new data dir. */
let sqliteTemplate: Promise<string> | undefined;
function sqliteTemplateFile(): Promise<string> {
  return (sqliteTemplate ??= (async () => {
    const file = join(tmpdir(), `tokend-test-template-${(fingerprint ??= schemaFingerprint())}.db`);
    if (existsSync(file)) return file;
    const scratch = mkdtempSync(join(tmpdir(), 'tokend-template-'));
    try {
      await migrateOnce('', scratch);
      // Closed cleanly, SQLite folded its WAL into the file: the file alone is the database.
      assert.ok(!existsSync(join(scratch, 'tokend.db-wal')), 'the template database kept a WAL file');
      renameSync(join(scratch, 'tokend.db'), file);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    return file;
  })());
}

export interface CreateOptions {
  /**
   * A copy of a database the store's migrations already ran on, instead of an empty one (what
   * startTokend uses: tokend's start then finds nothing to apply). Tests of migrating itself, and
   * of what tokend does with an empty database, take the default: empty.
   */
  migrated?: boolean;
}

/**
 * The run of `npm test` this process belongs to (scripts/test.mjs sets it), or '' for a file run on
 * its own. PostgreSQL answers DROP DATABASE with an immediate checkpoint of the whole cluster: with
 * a hundred test databases dropped while others are busy, that wrote about 500 MB and synced it in
 * every run, stalling the files still running. Within a run, a database is dropped when the run
 * ends (its name carries the run's id, so the run drops only its own); on its own, when dropped.
 */
const RUN_ID = /^[a-z0-9]{1,16}$/.test(process.env.TOKEND_TEST_RUN_ID ?? '') ? process.env.TOKEND_TEST_RUN_ID! : '';

/** A fresh, empty database: a temp dir for SQLite, a new database in the test cluster for PostgreSQL. */
export async function createTestDatabase(kind: DbKind, options: CreateOptions = {}): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokend-test-'));
  if (kind === 'sqlite') {
    if (options.migrated) copyFileSync(await sqliteTemplateFile(), join(dataDir, 'tokend.db'));
    return { kind, url: '', dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const adminUrl = process.env.TOKEND_TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TOKEND_TEST_DATABASE_URL is not set');
  const name = `tokend_test_${RUN_ID ? `${RUN_ID}_` : ''}${randomBytes(6).toString('hex')}`;
  const template = options.migrated ? ` template ${await postgresTemplate(adminUrl)}` : '';
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}${template}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    dataDir,
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
      // In a run of `npm test` the run drops its databases when every file is done (see RUN_ID).
      if (RUN_ID) return;
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
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

/**
 * What Fastify compiles from the route schemas, compiled once per test process: building an app
 * otherwise compiles every route's validators (Ajv) and response serializers (fast-json-stringify)
 * again, which is most of what startTokend costs. Each compiled function is kept by what it was
 * compiled from (the schema, and the options and shared schemas of its compiler) and is a pure
 * function of those; Fastify's own compilers make them, along Fastify's own paths.
 */
type SchemaCache = NonNullable<AppDeps['schemaCache']>;
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));
const serializerSelector = fastifyRequire('@fastify/fast-json-stringify-compiler') as () => (externalSchemas: unknown, options: unknown) => (route: { schema: unknown }) => unknown;
const compiledSerializers = new Map<string, unknown>();
const selectSerializers = serializerSelector();
const compiledValidators = new Map<string, unknown>();
const SCHEMA_CACHE: SchemaCache = {
  buildSerializer: ((externalSchemas: unknown, options: unknown) => {
    const build = selectSerializers(externalSchemas, options);
    const context = JSON.stringify([externalSchemas, options]);
    return (route: { schema: unknown }) => {
      const key = `${context}${JSON.stringify(route.schema)}`;
      let serializer = compiledSerializers.get(key);
      if (!serializer) compiledSerializers.set(key, (serializer = build(route)));
      return serializer;
    };
  }) as unknown as SchemaCache['buildSerializer'],
  onAjvCreate(ajv) {
    const compile = ajv.compile.bind(ajv);
    // Its options that change a compiled validator (the rest are objects and functions: plugins, formats).
    const context = JSON.stringify(Object.entries(ajv.opts).filter(([, v]) => v === null || typeof v !== 'object' && typeof v !== 'function'));
    ajv.compile = ((schema: unknown) => {
      // A schema with an $id is registered in its own Ajv instance: compiled there, as Fastify does.
      if (typeof schema === 'object' && schema !== null && '$id' in schema) return compile(schema as object);
      const key = `${context}${JSON.stringify(schema)}`;
      let validate = compiledValidators.get(key);
      if (!validate) compiledValidators.set(key, (validate = compile(schema as object)));
      return validate;
    }) as typeof ajv.compile;
  },
};

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
  const db = typeof options.db === 'string' ? await createTestDatabase(options.db, { migrated: true }) : options.db;
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
  let app: FastifyInstance | undefined;
  let url = '';
  try {
    app = await buildApp({ core: services.core, logger, metrics: services.metrics, onRoute: (route) => routes.push(route), schemaCache: SCHEMA_CACHE });
    if (options.listen) {
      await app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    } else {
      await app.ready();
    }
  } catch (error) {
    // A start that fails closes what it opened: a store left open keeps the test process alive.
    await app?.close().catch(() => {});
    await services.close();
    if (ownsDb) await db.drop();
    throw error;
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
