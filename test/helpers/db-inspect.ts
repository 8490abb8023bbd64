/**
 * Reads a tokend database from the outside, for the fuzz and crash tests: every table's rows
 * (to prove a rejected request changed nothing), and the invariants that must hold whatever
 * happened to the process (to prove a SIGKILL left nothing half-written).
 *
 * Tables are listed from the database itself, so tables added by later migrations are covered
 * without touching this file.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DbKind } from './harness.ts';

/** Bookkeeping columns that successful authentication may touch; never a security decision. */
const VOLATILE_COLUMNS = new Set(['last_used_at', 'last_seen_at']);
/** Append-only logs: a rejected request may add to them (a failed login is audited), never rewrite them. */
const APPEND_ONLY_TABLES = new Set(['audit_events']);
/**
 * Counter scopes a rejected request is meant to move: failed-login and wrong-credential limits and the
 * in-memory usage figures flushed in the background. Every other counter (the daily quota) must
 * stay put.
 */
const MOVABLE_COUNTER_SCOPES = [/^login-fail:/, /^cred-fail:/, /^checks:/, /^client:/, /^token:/];
/** Tables of figures a background timer adds to (the operator dashboard's): left out of snapshots. */
const BACKGROUND_TABLES = new Set(['traffic_stats']);
/** Pseudo-table of a snapshot: the sessions with reuse-detection revocations undone. */
const REUSE = 'sessions#reuse-undone';

export async function listTables(db: Kysely<any>, kind: DbKind): Promise<string[]> {
  const rows =
    kind === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db);
  return rows.rows.map((r) => r.name).filter((n) => !n.startsWith('kysely_migration')).sort();
}

export interface TableState {
  /** Row count (every table). */
  count: number;
  /** A hash over the sorted rows, volatile columns and movable counters left out (null for append-only tables). */
  hash: string | null;
  /** The rows themselves, for a readable diff (SQLite only; null for append-only tables). */
  rows: string[] | null;
}

export type Snapshot = Map<string, TableState>;

function canonicalRow(row: Record<string, unknown>): string {
  const keys = Object.keys(row)
    .filter((k) => !VOLATILE_COLUMNS.has(k))
    .sort();
  // Numbers come back as number from SQLite and as number or string from pg: normalise to string.
  return JSON.stringify(keys.map((k) => [k, row[k] === null || row[k] === undefined ? null : String(row[k])]));
}

async function columnsOf(db: Kysely<any>, kind: DbKind, table: string): Promise<string[]> {
  const r =
    kind === 'sqlite'
      ? await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db)
      : await sql<{ name: string }>`select column_name as name from information_schema.columns
          where table_schema = current_schema() and table_name = ${table} order by ordinal_position`.execute(db);
  return r.rows.map((c) => c.name);
}

/**
 * Takes snapshots of every table, cheaply enough to run around each fuzzed request: SQLite reads
 * the rows (in process, so it keeps them for a readable diff); PostgreSQL hashes each table on
 * the server in one round trip. Volatile columns and movable counters are left out; append-only
 * tables are counted only (they may grow).
 */
export class Snapshotter {
  readonly #db: Kysely<any>;
  #tables: { name: string; columns: string[] }[] = [];
  #pgQuery: ReturnType<typeof sql.raw> | null = null;

  private constructor(db: Kysely<any>) {
    this.#db = db;
  }

