/**
 * The client address behind reverse proxies: only the proxies in TOKEND_TRUSTED_PROXIES are
 * believed, the address is the right-most X-Forwarded-For entry that is not one of them, and a
 * client that forges the header changes neither the address the audit log records nor the limits
 * it runs into. Checked through inject() on SQLite and PostgreSQL, and through a real nginx
 * configured as docs/operations.md says.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { nginxSkip, startNginx, type RunningNginx } from './helpers/nginx.ts';

describe('TOKEND_TRUSTED_PROXIES', () => {
  it('takes addresses and CIDR ranges, IPv4 and IPv6, and the named ranges', () => {
    const c = loadConfig({ env: { TOKEND_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8 ,loopback' } });
    assert.deepEqual(c.trustedProxies, ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback']);
    assert.deepEqual(loadConfig({ env: {} }).trustedProxies, []);
  });

  it('stops the start on a bad entry, naming the setting and the entry', () => {
    for (const bad of ['10.0.0.0/33', 'proxy.internal', '300.1.1.1', '::1/129', '10.0.0.1, nope']) {
      assert.throws(
        () => loadConfig({ env: { TOKEND_TRUSTED_PROXIES: bad } }),
        (e: unknown) => e instanceof ConfigError && e.message.includes('TOKEND_TRUSTED_PROXIES') && e.message.includes(JSON.stringify(bad.split(',').pop()!.trim())),
        bad,
      );
    }
  });

  it('refuses TOKEND_TRUST_PROXY=true and says what to set instead', () => {
    for (const on of ['true', '1', 'yes']) {
      assert.throws(
        () => loadConfig({ env: { TOKEND_TRUST_PROXY: on } }),
        (e: unknown) => e instanceof ConfigError && /TOKEND_TRUST_PROXY/.test(e.message) && /TOKEND_TRUSTED_PROXIES=/.test(e.message),
      );
    }
    assert.doesNotThrow(() => loadConfig({ env: { TOKEND_TRUST_PROXY: 'false' } }));
  });
});

for (const db of databases()) {
  describe(`client address (${db})`, () => {
    let plain: TestTokend;
    let proxied: TestTokend;
    let appId: string;
    before(async () => {
      plain = await startTokend({ db });
      proxied = await startTokend({ db: plain.db, config: { trustedProxies: ['127.0.0.1', '10.0.0.0/8', '::1'] } });
      appId = (await seedAccount(plain.core)).appId;
    });
    after(async () => {
      await proxied.close();
      await plain.close();
    });

    let n = 0;
    /** A failed login through `node`; returns the address its audit event recorded. */
    async function recorded(node: TestTokend, remoteAddress: string, forwardedFor?: string): Promise<string | null> {
      const email = `nobody-${++n}-${Date.now()}@example.com`;
      const res = await node.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        remoteAddress,
        headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
        payload: { email, password: 'wrong-password', appId },
      });
      assert.equal(res.statusCode, 401, res.body);
      const events = await node.core.store.audit.list({ type: 'login.failed', limit: 1000 });
      const event = events.find((e) => e.detail.email === email);
      assert.ok(event, 'the failed login was audited');
      return event.address;
    }

    it('ignores X-Forwarded-For when no proxy is trusted', async () => {
      assert.equal(await recorded(plain, '127.0.0.1', '198.51.100.1'), '127.0.0.1');
      assert.equal(await recorded(plain, '192.0.2.44', '198.51.100.1, 198.51.100.2'), '192.0.2.44');
    });

    it('takes the right-most entry that is not a trusted proxy', async () => {
      assert.equal(await recorded(proxied, '127.0.0.1', '203.0.113.9'), '203.0.113.9');
      // The client wrote the first entry; the trusted hops (10.x) appended theirs after the client's real address.
      assert.equal(await recorded(proxied, '127.0.0.1', '6.6.6.6, 203.0.113.9, 10.1.2.3, 10.4.5.6'), '203.0.113.9');
      assert.equal(await recorded(proxied, '::1', '2001:db8::7'), '2001:db8::7');
      assert.equal(await recorded(proxied, '127.0.0.1'), '127.0.0.1');
    });

    it('ignores the header from a peer that is not a trusted proxy', async () => {
      assert.equal(await recorded(proxied, '192.0.2.45', '203.0.113.9'), '192.0.2.45');
    });

    it('falls back to the peer address when a trusted proxy sends a malformed header', async () => {
      for (const bad of ['not-an-ip', '203.0.113.9, garbage', '[2001:db8::1]:443', '1.2.3.4.5', '', ' , ']) {
        const address = await recorded(proxied, '127.0.0.1', bad);
        assert.equal(address, '127.0.0.1', JSON.stringify(bad));
      }
    });

    it('writes the client address on the access log line', async () => {
      const before = proxied.logs.length;
      await recorded(proxied, '127.0.0.1', '203.0.113.77');
      const lines = proxied.logs.slice(before).map((l) => JSON.parse(l) as { req?: { address?: string } });
      assert.ok(lines.some((l) => l.req?.address === '203.0.113.77'), proxied.logs.slice(before).join(''));
    });
  });
}

