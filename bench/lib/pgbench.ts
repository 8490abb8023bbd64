/**
 * The ceiling of a durable write on PostgreSQL: pgbench (C, libpq, one thread) running a
 * transaction of the same shape as tokend's refresh or service-account token creation: the same
 * tables, the statements tokend sent inside its transaction (copied from log_statement=all) before
 * each became one statement of data-modifying CTEs without BEGIN and COMMIT (src/store/sessions.ts,
 * src/store/service-accounts.ts; kept so that the ratios of before and after compare), extended
 * protocol with unnamed statements as node-postgres sends them, as many clients as tokend's pool
 * has connections, on the same server in the same run.
 *
 * Left out, as from the SQLite floor: what is tokend's design rather than the write itself (the
 * read before the transaction, the audit chain's link, the NOTIFY to other nodes), so that the
 * ratio shows what those cost.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { percentile } from './stats.ts';
import type { WrkResult } from './wrk.ts';

const FAR = 9_000_000_000_000;

/** Sessions and keys the ceiling's clients write on: one refresh chain per client, the fixture's service keys. */
export async function preparePgbench(url: string, clients: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const account = (await c.query<{ id: number }>('select min(id)::int as id from accounts')).rows[0]!.id;
    for (let i = 0; i < clients; i++) {
      const id = `pgbench-${i}`;
      await c.query(
        `insert into sessions (id, account_id, kind, client_id, scope, generation, created_at, expires_at, revoked_at, revoke_reason)
         values ($1, $2, 'chatapp', 'pgbench', '', 1, 0, $3, null, null) on conflict do nothing`,
        [id, account, FAR],
      );
      await c.query(
        `insert into refresh_tokens (hash, session_id, generation, created_at, expires_at, rotated_at)
         values (md5(random()::text) || md5(random()::text), $1, 1, 0, $2, null)`,
        [id, FAR],
      );
    }
  } finally {
    await c.end();
  }
}

/** tokend's refresh transaction (src/core/sessions.ts refresh), one rotation chain per client. */
export const REFRESH_SCRIPT = `
\\if :started = 0
select hash as h from refresh_tokens where session_id = 'pgbench-' || :client_id and rotated_at is null order by generation desc limit 1 \\gset
\\set started 1
\\endif
\\set now 1796208082531
\\set exp ${FAR}
begin;
select "t"."hash", "t"."generation" as "t_generation", "t"."created_at" as "t_created_at", "t"."expires_at" as "t_expires_at", "t"."rotated_at", "a"."status" as "account_status", "s"."id", "s"."account_id", "s"."kind", "s"."client_id", "s"."scope", "s"."generation", "s"."created_at", "s"."expires_at", "s"."revoked_at", "s"."revoke_reason" from "refresh_tokens" as "t" inner join "sessions" as "s" on "s"."id" = "t"."session_id" inner join "accounts" as "a" on "a"."id" = "s"."account_id" where "t"."hash" = :h::text \\gset p_
\\set g1 :p_t_generation + 1
update "refresh_tokens" set "rotated_at" = :now::bigint where "hash" = :h::text and "rotated_at" is null;
update "sessions" set "generation" = :g1::int where "id" = :p_id::text and "generation" = :p_t_generation::int and "revoked_at" is null;
insert into "access_tokens" ("hash", "session_id", "generation", "created_at", "expires_at") values (md5(random()::text) || md5(random()::text), :p_id::text, :g1::int, :now::bigint, :exp::bigint);
insert into "refresh_tokens" ("hash", "session_id", "generation", "created_at", "expires_at", "rotated_at") values (md5(random()::text) || md5(random()::text), :p_id::text, :g1::int, :now::bigint, :exp::bigint, null) returning "hash" as h \\gset
insert into "audit_events" ("at", "type", "account_id", "session_id", "address", "detail") values (:now::bigint, 'session.refreshed', :p_account_id::bigint, :p_id::text, '127.0.0.1', '{"kind":"chatapp","generation":2}');
commit;
`;

/**
 * tokend's hoster.by create transaction (scope text without its colon: pgbench would read
 * `:read` as a variable), spread over the fixture's keys as the load is. */