  static async create(db: Kysely<any>, kind: DbKind): Promise<Snapshotter> {
    const s = new Snapshotter(db);
    for (const name of await listTables(db, kind)) {
      if (BACKGROUND_TABLES.has(name)) continue;
      s.#tables.push({ name, columns: (await columnsOf(db, kind, name)).filter((c) => !VOLATILE_COLUMNS.has(c)) });
    }
    if (kind === 'postgres') {
      const parts = s.#tables.map(({ name, columns }) => {
        const ident = (x: string): string => `"${x.replace(/"/g, '""')}"`;
        if (APPEND_ONLY_TABLES.has(name)) return `select '${name}' as t, count(*) as n, null as h from ${ident(name)}`;
        const row = `json_build_array(${columns.map((c) => `${ident(c)}::text`).join(', ')})::text`;
        const where =
          name === 'counters'
            ? ` where scope not like 'login-fail:%' and scope not like 'cred-fail:%' and scope not like 'checks:%' and scope not like 'client:%' and scope not like 'token:%'`
            : '';
        return `select '${name}' as t, (select count(*) from ${ident(name)}) as n,
          md5(coalesce(string_agg(${row}, '|' order by ${row}), '')) as h from ${ident(name)}${where}`;
      });
      if (s.#tables.some((t) => t.name === 'sessions')) {
        // The sessions as they would be had no reuse detection revoked any (see REUSE below).
        const cols = s.#tables.find((t) => t.name === 'sessions')!.columns;
        const cell = (c: string): string =>
          c === 'revoked_at' || c === 'revoke_reason' ? `(case when revoke_reason = 'refresh_token_reuse' then null else "${c}" end)::text` : `"${c}"::text`;
        const row = `json_build_array(${cols.map(cell).join(', ')})::text`;
        parts.push(`select '${REUSE}' as t, count(*) filter (where revoke_reason = 'refresh_token_reuse') as n,
          md5(coalesce(string_agg(${row}, '|' order by ${row}), '')) as h from sessions`);
      }
      s.#pgQuery = sql.raw(parts.join(' union all '));
    }
    return s;
  }

  get tables(): string[] {
    return this.#tables.map((t) => t.name);
  }

  async take(): Promise<Snapshot> {
    const out: Snapshot = new Map();
    if (this.#pgQuery) {
      const r = await this.#pgQuery.execute(this.#db);
      for (const row of r.rows as { t: string; n: number | string; h: string | null }[]) {
        out.set(row.t, { count: Number(row.n), hash: row.h, rows: null });
      }
      return out;
    }
    for (const { name } of this.#tables) {
      if (APPEND_ONLY_TABLES.has(name)) {
        const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(name)}`.execute(this.#db);
        out.set(name, { count: Number(r.rows[0]!.n), hash: null, rows: null });
        continue;
      }
      const r = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(this.#db);
      let rows = r.rows;
      if (name === 'counters') rows = rows.filter((row) => !MOVABLE_COUNTER_SCOPES.some((re) => re.test(String(row.scope))));
      const canon = rows.map(canonicalRow).sort();
      out.set(name, { count: r.rows.length, hash: createHash('sha256').update(canon.join('\n')).digest('hex'), rows: canon });
      if (name === 'sessions') {
        const reused = (row: Record<string, unknown>): boolean => row.revoke_reason === 'refresh_token_reuse';
        const unrevoked = rows.map((row) => canonicalRow(reused(row) ? { ...row, revoked_at: null, revoke_reason: null } : row)).sort();
        out.set(REUSE, { count: rows.filter(reused).length, hash: createHash('sha256').update(unrevoked.join('\n')).digest('hex'), rows: null });
      }
    }
    return out;
  }
}

/** Full rows of the append-only tables, for a before/after check at the ends of a run. */
export async function appendOnlyRows(db: Kysely<any>, kind: DbKind): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const table of await listTables(db, kind)) {
    if (!APPEND_ONLY_TABLES.has(table)) continue;
    const r = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db);
    out.set(table, r.rows.map(canonicalRow));
  }
  return out;
}

export interface RowChange {
  table: string;
  removed: string[];
  added: string[];
}

/**
 * What changed between two snapshots, beyond what is allowed (append-only tables growing,
 * volatile columns, movable counters). Empty when nothing did.
 */
export function diffSnapshots(before: Snapshot, after: Snapshot): RowChange[] {
  const changes: RowChange[] = [];
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    if (table === REUSE) continue;
    const a = before.get(table);
    const b = after.get(table);
    if (!a || !b) {
      changes.push({ table, removed: a ? ['(table disappeared)'] : [], added: b ? ['(table appeared)'] : [] });
      continue;
    }
    if (a.hash === null || b.hash === null) {
      if (b.count < a.count) changes.push({ table, removed: [`${a.count - b.count} rows of an append-only table`], added: [] });
      continue;
    }
    if (a.hash === b.hash) continue;
    if (!a.rows || !b.rows) {
      changes.push({ table, removed: [`(rows hashed on the server: ${a.count} before)`], added: [`(${b.count} after)`] });
      continue;
    }
    const setB = new Set(b.rows);
    const setA = new Set(a.rows);
    changes.push({ table, removed: a.rows.filter((r) => !setB.has(r)), added: b.rows.filter((r) => !setA.has(r)) });
  }
  return changes;
}

/**
 * True when the only change between two snapshots is sessions revoked by refresh-token reuse
 * detection: the documented answer to a replayed refresh token (RFC 9700 4.14.2) is a 401 that
 * revokes the session it names, the one rejection that is meant to write.
 */
export function onlyReuseRevocations(before: Snapshot, after: Snapshot): boolean {
  const changes = diffSnapshots(before, after);
  const a = before.get(REUSE);
  const b = after.get(REUSE);
  return changes.every((c) => c.table === 'sessions') && !!a && !!b && a.hash === b.hash && b.count > a.count;
}

/** Rows of `before` missing from `after` (multiset): an append-only table must only grow. */
export function missingRows(before: string[], after: string[]): string[] {
  const counts = new Map<string, number>();
  for (const r of after) counts.set(r, (counts.get(r) ?? 0) + 1);
  const missing: string[] = [];
  for (const r of before) {
    const n = counts.get(r) ?? 0;
    if (n === 0) missing.push(r);
    else counts.set(r, n - 1);
  }
  return missing;
}

async function rows<T>(db: Kysely<any>, query: ReturnType<typeof sql<T>>): Promise<T[]> {
  return (await query.execute(db)).rows;
}

export interface InvariantReport {
  violations: string[];
  /** Figures for the report: rows per table and what was checked. */
  figures: Record<string, number>;
}

/**
 * Invariants of a tokend database that must hold after any crash:
 * - the database file itself is sound (SQLite `integrity_check` and `foreign_key_check`);
 * - no token row points at a missing session, no session at a missing account;
 * - a session has exactly one refresh token and one access token per generation (generations count
 *   from 1) up to its current one (rotation wrote its whole new pair or nothing), and no more: no
 *   refresh token has two successors;
 * - every refresh token of a past generation is claimed, the current one is not (one claim per
 *   generation: the claim and the new pair commit together);
 * - no quota counter is above its limit, and each equals the sessions it paid for (the unit and
 *   the session commit together).
 */
export async function checkInvariants(
  db: Kysely<any>,
  kind: DbKind,
  options: { dailyMakeLimit: number; serviceDailyCreateLimit: number },
): Promise<InvariantReport> {
  const violations: string[] = [];
  const figures: Record<string, number> = {};
  if (kind === 'sqlite') {
    const integrity = await rows<{ integrity_check: string }>(db, sql`pragma integrity_check`);
    const text = integrity.map((r) => r.integrity_check).join('; ');
    if (text !== 'ok') violations.push(`PRAGMA integrity_check: ${text}`);
    const fk = await rows<Record<string, unknown>>(db, sql`pragma foreign_key_check`);
    if (fk.length) violations.push(`PRAGMA foreign_key_check: ${JSON.stringify(fk.slice(0, 5))}`);
  }
  const tables = await listTables(db, kind);
  for (const table of tables) {
    const r = await rows<{ n: number | string }>(db, sql`select count(*) as n from ${sql.table(table)}`);
    figures[`rows.${table}`] = Number(r[0]!.n);
  }

  for (const table of ['access_tokens', 'refresh_tokens']) {
    const orphans = await rows<{ n: number | string }>(
      db,
      sql`select count(*) as n from ${sql.table(table)} t left join sessions s on s.id = t.session_id where s.id is null`,
    );
    if (Number(orphans[0]!.n)) violations.push(`${table}: ${orphans[0]!.n} rows without a session`);
    const dup = await rows<{ session_id: string; generation: number; n: number | string }>(
      db,
      sql`select session_id, generation, count(*) as n from ${sql.table(table)} group by session_id, generation having count(*) > 1`,
    );
    for (const d of dup.slice(0, 5)) violations.push(`${table}: session ${d.session_id} has ${d.n} tokens of generation ${d.generation}`);
    const beyond = await rows<{ n: number | string }>(
      db,
      sql`select count(*) as n from ${sql.table(table)} t join sessions s on s.id = t.session_id where t.generation > s.generation`,
    );
    if (Number(beyond[0]!.n)) violations.push(`${table}: ${beyond[0]!.n} tokens of a generation the session never reached`);
    const gaps = await rows<{ id: string; generation: number; n: number | string }>(
      db,
      sql`select s.id, s.generation, count(t.hash) as n from sessions s left join ${sql.table(table)} t on t.session_id = s.id
          group by s.id, s.generation having count(t.hash) <> s.generation`,
    );
    for (const g of gaps.slice(0, 5)) {
      violations.push(`${table}: session ${g.id} at generation ${g.generation} has ${g.n} tokens (a pair was half-written or lost)`);
    }
  }
  const orphanSessions = await rows<{ n: number | string }>(
    db,
    sql`select count(*) as n from sessions s left join accounts a on a.id = s.account_id where a.id is null`,
  );
  if (Number(orphanSessions[0]!.n)) violations.push(`sessions: ${orphanSessions[0]!.n} without an account`);

  const claims = await rows<{ session_id: string; generation: number; rotated_at: unknown; current: number }>(
    db,
    sql`select r.session_id, r.generation, r.rotated_at, s.generation as current
        from refresh_tokens r join sessions s on s.id = r.session_id
        where (r.generation < s.generation and r.rotated_at is null) or (r.generation = s.generation and r.rotated_at is not null)`,
  );
  for (const c of claims.slice(0, 5)) {
    violations.push(
      c.generation < c.current
        ? `refresh_tokens: session ${c.session_id} generation ${c.generation} was superseded but never claimed`
        : `refresh_tokens: session ${c.session_id} current generation ${c.generation} is claimed without a successor`,
    );
  }
  figures['sessions.rotations'] = Number(
    (await rows<{ n: number | string | null }>(db, sql`select coalesce(sum(generation), 0) as n from sessions`))[0]!.n ?? 0,
  );

  const counters = await rows<{ scope: string; window_start: number | string; count: number | string }>(
    db,
    sql`select scope, window_start, count from counters where scope like 'make:%'`,
  );
  figures['quota.counters'] = counters.length;
  for (const c of counters) {
    const count = Number(c.count);
    if (count > options.dailyMakeLimit) violations.push(`counters: ${c.scope} at ${count}, above the limit ${options.dailyMakeLimit}`);
    // make:<email>:<appId>; the app id cannot contain ':' but an email could, so split at the last one.
    const rest = c.scope.slice('make:'.length);
    const cut = rest.lastIndexOf(':');
    const appId = rest.slice(cut + 1);
    const start = Number(c.window_start);
    // A deleted app (or account) takes its sessions with it; its day's count stays until it expires.
    const app = await rows<{ n: number | string }>(db, sql`select count(*) as n from apps where app_id = ${appId}`);
    if (Number(app[0]!.n) === 0) continue;
    const paid = await rows<{ n: number | string }>(
      db,
      sql`select count(*) as n from sessions where kind = 'chatapp' and client_id = ${appId}
          and created_at >= ${start} and created_at < ${start + 86_400_000}`,
    );
    if (Number(paid[0]!.n) !== count) {
      violations.push(`counters: ${c.scope} says ${count} tokens.make, the database has ${paid[0]!.n} sessions for it`);
    }
  }

  // service-create:<key id>: token creations per service-account key per day.
  const created = await rows<{ scope: string; window_start: number | string; count: number | string }>(
    db,
    sql`select scope, window_start, count from counters where scope like 'service-create:%'`,
  );
  figures['quota.serviceCounters'] = created.length;
  for (const c of created) {
    const count = Number(c.count);
    if (count > options.serviceDailyCreateLimit) {
      violations.push(`counters: ${c.scope} at ${count}, above the limit ${options.serviceDailyCreateLimit}`);
    }
    const keyId = Number(c.scope.slice('service-create:'.length));
    const start = Number(c.window_start);
    // A deleted account takes its keys and their sessions with it; the key's day keeps its count
    // until it expires (key ids are never reused, so no later key is charged with it).
    const key = await rows<{ n: number | string }>(db, sql`select count(*) as n from service_keys where id = ${keyId}`);
    if (Number(key[0]!.n) === 0) continue;
    const paid = await rows<{ n: number | string }>(
      db,
      sql`select count(*) as n from sessions s join service_keys k on k.access_key = s.client_id
          where s.kind = 'service' and k.id = ${keyId} and s.created_at >= ${start} and s.created_at < ${start + 86_400_000}`,
    );
    if (Number(paid[0]!.n) !== count) {
      violations.push(`counters: ${c.scope} says ${count} token creations, the database has ${paid[0]!.n} sessions for it`);
    }
  }
  return { violations, figures };
}