/** The proxy lines of docs/operations.md's nginx example, so that the test runs what the docs say. */
function documentedProxyLines(): string {
  const doc = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
  const block = /An nginx front for two nodes:\s*```nginx\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/operations.md has the nginx example');
  const lines = block[1]!.split('\n').map((l) => l.trim()).filter((l) => /^proxy_(set_header|http_version)\b/.test(l));
  assert.ok(lines.includes('proxy_set_header X-Forwarded-For $remote_addr;'), lines.join('\n'));
  return lines.join('\n      ');
}

describe('behind a real nginx, forged X-Forwarded-For changes nothing', { skip: nginxSkip }, () => {
  let t: TestTokend;
  let nginx: RunningNginx;
  let appId: string;
  const LIMIT = 5;

  before(async () => {
    // Only nginx (on 127.0.0.1) is trusted; clients connect from other loopback addresses.
    t = await startTokend({ db: 'sqlite', listen: true, config: { trustedProxies: ['127.0.0.1'], loginMaxFailuresPerAddress: LIMIT } });
    appId = (await seedAccount(t.core)).appId;
    nginx = await startNginx(`
  upstream tokend { server 127.0.0.1:${new URL(t.url).port}; keepalive 4; }
  server {
    listen 127.0.0.1:PORT;
    location / {
      proxy_pass http://tokend;
      ${documentedProxyLines()}
    }
  }`);
  });
  after(async () => {
    await nginx?.stop();
    await t?.close();
  });

  /** A wrong-password login through nginx from `localAddress`, with a forged X-Forwarded-For. */
  function login(localAddress: string, email: string, forged: string): Promise<{ status: number; body: string }> {
    const payload = JSON.stringify({ email, password: 'wrong-password', appId });
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: nginx.port,
          localAddress,
          method: 'POST',
          path: '/v1/tokens',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-forwarded-for': forged, 'x-real-ip': forged },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  it('wrong passwords with rotating forged addresses are limited per real address, and the audit log records the real one', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 3; i++) {
      const forged = `198.51.100.${i + 1}, 10.0.${i}.1`;
      statuses.push((await login('127.0.0.2', `victim-${i}@example.com`, forged)).status);
    }
    assert.deepEqual(statuses, [...Array(LIMIT).fill(401), 429, 429, 429]);

    // Another real address is not limited by the first one's failures.
    assert.equal((await login('127.0.0.3', 'someone@example.com', '127.0.0.2')).status, 401);

    const events = await t.core.store.audit.list({ limit: 1000 });
    const addresses = new Set(events.filter((e) => e.type === 'login.failed' || e.type === 'login.throttled').map((e) => e.address));
    assert.deepEqual([...addresses].sort(), ['127.0.0.2', '127.0.0.3']);
  });
});
