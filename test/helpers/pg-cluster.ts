/**
 * A private, throwaway PostgreSQL cluster for tests that stop and restart the database (the shared
 * test cluster of scripts/pg-test-cluster.sh serves every other test and must stay up). Uses the
 * same Debian binaries, runs them as `postgres` when we are root, listens on loopback only.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The newest PostgreSQL bin dir: TOKEND_TEST_PG_BIN (set by scripts/pg-test-cluster.sh) or /usr/lib/postgresql/N/bin. */
export function pgBinDir(): string | null {
  const fromEnv = process.env.TOKEND_TEST_PG_BIN;
  if (fromEnv && existsSync(join(fromEnv, 'pg_ctl'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** runuser, by its path when a root shell's PATH lacks /usr/sbin. */
export const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser'].find((p) => existsSync(p)) ?? 'runuser';

/** Runs a server-side binary (initdb, pg_ctl) as `postgres` when we are root: PostgreSQL refuses to run as root. */
async function asPostgres(bin: string, args: string[]): Promise<string> {
  const [file, argv] = isRoot ? [RUNUSER, ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const { stdout } = await run(file, argv, { timeout: 60_000 });
  return stdout;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class ThrowawayCluster {
  readonly dir: string;
  readonly port: number;
  readonly bin: string;

  private constructor(bin: string, dir: string, port: number) {
    this.bin = bin;
    this.dir = dir;
    this.port = port;
  }

  /** Superuser URL of the cluster's `postgres` database. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** initdb into a new temp dir and start it on a free port. */
  static async create(): Promise<ThrowawayCluster> {
    const bin = pgBinDir();
    if (!bin) throw new Error('PostgreSQL binaries not found (apt-get install postgresql)');
    const dir = mkdtempSync(join(tmpdir(), 'tokend-pg-private-'));
    if (isRoot) chownSync(dir, uidOf('postgres'), gidOf('postgres'));
    await asPostgres(join(bin, 'initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
    const cluster = new ThrowawayCluster(bin, dir, await freePort());
    await cluster.start();
    return cluster;
  }

  async start(): Promise<void> {
    await asPostgres(join(this.bin, 'pg_ctl'), [
      '-D', this.dir, '-l', join(this.dir, 'server.log'), '-w', '-t', '60',
      '-o', `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c max_connections=100`,
      'start',
    ]);
  }

  /** Fast shutdown: open sessions are terminated, as when an operator restarts the database. */
  async stop(): Promise<void> {
    await asPostgres(join(this.bin, 'pg_ctl'), ['-D', this.dir, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  async destroy(): Promise<void> {
    try {
      await this.stop();
    } catch {
      // Already stopped.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function uidOf(user: string): number {
  return idOf(user, 2);
}
function gidOf(user: string): number {
  return idOf(user, 3);
}
function idOf(user: string, field: number): number {
  // /etc/passwd: name:x:uid:gid:…; no dependency on `id` output parsing.
  const line = readPasswd().find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no user ${user}`);
  return Number(line.split(':')[field]);
}
let passwd: string[] | null = null;
function readPasswd(): string[] {
  passwd ??= readFileSync('/etc/passwd', 'utf8').split('\n');
  return passwd;
}
