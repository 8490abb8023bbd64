/**
 * Graceful shutdown of a real `tokend serve` under load: SIGTERM turns /readyz to 503 at once,
 * the node keeps answering while it drains (every answer closing its connection), then stops
 * accepting, finishes what is in flight, writes the batched usage counts and exits 0. The clients
 * behave like a load balancer's: they send until /readyz says `draining`. No request is cut (not
 * even one whose body is still arriving when the node stops accepting), and no write is lost:
 * every token a client was given works afterwards, and the usage count equals the checks answered.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.ts';
import { openServices } from '../src/services.ts';
import { createTestDatabase, databases, seedAccount, type TestDatabase } from './helpers/harness.ts';

const TOKEND = fileURLToPath(new URL('../bin/tokend.js', import.meta.url));
const MASTER_KEY = `shutdown-test-master-key-${randomBytes(16).toString('hex')}`;
const ADMIN_TOKEN = `shutdown-admin-${randomBytes(24).toString('hex')}`;

function configFor(db: TestDatabase): ReturnType<typeof loadConfig> {
  return loadConfig({ env: { TOKEND_MASTER_KEY: MASTER_KEY, TOKEND_ADMIN_TOKEN: ADMIN_TOKEN }, overrides: { dataDir: db.dataDir, databaseUrl: db.url } });
}

/** The code of a failed fetch's cause (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, …). */
function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}

for (const kind of databases()) {
  describe(`SIGTERM under load (${kind})`, () => {
    let db: TestDatabase;
    let seeded: { accountId: number; email: string; password: string; appId: string; v3: string };
    before(async () => {
      db = await createTestDatabase(kind);
      const services = await openServices(configFor(db));
      try {
        const u = await seedAccount(services.core);
        const { token } = await services.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, { address: 'test' });
        seeded = { ...u, v3: token };
      } finally {
        await services.close();
      }
    });
    after(async () => db.drop());

    it('drains, finishes in-flight requests, flushes usage, exits 0; nothing cut, nothing lost', async () => {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TOKEND_')) env[k] = v;
      Object.assign(env, { TOKEND_MASTER_KEY: MASTER_KEY, TOKEND_ADMIN_TOKEN: ADMIN_TOKEN, TOKEND_LOG_LEVEL: 'info', TOKEND_SHUTDOWN_DRAIN: '1500ms', TOKEND_SHUTDOWN_TIMEOUT: '10s' });
      const child = spawn(process.execPath, [TOKEND, 'serve', '--port', '0', '--database-url', db.url, '--data-dir', db.dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      for (let i = 0; !/tokend listening on/.test(output); i++) {
        assert.ok(i < 600 && child.exitCode === null, `tokend did not start:\n${output}`);
        await sleep(100);
      }
      const base = /tokend listening on (http:\/\/\S+)/.exec(output)![1]!;

      let signalled = false;
      // What a load balancer does: route no new request to a node whose /readyz is not 200.
      let routed = true;
      const errors: string[] = [];
      const statuses = new Map<number, number>();
      let checksOk = 0;
      let answeredAfterSignal = 0;
      const tokens: string[] = [];
      const deadline = Date.now() + 30_000;
      async function worker(request: () => Promise<Response>, onOk: (res: Response) => Promise<void>): Promise<void> {
        while (routed && Date.now() < deadline) {
          let res: Response;
          try {
            res = await request();
          } catch (error) {
            errors.push(errorCode(error));
            if (errors.length > 20) return;
            continue;
          }
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (signalled) answeredAfterSignal++;
          if (res.status === 200) await onOk(res);
          else await res.text();
        }
      }
      const check = (): Promise<Response> => fetch(`${base}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${seeded.v3}`, accept: 'application/json' } });
      const make = (): Promise<Response> =>
        fetch(`${base}/v1/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: seeded.email, password: seeded.password, appId: seeded.appId }),
        });
      const readiness: string[] = [];
      const watchReady = (async () => {
        while (child.exitCode === null) {
          try {
            const res = await fetch(`${base}/readyz`);
            const { status } = (await res.json()) as { status: string };
            readiness.push(`${res.status} ${status}`);
            if (status === 'draining') routed = false;
          } catch {
            return;
          }
          await sleep(100);
        }
      })();
      const load = Promise.all([
        ...Array.from({ length: 6 }, () =>
          worker(check, async (res) => {
            const body = (await res.json()) as { data?: { userId?: string } };
            assert.ok(body.data?.userId, JSON.stringify(body));
            checksOk++;
          }),
        ),
        ...Array.from({ length: 2 }, () =>
          worker(make, async (res) => {
            const body = (await res.json()) as { data: { accessToken: string } };
            tokens.push(body.data.accessToken);
          }),
        ),
      ]);
      await sleep(1500);
      // A request in flight across the whole drain: its body is still arriving when the node stops accepting.
      const body = JSON.stringify({ email: seeded.email, password: seeded.password, appId: seeded.appId });
      const port = Number(new URL(base).port);
      const straddling = new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let answer = '';
        socket.on('data', (d: Buffer) => (answer += d.toString()));
        socket.on('error', (e) => (answer += `\n[${(e as NodeJS.ErrnoException).code}]`));
        socket.on('close', () => resolve(answer));
        socket.write(`POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`);
        setTimeout(() => socket.write(body.slice(10)), 2500);
      });
      await sleep(100);
      signalled = true;
      const signalledAt = readiness.length;
      child.kill('SIGTERM');
      await load;
      const late = await straddling;
      assert.match(late, /^HTTP\/1\.1 200 /, `${late}\n${output}`);
      tokens.push((JSON.parse(late.slice(late.indexOf('\r\n\r\n') + 4)) as { data: { accessToken: string } }).data.accessToken);
      const code = await exited;
      await watchReady;

      assert.equal(code, 0, output);
      assert.deepEqual(errors, [], `requests were cut: ${errors.join(', ')}\n${output}`);
      assert.deepEqual([...statuses.keys()], [200], `answers other than 200: ${JSON.stringify([...statuses])}`);
      assert.ok(answeredAfterSignal > 0, 'nothing was answered while draining');
      assert.ok(readiness.slice(signalledAt).includes('503 draining'), `readiness after SIGTERM: ${readiness.slice(signalledAt).join(', ')}`);
      assert.match(output, /shutting down: draining/);
      assert.ok(checksOk > 0 && tokens.length > 0);

      const services = await openServices(configFor(db));
      try {
        // Every token handed out is stored: a write acknowledged before the exit survived it.
        for (const token of tokens) {
          const outcome = await services.core.verification.check(token, { accept: ['access'], address: 'test' });
          assert.equal(outcome.ok, true, `a token given to a client does not work after the restart`);
        }
        // Usage counts live in memory between flushes: the shutdown wrote every one of them.
        const days = await services.core.usage.checksPerDay(seeded.accountId, 2);
        const counted = days.reduce((sum, d) => sum + d.count, 0);
        assert.equal(counted, checksOk, 'checks counted in the database vs checks answered');
      } finally {
        await services.close();
      }
    });
  });
}
