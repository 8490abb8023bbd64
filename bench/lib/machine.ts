/** What the numbers were measured on: machine, load, versions. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { DatabaseSync } from 'node:sqlite';
import { wrkVersion } from './wrk.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const require = createRequire(ROOT + 'package.json');

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  virtualised: string | null;
  node: string;
  versions: Record<string, string>;
  loadBefore: number[];
}

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    // Packages whose exports hide package.json: read it from node_modules directly.
    try {
      return (JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  }
}

function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    return /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

function hypervisor(): string | null {
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return /^Hypervisor vendor:\s*(.+)$/m.exec(out)?.[1]?.trim() ?? null;
  } catch {
    return null;
  }
}

function gitRevision(): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${rev} + uncommitted changes in src/` : rev;
  } catch {
    return 'unknown';
  }
}

function sqliteVersion(): string {
  const db = new DatabaseSync(':memory:');
  try {
    return (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}

export function describeMachine(): Machine {
  const tokend = JSON.parse(readFileSync(ROOT + 'package.json', 'utf8')) as { version: string };
  return {
    cores: availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    virtualised: hypervisor(),
    node: process.version,
    versions: {
      tokend: `${tokend.version} (${gitRevision()})`,
      'oidc-provider': packageVersion('oidc-provider'),
      fastify: packageVersion('fastify'),
      jose: packageVersion('jose'),
      '@node-rs/argon2': packageVersion('@node-rs/argon2'),
      SQLite: `${sqliteVersion()} (node:sqlite)`,
      wrk: wrkVersion() ?? 'missing',
    },
    loadBefore: loadavg(),
  };
}
