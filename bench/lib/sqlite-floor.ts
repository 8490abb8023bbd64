/**
 * The storage floor of a durable write: the statements tokend runs for one refresh (or one
 * service-account token creation), written by hand with node:sqlite, prepared once, 32 per
 * COMMIT, on tokend's own schema with its own settings (WAL, synchronous=FULL, checkpoints on a
 * thread of their own, time-ordered session ids). No Kysely, no HTTP, no JSON: what SQLite alone
 * costs on this machine, so that the durable rows of the results can show how far above it tokend
 * is and where the ceiling is.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { BACKSTOP_WAL_PAGES, Checkpointer } from '../../src/store/checkpointer.ts';
import { createStore } from '../../src/store/database.ts';
import { openSqlite } from '../../src/store/dialect.ts';
import { newRecordId } from '../../src/secrets/tokens.ts';
import { RefreshWriter } from './refresh-writer.ts';

const BATCH = 32;

export interface FloorResult {
  refreshPerS: number;
  createPerS: number;
}

function hex(): string {
  return createHash('sha256').update(randomBytes(20)).digest('hex');
}

/** Runs each workload for `durationMs`, wall clock, one thread. */
export async function sqliteFloor(durationMs: number): Promise<FloorResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tokend-bench-floor-'));
  const file = join(dir, 'floor.db');
  const store = createStore(openSqlite(file));
  await store.migrate();
  await store.close();
  const db = new DatabaseSync(file);
  // As tokend: checkpoints on a thread of their own, the writer's own only as a backstop.
  const checkpointer = new Checkpointer(file);
  try {
    db.exec('pragma journal_mode = WAL');
    db.exec('pragma synchronous = FULL');
    db.exec('pragma foreign_keys = ON');
    db.exec(`pragma wal_autocheckpoint = ${BACKSTOP_WAL_PAGES}`);
    db.prepare(`insert into accounts (id, uid, email, password_hash, name, status, is_demo, created_at) values (1, ?, 'floor@bench.example', 'x', null, 'active', 0, 0)`).run(randomUUID());
    db.prepare(`insert into service_accounts (id, account_id, name, actions, status, created_at, last_used_at) values (1, 1, 'floor', 'a b', 'active', 0, null)`).run();
    db.prepare(
      `insert into service_keys (id, service_account_id, access_key, secret_hash, secret_hint, created_at, expires_at, revoked_at, last_used_at) values (1, 1, 'AKFLOOR', ?, 'tds_…', 0, null, null, null)`,
    ).run(hex());
    const insSession = db.prepare(
      `insert into sessions (id, account_id, kind, client_id, scope, generation, created_at, expires_at, revoked_at, revoke_reason) values (?, 1, ?, ?, '', 1, ?, ?, null, null)`,
    );
    const insAccess = db.prepare('insert into access_tokens (hash, session_id, generation, created_at, expires_at) values (?, ?, ?, ?, ?)');
    const insRefresh = db.prepare('insert into refresh_tokens (hash, session_id, generation, created_at, expires_at, rotated_at) values (?, ?, ?, ?, ?, null)');
    const audit = db.prepare(`insert into audit_events (at, type, account_id, session_id, address, detail) values (?, ?, 1, ?, '127.0.0.1', ?)`);
    const claimSa = db.prepare(`update service_accounts set last_used_at = ? where id = 1 and status = 'active'`);
    const claimKey = db.prepare('update service_keys set last_used_at = ? where id = 1 and revoked_at is null and (expires_at is null or expires_at > ?)');
    const quota = db.prepare(
      `insert into counters (scope, window_start, count, expires_at) values ('floor', 0, 1, 9e15) on conflict (scope, window_start) do update set count = counters.count + 1 returning count`,
    );
    const far = 9e15;

    // The refresh: the statements of bench/lib/refresh-writer.ts, on a connection of their own.
    const refresher = new RefreshWriter(file, BACKSTOP_WAL_PAGES, 'FULL');
    let n = 0;
    let t0 = performance.now();
    try {
      while (performance.now() - t0 < durationMs) {
        refresher.batch(BATCH);
        n += BATCH;
      }
    } finally {
      refresher.close();
    }
    const refreshPerS = n / ((performance.now() - t0) / 1000);

    // Creation: the same writes as tokend's, and an Ed25519 signature (node:crypto, synchronous: its cheapest form).
    const { privateKey } = generateKeyPairSync('ed25519');
    const header = Buffer.from('{"alg":"EdDSA","typ":"at+jwt","kid":"floor"}').toString('base64url');
    const createBatch = transaction(db, () => {
      for (let k = 0; k < BATCH; k++) {
        const now = Date.now();
        claimSa.run(now);
        claimKey.run(now, now);
        quota.get();
        const id = newRecordId();
        insSession.run(id, 'service', 'AKFLOOR', now, far);
        const payload = Buffer.from(
          JSON.stringify({ scope: 'a b', client_id: 'AKFLOOR', iss: 'tokend', sub: '1', aud: 'tokend-api', iat: now, exp: now + 3600, jti: randomUUID() }),
        ).toString('base64url');
        const jwt = `${header}.${payload}.${sign(null, Buffer.from(`${header}.${payload}`), privateKey).toString('base64url')}`;
        insAccess.run(createHash('sha256').update(jwt).digest('hex'), id, 1, now, far);
        insRefresh.run(hex(), id, 1, now, far);
        audit.run(now, 'service_token.created', id, '{"serviceAccountId":1,"accessKey":"AKFLOOR","quotaUsed":1}');
        n++;
      }
    });
    t0 = performance.now();
    n = 0;
    while (performance.now() - t0 < durationMs) createBatch();
    const createPerS = n / ((performance.now() - t0) / 1000);
    return { refreshPerS, createPerS };
  } finally {
    await checkpointer.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `fn` inside BEGIN ... COMMIT, rolled back when it throws. */
function transaction(db: DatabaseSync, fn: () => void): () => void {
  return () => {
    db.exec('begin');
    try {
      fn();
      db.exec('commit');
    } catch (error) {
      db.exec('rollback');
      throw error;
    }
  };
}
