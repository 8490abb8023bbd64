/**
 * Two `tokend serve` processes on one PostgreSQL, both dispatching webhooks from one outbox, never
 * make one attempt twice: every event reaches the receiver once when it answers 2xx, exactly twice
 * when it fails each event's first attempt, and each attempt is on record once.
 *
 * PostgreSQL only (SQLite is one process per file): needs TOKEND_TEST_DATABASE_URL.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/load.ts';
import { openServices, type Services } from '../src/services.ts';
import { createTestDatabase, databases, seedAccount, type TestDatabase } from './helpers/harness.ts';
import { MASTER_KEY, startNode, type Node } from './helpers/nodes.ts';
import { verifyStandardWebhook, WebhookReceiver } from './helpers/webhook-receiver.ts';

const withPostgres = databases().includes('postgres');
const EVENTS = 120;

describe('webhook dispatch on two nodes', { skip: withPostgres ? false : 'needs TOKEND_TEST_DATABASE_URL' }, () => {
  let db: TestDatabase;
  let seeder: Services;
  let a: Node;
  let b: Node;
  const receiver = new WebhookReceiver();

  before(async () => {
    db = await createTestDatabase('postgres');
    await receiver.start();
    seeder = await openServices(
      loadConfig({ env: {}, overrides: { databaseUrl: db.url, dataDir: db.dataDir, masterKey: MASTER_KEY, webhookAllowedNetworks: ['127.0.0.1'] } }),
    );
    // Both dispatchers look often, so that they compete for every delivery.
    const env = {
      TOKEND_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1',
      TOKEND_WEBHOOK_POLL_INTERVAL: '10ms',
      TOKEND_WEBHOOK_RETRY_INITIAL: '20ms',
      TOKEND_WEBHOOK_RETRY_MAX_DELAY: '50ms',
      TOKEND_WEBHOOK_TIMEOUT: '5s',
    };
    [a, b] = await Promise.all([startNode('A', db, env), startNode('B', db, env)]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await seeder?.close();
    await receiver.close();
    await db?.drop();
  });

  async function burst(path: string): Promise<{ secret: string }> {
    const { secret } = await seeder.core.webhooks.create(
      { accountId: null },
      { url: `${receiver.url}${path}`, eventTypes: ['api_token.created'], description: null, enabled: true },
      { address: 'test' },
    );
    const user = await seedAccount(seeder.core);
    await Promise.all(
      Array.from({ length: EVENTS }, (_v, i) => seeder.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: `n${i}` }, { address: 'test' })),
    );
    return { secret };
  }

  function countById(path: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of receiver.at(path)) counts.set(String(r.headers['webhook-id']), (counts.get(String(r.headers['webhook-id'])) ?? 0) + 1);
    return counts;
  }

  it('sends every event once when the receiver takes each at once', async () => {
    receiver.respond(() => ({ status: 204 }));
    const { secret } = await burst('/once');
    await receiver.waitFor('/once', EVENTS, 60_000);
    await sleep(500);
    const counts = countById('/once');
    assert.equal(counts.size, EVENTS);
    assert.deepEqual([...new Set(counts.values())], [1], 'no event was sent twice');
    for (const r of receiver.at('/once')) assert.ok(verifyStandardWebhook(secret, r.headers, r.body));
  });

  it('makes each attempt once when every first attempt fails', async () => {
    receiver.respond((_n, r) => {
      const id = String(r.headers['webhook-id']);
      return receiver.received.filter((x) => x.path === '/twice' && x.headers['webhook-id'] === id).length === 1 ? { status: 503 } : { status: 204 };
    });
    await burst('/twice');
    await receiver.waitFor('/twice', EVENTS * 2, 60_000);
    await sleep(500);
    const counts = countById('/twice');
    assert.equal(counts.size, EVENTS);
    assert.deepEqual([...new Set(counts.values())], [2], 'each event: one failed attempt, one delivered, none repeated');
    const k = seeder.db.dialect.db;
    const attempts = await k
      .selectFrom('webhook_attempts as t')
      .innerJoin('webhook_endpoints as e', 'e.id', 't.endpoint_id')
      .select(['t.delivery_id', 't.attempt', 't.status_code'])
      .where('e.url', '=', `${receiver.url}/twice`)
      .execute();
    assert.equal(attempts.length, EVENTS * 2);
    const keys = new Set(attempts.map((x) => `${x.delivery_id}/${x.attempt}`));
    assert.equal(keys.size, EVENTS * 2, 'every (delivery, attempt) once');
    assert.ok(attempts.every((x) => (x.attempt === 1 ? x.status_code === 503 : x.attempt === 2 && x.status_code === 204)));
    for (const node of [a, b]) assert.ok(!node.output.join('').includes('unhandled error'), node.output.join(''));
  });
});
