/**
 * A throwaway PostgreSQL cluster for the bench: Debian's binaries (/usr/lib/postgresql/<n>/bin,
 * the newest there), initdb in a temp directory, listening only on 127.0.0.1 on a free port,
 * run as the `postgres` user when the bench runs as root (initdb refuses root). Durable as
 * shipped: fsync on, synchronous_commit on, full_page_writes on (PostgreSQL's defaults, stated
 * anyway so that a tuned ~/.postgresqlrc or a packager's default cannot change them).
 *
 * pg_stat_statements is loaded (when installed, tracking the statements clients send, not those
 * run by triggers such as foreign-key checks) so that a run can say how many statements of which
 * kind the server executed per request; it costs a few per cent at most and both the subject and
 * its ceiling pay it.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './procs.ts';

export interface PgCluster {
  bin: string;
  dir: string;
  port: number;
  /** The superuser's URL of database `postgres`. */
  adminUrl: string;
  /** A URL of database `name` on this cluster. */
  urlOf(name: string): string;
  createDatabase(name: string): Promise<string>;
  /** Runs a binary of the cluster's (pgbench, psql) as the cluster's user. */
  binary(name: string): string;
  /** The command prefix that runs a binary as the cluster's user (runuser when root). */
  asOwner(args: string[]): string[];
  statStatements: boolean;
  stop(): Promise<void>;
}

/** The newest Debian PostgreSQL binaries, or null when PostgreSQL is not installed. */
export function pgBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(a) - Number(b));
  const newest = versions.at(-1);
  return newest ? join(root, newest, 'bin') : null;
}

const RUNUSER = existsSync('/usr/sbin/runuser') ? '/usr/sbin/runuser' : 'runuser';

export async function startPgCluster(log: (line: string) => void): Promise<PgCluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL rows need its server and pgbench');
  const root = process.getuid?.() === 0;
  const asOwner = (args: string[]): string[] => (root ? [RUNUSER, '-u', 'postgres', '--', ...args] : args);
  const run = (args: string[]): string => execFileSync(asOwner(args)[0]!, asOwner(args).slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // Its own temp directory (the bench's work directory is root's, mode 0700: postgres cannot enter it).
  const dir = mkdtempSync(join(tmpdir(), 'tokend-bench-pg-'));
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  run([join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  const statStatements = existsSync(join(bin, '..', 'lib', 'pg_stat_statements.so'));
  const port = await freePort();
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-k ${dir}`,
    '-c max_connections=200',
    '-c fsync=on',
    '-c synchronous_commit=on',
    '-c full_page_writes=on',
    ...(statStatements ? ['-c shared_preload_libraries=pg_stat_statements', '-c pg_stat_statements.track=top'] : []),
  ].join(' ');
  run([join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, 'server.log'), '-w', '-o', options, 'start']);
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const urlOf = (name: string): string => `postgres://postgres@127.0.0.1:${port}/${name}`;
  log(`  PostgreSQL ${bin.split('/').at(-2)} on 127.0.0.1:${port} (${dir})`);
  return {
    bin,
    dir,
    port,
    adminUrl,
    urlOf,
    statStatements,
    binary: (name) => join(bin, name),
    asOwner,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`create database ${name}`);
      } finally {
        await c.end();
      }
      if (statStatements) {
        const d = new pg.Client({ connectionString: urlOf(name) });
        await d.connect();
        try {
          await d.query('create extension if not exists pg_stat_statements');
        } finally {
          await d.end();
        }
      }
      return urlOf(name);
    },
    async stop() {
      try {
        run([join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', 'stop']);
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