export const CREATE_SCRIPT = `
\\if :started = 0
select "k"."id" as kid, "k"."service_account_id" as said, "k"."access_key" as ak, "sa"."account_id" as aid from "service_keys" as "k" inner join "service_accounts" as "sa" on "sa"."id" = "k"."service_account_id" order by "k"."id" offset :client_id % (select count(*) from "service_keys") limit 1 \\gset
\\set started 1
\\endif
\\set now 1796208082531
\\set exp ${FAR}
begin;
update "service_accounts" set "last_used_at" = :now::bigint where "id" = :said::bigint and "status" = 'active';
update "service_keys" set "last_used_at" = :now::bigint where "id" = :kid::bigint and "revoked_at" is null and ("expires_at" is null or "expires_at" > :now::bigint);
insert into "counters" ("scope", "window_start", "count", "expires_at") values ('pgbench-create:' || :said::bigint, 1796169600000, 1, 1796256000000) on conflict ("scope", "window_start") do update set "count" = counters.count + 1 where "counters"."count" < 1000000000 returning "count";
insert into "sessions" ("id", "account_id", "kind", "client_id", "scope", "generation", "created_at", "expires_at", "revoked_at", "revoke_reason") values (gen_random_uuid()::text, :aid::bigint, 'service', :ak::text, 'dns_orders_list cloud_read', 1, :now::bigint, :exp::bigint, null, null) returning "id" as sid \\gset
insert into "access_tokens" ("hash", "session_id", "generation", "created_at", "expires_at") values (md5(random()::text) || md5(random()::text), :sid::text, 1, :now::bigint, :exp::bigint);
insert into "refresh_tokens" ("hash", "session_id", "generation", "created_at", "expires_at", "rotated_at") values (md5(random()::text) || md5(random()::text), :sid::text, 1, :now::bigint, :exp::bigint, null);
insert into "audit_events" ("at", "type", "account_id", "session_id", "address", "detail") values (:now::bigint, 'service_token.created', :aid::bigint, :sid::text, '127.0.0.1', '{"serviceAccountId":1,"accessKey":"AKPGBENCH","quotaUsed":1}');
commit;
`;

export interface PgbenchOptions {
  pgbench: string;
  url: string;
  scriptFile: string;
  clients: number;
  durationS: number;
  /** Where the per-transaction latency log goes (a directory of the caller's). */
  logDir: string;
}

let runs = 0;

/** Runs pgbench once; its throughput and latency percentiles in the shape wrk's results have. */
export async function runPgbench(o: PgbenchOptions): Promise<WrkResult> {
  const prefix = join(o.logDir, `pgbench-${process.pid}-${runs++}`);
  const u = new URL(o.url);
  const args = ['-h', u.hostname, '-p', u.port, '-U', decodeURIComponent(u.username), '-n', '-M', 'extended', '-c', String(o.clients), '-j', '1', '-D', 'started=0', '-T', String(o.durationS), '-f', o.scriptFile, '-l', `--log-prefix=${prefix}`, u.pathname.slice(1)];
  const child = spawn(o.pgbench, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (o.durationS + 30) * 1000);
  const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? -1)));
  clearTimeout(killer);
  const processed = /number of transactions actually processed: (\d+)/.exec(out);
  const failed = /number of failed transactions: (\d+)/.exec(out);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  if (code !== 0 || !processed || !tps) throw new Error(`pgbench failed (exit ${code}): ${err || out}`);
  const latencies: number[] = [];
  const dir = o.logDir;
  const base = prefix.slice(dir.length + 1);
  for (const f of readdirSync(dir).filter((n) => n.startsWith(base + '.'))) {
    const file = join(dir, f);
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      // client_id transaction_no time script_no time_epoch time_us: time is the latency in µs.
      const fields = line.split(' ');
      if (fields.length >= 3) latencies.push(Number(fields[2]));
    }
    rmSync(file);
  }
  const requests = Number(processed[1]);
  const rps = Number(tps[1]);
  return {
    requests,
    durationS: requests / rps,
    rps,
    errors: failed ? Number(failed[1]) : 0,
    p50us: percentile(latencies, 50),
    p90us: percentile(latencies, 90),
    p99us: percentile(latencies, 99),
    p999us: percentile(latencies, 99.9),
    meanUs: latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length),
  };
}

export function writeScript(file: string, script: string): string {
  writeFileSync(file, script.trimStart());
  return file;
}
