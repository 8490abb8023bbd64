/**
 * examples/nginx/nginx.conf against a real nginx (forward-auth): tokend on loopback, a tiny
 * node upstream that reports the headers it received, and nginx between the client and both, run
 * from a temp prefix on random free ports. Valid token -> the upstream sees the user id; revoked
 * token -> 401; no token -> 401. SQLite only: what is under test is the proxy contract.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { freePort, nginxSkip as skip, runNginx } from './helpers/nginx.ts';

const EXAMPLE = new URL('../examples/nginx/nginx.conf', import.meta.url);
const CTX = { address: 'test' };

function replaceOnce(text: string, from: string, to: string): string {
  assert.equal(text.split(from).length, 2, `examples/nginx/nginx.conf no longer has exactly one "${from}"`);
  return text.replace(from, to);
}

/** The example with its addresses swapped for the test's, and every path nginx writes moved into `prefix`. */
function testConfig(prefix: string, ports: { nginx: number; tokend: number; upstream: number }): string {
  let conf = readFileSync(EXAMPLE, 'utf8');
  conf = replaceOnce(conf, 'server 127.0.0.1:8080;', `server 127.0.0.1:${ports.tokend};`);
  conf = replaceOnce(conf, 'server 127.0.0.1:3000;', `server 127.0.0.1:${ports.upstream};`);
  conf = replaceOnce(conf, 'listen 127.0.0.1:8000;', `listen 127.0.0.1:${ports.nginx};`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `  ${k}_temp_path ${join(prefix, `${k}_temp`)};`)
    .join('\n');
  conf = replaceOnce(conf, 'http {\n', `http {\n  access_log ${join(prefix, 'access.log')};\n${temp}\n`);
  // As root, nginx would switch its workers to `nobody`; keep them root so they can use the temp prefix.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}error_log ${join(prefix, 'error.log')} warn;\n${conf}`;
}

describe('nginx auth_request -> GET /auth/verify (examples/nginx/nginx.conf)', { skip }, () => {
  let t: TestTokend;
  let upstream: Server;
  let nginx: { stop(): Promise<void> } | null = null;
  let prefix: string;
  let base: string;
  const seen: Record<string, string | string[] | undefined>[] = [];

  before(async () => {
    t = await startTokend({ db: 'sqlite', listen: true });
    upstream = createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, userId: req.headers['x-tokend-user-id'] ?? null, kind: req.headers['x-tokend-token-kind'] ?? null }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    prefix = mkdtempSync(join(tmpdir(), 'tokend-nginx-'));
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    const ports = {
      nginx: await freePort(),
      tokend: Number(new URL(t.url).port),
      upstream: (upstream.address() as { port: number }).port,
    };
    const conf = join(prefix, 'nginx.conf');
    writeFileSync(conf, testConfig(prefix, ports));
    const running = await runNginx(prefix, conf, ports.nginx);
    nginx = running;
    base = running.base;
  });

  after(async () => {
    await nginx?.stop();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
    await t.close();
    rmSync(prefix, { recursive: true, force: true });
  });

  it('a valid token: the upstream gets the request with X-Tokend-User-Id; a revoked one: 401; none: 401', async () => {
    const user = await seedAccount(t.core);
    const { token, apiToken } = await t.core.apiTokens.create({ accountId: user.accountId, format: 'l3' }, CTX);

    const ok = await fetch(`${base}/orders/42`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { path: '/orders/42', userId: String(user.accountId), kind: 'api_token' });

    const before = seen.length;
    const none = await fetch(`${base}/orders/42`);
    assert.equal(none.status, 401);
    // JSON as tokend itself answers, not nginx's HTML error page.
    assert.match(String(none.headers.get('content-type')), /^application\/json/);
    assert.deepEqual(await none.json(), { error: { code: 'invalid_token', message: 'Missing or invalid token' } });
    assert.match(String(none.headers.get('www-authenticate')), /^Bearer realm="tokend"/);
    const direct = await fetch(`${t.url}/auth/verify`);
    assert.deepEqual(await direct.json(), { error: { code: 'invalid_token', message: 'Missing or invalid token' } }, 'the same body as tokend answers');

    await t.core.apiTokens.revoke(apiToken.id, CTX);
    const revoked = await fetch(`${base}/orders/42`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(revoked.status, 401);
    assert.equal((await revoked.json()).error.code, 'invalid_token');
    assert.equal(seen.length, before, 'the upstream never saw the refused requests');
  });

  it('a client cannot claim an identity: its own X-Tokend-* headers are replaced or dropped', async () => {
    const user = await seedAccount(t.core);
    const { token } = await t.core.apiTokens.create({ accountId: user.accountId }, CTX);
    const spoofOnly = await fetch(`${base}/x`, { headers: { 'x-tokend-user-id': '1' } });
    assert.equal(spoofOnly.status, 401);
    await spoofOnly.text();
    const spoofed = await fetch(`${base}/x`, { headers: { authorization: `Bearer ${token}`, 'x-tokend-user-id': '1', 'x-tokend-scope': 'admin' } });
    assert.equal(spoofed.status, 200);
    assert.equal((await spoofed.json()).userId, String(user.accountId));
    const last = seen[seen.length - 1]!;
    assert.equal(last['x-tokend-user-id'], String(user.accountId));
    assert.equal(last['x-tokend-scope'], undefined, 'an empty scope is not passed, and the client\'s is gone');
  });

  it('a ChatApp access token sent raw works through the proxy too', async () => {
    const user = await seedAccount(t.core);
    const made = await fetch(`${t.url}/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password, appId: user.appId }),
    });
    const { accessToken } = (await made.json()).data;
    const res = await fetch(`${base}/chats`, { headers: { authorization: accessToken } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { path: '/chats', userId: String(user.accountId), kind: 'access' });
  });
});
