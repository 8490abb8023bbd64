/**
 * Webhooks survive a crash, on SQLite and PostgreSQL: a real `tokend serve` is killed with SIGKILL
 * right after it acknowledged a revocation (the event only in the outbox), and again while it is
 * sending that event (the receiver holds the request); after each restart the event is delivered,
 * with the same `webhook-id`, signed with the endpoint's secret.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { openServices } from '../src/services.ts';
import { TokendChild } from './helpers/child.ts';
import { createTestDatabase, databases, seedAccount, type TestDatabase } from './helpers/harness.ts';
import { verifyStandardWebhook, WebhookReceiver } from './helpers/webhook-receiver.ts';

const ADMIN_TOKEN = 'admin-token-for-webhook-crash-0123456789';
const MASTER_KEY = 'webhook-crash-test-master-key-0123456789abcdef';

for (const kind of databases()) {
  describe(`webhooks after a crash (${kind})`, () => {
    let db: TestDatabase;
    const receiver = new WebhookReceiver();
    const children: TokendChild[] = [];

    before(async () => {
      db = await createTestDatabase(kind);
      await receiver.start();
    });
    after(async () => {
      for (const c of children) await c.stop();
      await receiver.close();
      await db.drop();
    });

    function child(env: Record<string, string>): TokendChild {
      const c = new TokendChild({
        dataDir: db.dataDir,
        databaseUrl: db.url,
        env: {
          TOKEND_ADMIN_TOKEN: ADMIN_TOKEN,
          TOKEND_MASTER_KEY: MASTER_KEY,
          TOKEND_LOG_LEVEL: 'warn',
          TOKEND_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1',
          TOKEND_WEBHOOK_TIMEOUT: '1s',
          TOKEND_WEBHOOK_RETRY_INITIAL: '50ms',
          TOKEND_WEBHOOK_RETRY_MAX_DELAY: '200ms',
          ...env,
        },
      });
      children.push(c);
      return c;
    }

    it('delivers a revocation acknowledged just before a SIGKILL, and one cut off mid-delivery', async () => {
      // Seeded in-process on the same database, with the same master key as the server.
      const seeder = await openServices(
        loadConfig({ env: {}, overrides: { databaseUrl: db.url, dataDir: db.dataDir, masterKey: MASTER_KEY, webhookAllowedNetworks: ['127.0.0.1'] } }),
      );
      let token: string;
      let secret: string;
      try {
        const user = await seedAccount(seeder.core);
        token = (await seeder.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' })).token;
        secret = (await seeder.core.webhooks.create({ accountId: null }, { url: `${receiver.url}/revoked`, eventTypes: ['api_token.revoked'], description: null, enabled: true }, { address: 'test' })).secret;
      } finally {
        await seeder.close();
      }

      // 1. The server revokes, answers, and dies before its dispatcher looks again.
      const first = child({ TOKEND_WEBHOOK_POLL_INTERVAL: '60s' });
      const url = await first.start();
      const revoked = await fetch(`${url}/oauth2/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      assert.equal(revoked.status, 200, await revoked.text());
      await first.stop('SIGKILL');
      assert.equal(receiver.at('/revoked').length, 0, 'nothing was sent before the crash');

      // 2. Restarted, it sends the event; the receiver holds the request, and the server dies again.
      receiver.respond((n) => (n === 0 ? null : { status: 204 }));
      const second = child({ TOKEND_WEBHOOK_POLL_INTERVAL: '20ms' });
      await second.start();
      const [held] = await receiver.waitFor('/revoked', 1, 60_000);
      await second.stop('SIGKILL');

      // 3. Restarted again: once the dead node's lease has run out, the event goes out again and is delivered.
      const third = child({ TOKEND_WEBHOOK_POLL_INTERVAL: '20ms' });
      await third.start();
      const got = await receiver.waitFor('/revoked', 2, 60_000);
      const delivered = got[1]!;
      assert.equal(delivered.headers['webhook-id'], held!.headers['webhook-id'], 'the same event, the same id');
      assert.ok(verifyStandardWebhook(secret, delivered.headers, delivered.body));
      const payload = JSON.parse(delivered.body);
      assert.equal(payload.type, 'api_token.revoked');
      assert.ok(!delivered.body.includes(token), 'the token itself is never in an event');
      await third.stop('SIGTERM');

      // On record: delivered, at the second attempt, both attempts' outcomes known.
      const check = await openServices(loadConfig({ env: {}, overrides: { databaseUrl: db.url, dataDir: db.dataDir, masterKey: MASTER_KEY } }));
      try {
        const rows = await check.db.dialect.db.selectFrom('webhook_deliveries').selectAll().execute();
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.status, 'delivered');
        assert.equal(rows[0]!.attempts, 2);
      } finally {
        await check.close();
      }
      for (const c of children) for (const line of c.output) assert.ok(!line.includes(secret.slice(6)), 'the signing secret is never printed');
    });
  });
}
