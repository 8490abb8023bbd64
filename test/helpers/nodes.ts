/**
 * Real `tokend serve` nodes for the multi-node suites (test/multinode.test.ts and
 * test/multinode.outage.test.ts): spawned as an operator would, sharing a master key and an admin
 * token, with what each wrote kept for the secret checks; and the HTTP calls those suites make.
 */
import { strict as assert } from 'node:assert';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/load.ts';
import { openServices, type Services } from '../../src/services.ts';
import { seedAccount } from './harness.ts';
import { pgBinDir } from './pg-cluster.ts';

export const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TOKEND = join(ROOT, 'bin', 'tokend.js');

/** Shared by every node of one deployment (nodes that share a database share it). */
export const MASTER_KEY = `multinode-test-master-key-${randomBytes(16).toString('hex')}`;
export const ADMIN_TOKEN = `multinode-admin-${randomBytes(24).toString('hex')}`;
/** A revocation is seen on every node within 5 s by default. */
export const REVOCATION_BOUND_MS = 5000;

/** Every secret tokend handed out or was given during this file: none may be in a dump or a log. */
export const secrets = new Set<string>([MASTER_KEY, ADMIN_TOKEN]);
export function remember(...values: unknown[]): void {
  for (const v of values) if (typeof v === 'string' && v.length >= 8) secrets.add(v);
}

export interface Node {
  name: string;
  url: string;
  proc: ChildProcess;
  /** Everything the process wrote, stdout and stderr. */
  output: string[];
  stop(): Promise<void>;
}

/** Starts `tokend serve --port 0` and waits for its "listening" line. */
export async function startNode(name: string, db: { url: string; dataDir: string }, env: Record<string, string> = {}): Promise<Node> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TOKEND_')) childEnv[k] = v;
  Object.assign(childEnv, {
    TOKEND_MASTER_KEY: MASTER_KEY,
    TOKEND_ADMIN_TOKEN: ADMIN_TOKEN,
    TOKEND_LOG_LEVEL: 'warn',
    TOKEND_DATABASE_POOL_SIZE: '8',
    // As in test/helpers/harness.ts: no lock queue of a loaded test machine reaches it.
    TOKEND_DATABASE_STATEMENT_TIMEOUT: '120s',
    ...env,
  });
  const proc = spawn(process.execPath, [TOKEND, 'serve', '--port', '0', '--host', '127.0.0.1', '--database-url', db.url, '--data-dir', db.dataDir], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in time:\n${output.join('')}`)), 120_000);
    const onData = (chunk: Buffer): void => {
      output.push(String(chunk));
      const m = /tokend listening on (http:\/\/[^\s]+)/.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (chunk: Buffer) => output.push(String(chunk)));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${output.join('')}`));
    });
  });
  return {
    name,
    url,
    proc,
    output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function alive(node: Node): boolean {
  return node.proc.exitCode === null && node.proc.signalCode === null;
}

export interface Res {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(url: string, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Left as text: the assertion that follows shows it.
  }
  return { status: res.status, body, headers: res.headers };
}

export function make(node: Node, u: { email: string; password: string; appId: string }): Promise<Res> {
  return call(`${node.url}/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: u.email, password: u.password, appId: u.appId }),
  });
}

export function refresh(node: Node, token: string): Promise<Res> {
  return call(`${node.url}/v1/tokens/refresh`, { method: 'POST', headers: { refresh: token } });
}

export function check(node: Node, token: string): Promise<Res> {
  return call(`${node.url}/v1/tokens/check`, { headers: { authorization: token } });
}

/** Remembers the pair of a successful make/refresh (for the dump and log checks). */
export function pairOf(r: Res): { accessToken: string; refreshToken: string } {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  remember(r.body.data.accessToken, r.body.data.refreshToken);
  return r.body.data;
}

/** Polls `probe` until it returns true or `ms` pass; returns whether it did. */
export async function eventually(ms: number, probe: () => Promise<boolean>, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** In-process services on the nodes' database, for seeding (accounts are not created over the wire yet). */
export async function openSeeder(db: { url: string; dataDir: string }): Promise<Services> {
  return openServices(loadConfig({ env: {}, overrides: { databaseUrl: db.url, dataDir: db.dataDir } }));
}

export async function seed(services: Services): Promise<{ accountId: number; email: string; password: string; appId: string }> {
  const u = await seedAccount(services.core);
  remember(u.password);
  return u;
}

export async function pgDump(url: string): Promise<string> {
  const bin = pgBinDir();
  assert.ok(bin, 'pg_dump not found');
  const { stdout } = await run(join(bin, 'pg_dump'), ['--no-owner', '--dbname', url], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

export function assertNoSecretIn(text: string, where: string): void {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} contains an issued secret (${s.slice(0, 6)}…)`);
}

/** A 500 is logged as "unhandled error" (src/http/app.ts): none may have happened on a node. */
export function assertNo500Logged(node: Node): void {
  assert.ok(!node.output.join('').includes('unhandled error'), `node ${node.name} logged an unhandled error:\n${node.output.join('')}`);
}
