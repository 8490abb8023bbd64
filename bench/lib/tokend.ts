/**
 * tokend under test: a data directory prepared through core (accounts, apps, sessions, service
 * accounts and keys, a few API tokens), plus API tokens inserted in bulk straight into SQLite
 * (a million through HTTP or one transaction each would take an hour), then `tokend serve`
 * started as its own process with its default settings, except the limits that exist to stop
 * abuse (daily quotas, failed-login limits): a benchmark is, by design, one client hammering.
 */
import { hash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { loadConfig } from '../../src/config/load.ts';
import { apiTokenHint } from '../../src/core/api-tokens.ts';
import { openServices } from '../../src/services.ts';
import { spawnServer, type Server } from './procs.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BENCH_PASSWORD = 'bench-password-0123';
const CTX = { address: 'bench' };

/** Settings every tokend of the bench runs with (the rest are tokend's defaults). */
export const BENCH_ENV: Record<string, string> = {
  TOKEND_HOST: '127.0.0.1',
  TOKEND_CHATAPP_DAILY_MAKE_LIMIT: '1000000',
  TOKEND_SERVICE_DAILY_CREATE_LIMIT: '1000000',
  TOKEND_LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000000',
  TOKEND_LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000',
  // A fixed master key: the fixture and the server must derive the same sealing keys, and the
  // generated-key warning is noise here.
  TOKEND_MASTER_KEY: 'bench-master-key-not-a-secret-0123456789',
  TOKEND_ADMIN_TOKEN: 'bench-admin-token-not-a-secret-0123456789',
};

export interface FixtureOptions {
  /** Organisation API tokens stored (v3). */
  apiTokens: number;
  /** How many of them the load presents (the working set). */
  workingSet: number;
  accounts: number;
  /** ChatApp sessions started for the refresh chains. */
  refreshPool: number;
  /** Service-account keys for hoster create. */
  serviceKeys: number;
  /** PostgreSQL instead of SQLite (TOKEND_DATABASE_URL); the bulk API tokens are SQLite's only. */
  databaseUrl?: string;
}

export interface Fixture {
  dir: string;
  accounts: { id: number; email: string; appId: string }[];
  v3Tokens: string[];
  /** As many more stored v3 tokens, each carrying a rate limit, an IP allow-list and credits (docs/policies.md). */
  policyTokens: string[];
  refreshTokens: string[];
  serviceKeys: { accessKey: string; secretKey: string }[];
  storedApiTokens: number;
  /** SQLite file size after seeding and a checkpoint, bytes. */
  dbBytes: number;
  seedSeconds: number;
  /** Settings of this fixture's database, for every process that opens it (BENCH_ENV aside). */
  env: Record<string, string>;
}

const BATCH = 10_000;

export async function prepareTokend(dir: string, o: FixtureOptions): Promise<Fixture> {
  const t0 = performance.now();
  const env: Record<string, string> = o.databaseUrl ? { TOKEND_DATABASE_URL: o.databaseUrl } : {};
  const config = loadConfig({ env: { ...BENCH_ENV, TOKEND_DATA_DIR: dir, ...env } });
  const services = await openServices(config);
  const { core } = services;
  const accounts: Fixture['accounts'] = [];
  const v3Tokens: string[] = [];
  const refreshTokens: string[] = [];
  const serviceKeys: Fixture['serviceKeys'] = [];
  try {
    for (let i = 0; i < o.accounts; i++) {
      const email = `bench${i}@bench.example`;
      const account = await core.accounts.create({ email, password: BENCH_PASSWORD, name: `bench ${i}` }, CTX);
      const app = await core.accounts.createApp({ accountId: account.id, name: `bench app ${i}` }, CTX);
      accounts.push({ id: account.id, email, appId: app.appId });
      // A few through core, to be sure the bulk rows below look exactly like what core writes.
      v3Tokens.push((await core.apiTokens.create({ accountId: account.id, format: 'v3', label: 'bench' }, CTX)).token);
    }
    const drafts = await Promise.all(
      Array.from({ length: o.refreshPool }, (_, i) => {
        const a = accounts[i % accounts.length]!;
        return core.sessions.draft({ kind: 'chatapp', accountId: a.id, clientId: a.appId, scope: '' });
      }),
    );
    await core.store.transaction(async (tx) => {
      for (const draft of drafts) refreshTokens.push((await core.sessions.start(tx, draft)).refreshToken);
    });
    for (let i = 0; i < o.serviceKeys; i++) {
      const a = accounts[i % accounts.length]!;
      const sa = await core.serviceAccounts.create({ accountId: a.id, name: `bench sa ${i}`, actions: ['dns_orders_list', 'cloud:read'] }, CTX);
      const { key, secretKey } = await core.serviceAccounts.createKey({ serviceAccountId: sa.id }, CTX);
      serviceKeys.push({ accessKey: key.accessKey, secretKey });
    }
  } finally {
    await core.close();
    await services.close();
  }
  if (o.databaseUrl) {
    return { dir, accounts, v3Tokens, policyTokens: [], refreshTokens, serviceKeys, storedApiTokens: v3Tokens.length, dbBytes: 0, seedSeconds: (performance.now() - t0) / 1000, env };
  }

  const file = join(dir, 'tokend.db');
  const db = new DatabaseSync(file);
  try {
    // A fixture, not data anyone depends on: no journal, no fsync, and a page cache that holds the
    // indexes being filled (random keys touch every page); the server gets the file back in WAL mode.
    db.exec('pragma journal_mode = OFF');
    db.exec('pragma synchronous = OFF');
    db.exec('pragma cache_size = -262144');
    const insert = db.prepare(
      `insert into api_tokens (id, account_id, format, hash, hint, label, created_at, expires_at, last_used_at, revoked_at, revoke_reason, replaced_by)
       values (?, ?, 'v3', ?, ?, null, ?, null, null, null, null, null)`,
    );
    const remaining = Math.max(0, o.apiTokens - v3Tokens.length);
    const now = Date.now();
    // Twice the working set is kept: the plain tokens, then as many that carry rules.
    const keep = Math.max(0, 2 * o.workingSet - v3Tokens.length);
    const kept: string[] = [];
    // Spread the kept tokens over the whole range, so the working set is not all at one end of the index.
    const keepEvery = keep > 0 ? Math.max(1, Math.floor(remaining / keep)) : Number.POSITIVE_INFINITY;
    const tokens = randomBytes(16 * remaining);
    const hashes = Buffer.alloc(32 * remaining);
    for (let n = 0; n < remaining; n++) {
      const token = tokens.toString('hex', n * 16, n * 16 + 16);
      (hash('sha256', token, 'buffer') as Buffer).copy(hashes, n * 32);
      if (n % keepEvery === 0 && kept.length < keep) kept.push(token);
    }
    // Rows go in in the order of their hash and get ids in increasing order: both unique indexes
    // then fill page by page instead of touching a random page per row (minutes -> seconds).
    const byHash = sortedOrder(remaining, (n) => hashes.readUInt32BE(n * 32));
    const idBytes = randomBytes(16 * remaining);
    const idOrder = sortedOrder(remaining, (n) => idBytes.readUInt32BE(n * 16));
    const batchOf = (start: number, count: number): void => {
      db.exec('begin');
      for (let k = start; k < start + count; k++) {
        const n = byHash[k]!;
        const i = idOrder[k]!;
        const token = tokens.toString('hex', n * 16, n * 16 + 16);
        insert.run(
          formatUuid(idBytes.toString('hex', i * 16, i * 16 + 16)),
          accounts[n % accounts.length]!.id,
          hashes.toString('hex', n * 32, n * 32 + 32),
          apiTokenHint(token, 'v3'),
          now,
        );
      }
      // No journal: a failure cannot be rolled back, and ends the seed (and the bench) anyway.
      db.exec('commit');
    };
    for (let start = 0; start < remaining; start += BATCH) batchOf(start, Math.min(BATCH, remaining - start));
    // Alternate, so both sets are spread over the whole index.
    const policyTokens: string[] = [];
    for (const [i, token] of kept.entries()) {
      if (i % 2 === 0 && v3Tokens.length < o.workingSet) v3Tokens.push(token);
      else policyTokens.push(token);
    }
    // Rules that never refuse at bench rates (every check is still counted, matched and spent),
    // written as core stores them: a rate limit, a loopback allow-list, credits.
    const rules = JSON.stringify({
      rateLimits: [{ limit: 1_000_000_000, windowSeconds: 60 }],
      credits: { remaining: 1_000_000_000_000, cost: 1, refill: null },
      ipAllowList: ['127.0.0.0/8', '::1'],
      scopes: null,
      expiry: null,
    });
    const findToken = db.prepare('select id, account_id from api_tokens where hash = ?');
    const insertPolicy = db.prepare(
      `insert into policies (subject_kind, subject_id, account_id, rules, credits_remaining, credits_period, credits_refill, updated_at)
       values ('api_token', ?, ?, ?, 1000000000000, 0, null, ?)`,
    );
    db.exec('begin');
    for (const token of policyTokens) {
      const row = findToken.get(hash('sha256', token, 'hex') as string) as { id: string; account_id: number };
      insertPolicy.run(row.id, row.account_id, rules, now);
    }
    db.exec('commit');
    db.exec('analyze');
    db.exec('pragma journal_mode = WAL');
    const pages = (db.prepare('pragma page_count').get() as { page_count: number }).page_count;
    const pageSize = (db.prepare('pragma page_size').get() as { page_size: number }).page_size;
    return {
      dir,
      accounts,
      v3Tokens,
      policyTokens,
      refreshTokens,
      serviceKeys,
      storedApiTokens: remaining + o.accounts,
      dbBytes: pages * pageSize,
      seedSeconds: (performance.now() - t0) / 1000,
      env,
    };
  } finally {
    db.close();
  }
}

/** Indexes 0..count-1 ordered by a 32-bit key: key and index packed in one double, sorted natively. */
function sortedOrder(count: number, key: (n: number) => number): Uint32Array {
  if (count >= 2 ** 21) throw new Error('sortedOrder packs the index in 21 bits');
  const packed = new Float64Array(count);
  for (let n = 0; n < count; n++) packed[n] = key(n) * 2 ** 21 + n;
  packed.sort();
  const order = new Uint32Array(count);
  for (let k = 0; k < count; k++) order[k] = packed[k]! % 2 ** 21;
  return order;
}

function formatUuid(hex: string): string {
  // Version 4 layout, like randomUUID(): the id column holds what core would have generated.
  const h = hex.split('');
  h[12] = '4';
  h[16] = '89ab'[parseInt(h[16]!, 16) & 3]!;
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

export interface TokendProcessOptions {
  name: string;
  dir: string;
  port: number;
  env?: Record<string, string>;
  nodeFlags?: string[];
  /** How long it may take to answer (default 30 s; a loaded machine may need more). */
  timeoutMs?: number;
}

export async function startTokend(o: TokendProcessOptions): Promise<Server> {
  return spawnServer({
    name: o.name,
    args: [join(ROOT, 'bin/tokend.js'), 'serve'],
    env: { ...BENCH_ENV, TOKEND_DATA_DIR: o.dir, TOKEND_PORT: String(o.port), ...o.env },
    port: o.port,
    readyPath: '/healthz',
    logFile: join(o.dir, `${o.name}.log`),
    ...(o.nodeFlags ? { nodeFlags: o.nodeFlags } : {}),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  });
}

/**
 * Starts `count` fresh ChatApp sessions through core (in this process, on the server's database)
 * and returns their refresh tokens: the heads of the rotation chains of one refresh run.
 */
export async function issueRefreshPool(dir: string, accounts: Fixture['accounts'], count: number, env: Record<string, string> = {}): Promise<string[]> {
  const services = await openServices(loadConfig({ env: { ...BENCH_ENV, TOKEND_DATA_DIR: dir, ...env } }), { migrate: false });
  try {
    const { core } = services;
    const drafts = await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const a = accounts[i % accounts.length]!;
        return core.sessions.draft({ kind: 'chatapp', accountId: a.id, clientId: a.appId, scope: '' });
      }),
    );
    return await core.store.transaction(async (tx) => {
      const out: string[] = [];
      for (const draft of drafts) out.push((await core.sessions.start(tx, draft)).refreshToken);
      return out;
    });
  } finally {
    await services.core.close();
    await services.close();
  }
}
