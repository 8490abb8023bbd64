/**
 * Webhooks end to end, on SQLite and PostgreSQL: endpoints registered over the admin and cabinet
 * APIs, events written with the change that causes them, deliveries to a real receiver on
 * 127.0.0.1 signed per Standard Webhooks (checked here with an implementation of the scheme of the
 * test's own), retries with backoff, no redirects followed, and the SSRF guard at registration
 * and at delivery.
 */
import { strict as assert } from 'node:assert';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { AddressGuard } from '../src/core/events/address-guard.ts';
import { nextAttemptAt } from '../src/core/events/dispatcher.ts';
import { httpWebhookTransport, signedHeaders } from '../src/http/outbound/webhooks.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { verifyStandardWebhook, WebhookReceiver } from './helpers/webhook-receiver.ts';

const ADMIN_TOKEN = 'admin-token-for-webhook-tests-0123456789';
const HOST = 'tokend.test';
const ORIGIN = `http://${HOST}`;

describe('webhook signatures', () => {
  it('match the Standard Webhooks published example', () => {
    // The example of the scheme's reference library (libraries/javascript, "sign function works").
    const headers = signedHeaders('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330 * 1000, '{"test": 2432232314}');
    assert.equal(headers['webhook-signature'], 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    assert.equal(headers['webhook-timestamp'], '1614265330');
    assert.equal(headers['webhook-id'], 'msg_p5jXN8AQM9LWM0D4loKWxJek');
    // And the test's own implementation agrees, so it can judge real deliveries.
    assert.ok(verifyStandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', headers, '{"test": 2432232314}'));
    assert.ok(!verifyStandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', headers, '{"test": 2432232315}'));
  });

  it('back off exponentially with jitter and keep trying for the whole period', () => {
    const backoff = { initialMs: 1000, maxMs: 60_000, periodMs: 86_400_000 };
    assert.equal(nextAttemptAt(1, 0, 0, backoff, () => 1), 1000);
    assert.equal(nextAttemptAt(3, 0, 0, backoff, () => 1), 4000);
    assert.equal(nextAttemptAt(3, 0, 0, backoff, () => 0), 2000);
    assert.equal(nextAttemptAt(30, 0, 0, backoff, () => 1), 60_000);
    // Near the end of the period the last attempt is at its end; after it, give up.
    assert.equal(nextAttemptAt(40, 0, 86_399_000, backoff, () => 1), 86_400_000);
    assert.equal(nextAttemptAt(41, 0, 86_400_000, backoff, () => 1), null);
  });
});

for (const db of databases()) {
  describe(`webhooks (${db})`, () => {
    let t: TestTokend;
    const receiver = new WebhookReceiver();

    before(async () => {
      await receiver.start();
      t = await startTokend({
        db,
        config: {
          adminToken: ADMIN_TOKEN,
          webhookAllowedNetworks: ['127.0.0.1/32'],
          webhookRetryInitial: 40,
          webhookRetryMaxDelay: 200,
          webhookPollInterval: 20,
          webhookTimeout: 2000,
        },
      });
      t.services.startBackground();
    });
    after(async () => {
      await t.close();
      await receiver.close();
    });

    function admin(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<LightMyRequestResponse> {
      return t.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
    }

    async function addEndpoint(path: string, eventTypes: string[] = []): Promise<{ id: string; secret: string }> {
      const res = await admin('POST', '/api/admin/webhooks', { url: `${receiver.url}${path}`, eventTypes });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json();
      assert.match(body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(body.endpoint.secretHint, `whsec_…${body.secret.slice(-4)}`);
      return { id: body.endpoint.id, secret: body.secret };
    }

    it('delivers an event signed per Standard Webhooks, with a stable msg_ id', async () => {
      const ep = await addEndpoint('/created', ['api_token.created']);
      const user = await seedAccount(t.core);
      const created = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: 'ci' }, { address: 'test' });
      const [got] = await receiver.waitFor('/created', 1);
      assert.ok(verifyStandardWebhook(ep.secret, got!.headers, got!.body), 'signature verifies with an independent implementation');
      assert.ok(!verifyStandardWebhook(`whsec_${Buffer.alloc(32).toString('base64')}`, got!.headers, got!.body), 'another secret does not verify');
      assert.match(String(got!.headers['webhook-id']), /^msg_[A-Za-z0-9_-]{22}$/);
      assert.ok(Math.abs(Number(got!.headers['webhook-timestamp']) * 1000 - Date.now()) < 60_000);
      assert.equal(got!.headers['content-type'], 'application/json');
      const payload = JSON.parse(got!.body);
      assert.equal(payload.type, 'api_token.created');
      assert.deepEqual(payload.data, { accountId: user.accountId, id: created.apiToken.id, format: 'native', label: 'ci' });
      assert.ok(!got!.body.includes(created.token), 'the token itself is never in an event');
      // The secret is stored sealed, never in plain.
      const stored = await t.services.db.dialect.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', ep.id).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(stored).includes(ep.secret.slice(6)));
      assert.ok(!t.logs.join('\n').includes(ep.secret.slice(6)), 'the secret is never logged');
      // Listed without its secret.
      const listed = (await admin('GET', '/api/admin/webhooks')).json();
      assert.ok(listed.items.some((e: { id: string }) => e.id === ep.id));
      assert.ok(!JSON.stringify(listed).includes(ep.secret.slice(6)));
    });

    it('retries a receiver that fails: three 500s, delivered at the 4th attempt, every attempt on record', async () => {
      const ep = await addEndpoint('/flaky', ['api_token.revoked']);
      receiver.respond((n, r) => (r.path === '/flaky' && n < 3 ? { status: 500 } : { status: 204 }));
      const user = await seedAccount(t.core);
      const created = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' });
      assert.ok(await t.core.apiTokens.revoke(created.apiToken.id, { address: 'test' }));
      const got = await receiver.waitFor('/flaky', 4);
      await sleep(300);
      assert.equal(receiver.at('/flaky').length, 4, 'nothing is sent again after a 2xx');
      const ids = new Set(got.map((r) => r.headers['webhook-id']));
      assert.equal(ids.size, 1, 'every attempt carries the same webhook-id');
      for (const r of got) assert.ok(verifyStandardWebhook(ep.secret, r.headers, r.body));
      // Backoff: each wait at least half the doubled delay.
      assert.ok(got[2]!.at - got[1]!.at >= 35, `waited ${got[2]!.at - got[1]!.at} ms`);
      const attempts = (await admin('GET', `/api/admin/webhooks/${ep.id}/attempts`)).json().items;
      assert.deepEqual(attempts.map((a: { attempt: number; statusCode: number }) => [a.attempt, a.statusCode]), [[4, 204], [3, 500], [2, 500], [1, 500]]);
      const deliveries = (await admin('GET', `/api/admin/webhooks/${ep.id}/deliveries`)).json().items;
      assert.equal(deliveries.length, 1);
      assert.equal(deliveries[0].status, 'delivered');
      assert.equal(deliveries[0].attempts, 4);
      assert.equal(deliveries[0].lastStatus, 204);
      assert.equal(typeof deliveries[0].lastLatencyMs, 'number');
      const metrics = await t.services.metrics!.registry.metrics();
      assert.ok(Number(/tokend_webhook_attempts_total\{outcome="retry"\} (\d+)/.exec(metrics)?.[1]) >= 3, 'three retries counted');

      // Redelivery: one more attempt, with the same id.
      const again = await admin('POST', `/api/admin/webhooks/${ep.id}/deliveries/${deliveries[0].id}/redeliver`, {});
      assert.equal(again.statusCode, 200, again.body);
      const after = await receiver.waitFor('/flaky', 5);
      assert.equal(after[4]!.headers['webhook-id'], got[0]!.headers['webhook-id']);
      receiver.respond(() => ({ status: 204 }));
    });

    it('follows no redirect: a 3xx is a failed attempt, and the Location is never requested', async () => {
      const ep = await addEndpoint('/moved', ['api_token.created']);
      receiver.respond((_n, r) => (r.path === '/moved' ? { status: 302, headers: { location: `${receiver.url}/elsewhere` } } : { status: 204 }));
      const user = await seedAccount(t.core);
      await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' });
      await receiver.waitFor('/moved', 2);
      assert.equal(receiver.at('/elsewhere').length, 0);
      const attempts = (await admin('GET', `/api/admin/webhooks/${ep.id}/attempts`)).json().items;
      assert.equal(attempts.at(-1).statusCode, 302);
      assert.match(attempts.at(-1).error, /redirect/);
      // Stop the retries of this test.
      assert.equal((await admin('DELETE', `/api/admin/webhooks/${ep.id}`)).statusCode, 200);
      receiver.respond(() => ({ status: 204 }));
    });

    it('refuses URLs to blocked addresses at registration: 400 naming the field', async () => {
      for (const url of [
        'http://10.0.0.1/hook',
        'http://169.254.169.254/latest/meta-data',
        'http://[::1]:8080/',
        'http://192.168.1.10/',
        'http://0.0.0.0/',
        'http://[fd00::1]/',
        'http://[::ffff:10.0.0.1]/',
        'http://224.0.0.1/',
        'ftp://example.com/hook',
        'https://user:pw@example.com/hook',
        'not a url',
        `https://example.com/${'a'.repeat(2040)}`,
      ]) {
        const res = await admin('POST', '/api/admin/webhooks', { url });
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        const error = res.json().error;
        assert.equal(error.code, 'validation_failed');
        assert.ok(
          error.fields.some((f: { name: string }) => f.name === 'url' || f.name === '/url' || f.name === 'body.url' || f.name.endsWith('url')),
          `${url}: ${JSON.stringify(error.fields)}`,
        );
      }
      // The same refusal on a change of URL.
      const ep = await addEndpoint('/patched');
      const res = await admin('PATCH', `/api/admin/webhooks/${ep.id}`, { url: 'http://10.1.2.3/' });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.fields[0].name, 'url');
      // A public address is accepted.
      assert.equal((await admin('PATCH', `/api/admin/webhooks/${ep.id}`, { url: 'https://93.184.215.14/hook' })).statusCode, 200);
      await admin('DELETE', `/api/admin/webhooks/${ep.id}`);
    });

    it('refuses at delivery a host name that resolves to a blocked address', async () => {
      const name = hostname();
      const resolved = await lookup(name, { all: true });
      if (resolved.every((a) => new AddressGuard([]).refusal(a.address) === null)) {
        assert.fail(`this test needs a host name that resolves to a private address; ${name} resolves to public ones`);
      }
      const transport = httpWebhookTransport(new AddressGuard([]));
      const port = new URL(receiver.url).port;
      const before = receiver.received.length;
      const result = await transport.send({
        url: `http://${name}:${port}/rebound`,
        secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
        messageId: 'msg_test',
        timestamp: Date.now(),
        body: '{}',
        timeoutMs: 2000,
      });
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.error, /resolves to .* address/);
      assert.equal(receiver.received.length, before, 'no request reached the receiver');
      // The same host, allowed by the operator, is delivered to.
      const allowed = await httpWebhookTransport(new AddressGuard(['127.0.0.0/8', '::1/128'])).send({
        url: `http://${name}:${port}/rebound`,
        secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
        messageId: 'msg_test',
        timestamp: Date.now(),
        body: '{}',
        timeoutMs: 2000,
      });
      assert.equal(allowed.ok, true, JSON.stringify(allowed));
    });

    it("sends an account's endpoint its own events only, managed from the cabinet", async () => {
      const alice = await seedAccount(t.core);
      const bob = await seedAccount(t.core);
      const signIn = await t.app.inject({
        method: 'POST',
        url: '/api/cabinet/session',
        headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/json' },
        payload: JSON.stringify({ email: alice.email, password: alice.password }),
      });
      assert.equal(signIn.statusCode, 200, signIn.body);
      const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
      const csrf = signIn.json().csrfToken as string;
      const cabinet = (method: 'GET' | 'POST', url: string, body?: unknown): Promise<LightMyRequestResponse> =>
        t.app.inject({
          method,
          url,
          headers: { host: HOST, origin: ORIGIN, cookie, 'x-csrf-token': csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
        });
      const res = await cabinet('POST', '/api/cabinet/webhooks', { url: `${receiver.url}/alice`, eventTypes: ['api_token.created'] });
      assert.equal(res.statusCode, 201, res.body);
      const { endpoint, secret } = res.json();
      assert.equal(endpoint.accountId, alice.accountId);
      // SSRF refusal in the cabinet too.
      const refused = await cabinet('POST', '/api/cabinet/webhooks', { url: 'http://10.0.0.1/' });
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.json().error.fields[0].name, 'url');

      await t.core.apiTokens.create({ accountId: bob.accountId, format: 'native', label: 'bob' }, { address: 'test' });
      const mine = await t.core.apiTokens.create({ accountId: alice.accountId, format: 'native', label: 'alice' }, { address: 'test' });
      const [got] = await receiver.waitFor('/alice', 1);
      await sleep(200);
      assert.equal(receiver.at('/alice').length, 1, "bob's event never reaches alice's endpoint");
      assert.equal(JSON.parse(got!.body).data.id, mine.apiToken.id);
      assert.ok(verifyStandardWebhook(secret, got!.headers, got!.body));
      // Alice lists her own endpoints only, and cannot reach the operator's.
      const listed = (await cabinet('GET', '/api/cabinet/webhooks')).json();
      assert.deepEqual(listed.items.map((e: { id: string }) => e.id), [endpoint.id]);
      const operatorEp = (await admin('GET', '/api/admin/webhooks')).json().items.find((e: { accountId: number | null }) => e.accountId === null);
      assert.equal((await cabinet('GET', `/api/cabinet/webhooks/${operatorEp.id}`)).statusCode, 404);
      // The operator sees hers.
      assert.equal((await admin('GET', `/api/admin/webhooks/${endpoint.id}`)).statusCode, 200);
    });

    it('writes the event with the change: a change that rolls back sends nothing, a refused one audited once per day sends once', async () => {
      const ep = await addEndpoint('/rotated', ['api_token.rotated']);
      const user = await seedAccount(t.core);
      const created = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' });
      await t.core.apiTokens.revoke(created.apiToken.id, { address: 'test' });
      const refused = await t.core.apiTokens.rotate(created.apiToken.id, { graceMs: 0 }, { address: 'test' });
      assert.equal(refused.ok, false);
      const rotated = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' });
      const ok = await t.core.apiTokens.rotate(rotated.apiToken.id, { graceMs: 0 }, { address: 'test' });
      assert.ok(ok.ok);
      const [got] = await receiver.waitFor('/rotated', 1);
      await sleep(200);
      assert.equal(receiver.at('/rotated').length, 1, 'only the rotation that happened is announced');
      assert.equal(JSON.parse(got!.body).data.id, rotated.apiToken.id);
      assert.ok(verifyStandardWebhook(ep.secret, got!.headers, got!.body));

      const quota = await addEndpoint('/quota', ['quota.daily_reached']);
      const limited = await startTokend({ db: t.db, config: { adminToken: ADMIN_TOKEN, chatappDailyMakeLimit: 1 } });
      try {
        const u = await seedAccount(limited.core);
        const make = (): Promise<LightMyRequestResponse> =>
          limited.app.inject({ method: 'POST', url: '/v1/tokens', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: u.email, password: u.password, appId: u.appId }) });
        assert.equal((await make()).statusCode, 200);
        assert.notEqual((await make()).statusCode, 200);
        assert.notEqual((await make()).statusCode, 200);
      } finally {
        await limited.close();
      }
      const [q] = await receiver.waitFor('/quota', 1);
      await sleep(200);
      assert.equal(receiver.at('/quota').length, 1, 'the daily quota is announced once a day, not at every refusal');
      assert.equal(JSON.parse(q!.body).type, 'quota.daily_reached');
      assert.ok(verifyStandardWebhook(quota.secret, q!.headers, q!.body));
    });

    it('announces an API token expiring soon, once however often it looks', async () => {
      const ep = await addEndpoint('/expiring', ['api_token.expiring']);
      const user = await seedAccount(t.core);
      const soon = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: 'soon', expiresAt: Date.now() + 86_400_000 }, { address: 'test' });
      await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: 'later', expiresAt: Date.now() + 30 * 86_400_000 }, { address: 'test' });
      const revoked = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: 'gone', expiresAt: Date.now() + 86_400_000 }, { address: 'test' });
      await t.core.apiTokens.revoke(revoked.apiToken.id, { address: 'test' });
      await t.core.webhooks.announceExpiring(7 * 86_400_000);
      await t.core.webhooks.announceExpiring(7 * 86_400_000);
      const [got] = await receiver.waitFor('/expiring', 1);
      await sleep(300);
      assert.equal(receiver.at('/expiring').length, 1, 'one message: not the later token, not the revoked one, not twice');
      const data = JSON.parse(got!.body).data;
      assert.equal(data.id, soon.apiToken.id);
      assert.equal(data.expiresAt, soon.apiToken.expiresAt);
      assert.ok(verifyStandardWebhook(ep.secret, got!.headers, got!.body));
    });

    it('announces credits running low once, when a flush takes them to a tenth', async () => {
      const ep = await addEndpoint('/credits', ['credits.low']);
      const user = await seedAccount(t.core);
      const created = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' });
      const subject = await t.core.policies.resolve('api_token', created.apiToken.id);
      assert.ok(subject);
      await t.core.policies.put(subject, { credits: { remaining: 20 } }, { address: 'test' });
      const spend = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          const r = await t.core.verification.check(created.token, { accept: ['api_token'], address: null });
          assert.ok(r.ok, JSON.stringify(r));
        }
        await t.core.policies.flush();
      };
      await spend(17);
      await sleep(200);
      assert.equal(receiver.at('/credits').length, 0, '3 of 20 left is not low yet');
      await spend(1);
      const [got] = await receiver.waitFor('/credits', 1);
      await spend(1);
      await sleep(200);
      assert.equal(receiver.at('/credits').length, 1, 'announced once');
      const data = JSON.parse(got!.body).data;
      assert.deepEqual(data, { accountId: user.accountId, subject: { kind: 'api_token', id: created.apiToken.id }, remaining: 2, lowMark: 2 });
      assert.ok(verifyStandardWebhook(ep.secret, got!.headers, got!.body));
    });

    it('rotates the secret: the new one signs, the old one no longer does', async () => {
      const ep = await addEndpoint('/rotating', ['key.created', 'api_token.created']);
      const res = await admin('POST', `/api/admin/webhooks/${ep.id}/rotate-secret`, {});
      assert.equal(res.statusCode, 200, res.body);
      const fresh = res.json().secret as string;
      assert.notEqual(fresh, ep.secret);
      const user = await seedAccount(t.core);
      await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' });
      const [got] = await receiver.waitFor('/rotating', 1);
      assert.ok(verifyStandardWebhook(fresh, got!.headers, got!.body));
      assert.ok(!verifyStandardWebhook(ep.secret, got!.headers, got!.body));
    });

    it('claims a due delivery once, and an outcome under a lost claim does not move it', async () => {
      // The store alone, with no dispatcher between: the claim and the fencing of its outcome.
      const store = t.services.db;
      const ep = await addEndpoint('/claims', ['key.created']);
      const k = store.dialect.db;
      // A message and a delivery written as the outbox writes them, due far in the future so the running dispatcher leaves it alone.
      await store.transaction(async (tx) => {
        await tx.webhooks.enqueue({ id: 'msg_claimtest', type: 'key.created', accountId: null, payload: '{}', createdAt: Date.now() + 3_600_000 });
      });
      const row = await k.selectFrom('webhook_deliveries').select('id').where('message_id', '=', 'msg_claimtest').where('endpoint_id', '=', ep.id).executeTakeFirstOrThrow();
      const due = Date.now() + 3_600_000;
      const [first, second] = await Promise.all([store.webhooks.claimDue(due, due + 60_000, 100, 'claim-a'), store.webhooks.claimDue(due, due + 60_000, 100, 'claim-b')]);
      const mine = [...first, ...second].filter((c) => c.id === row.id);
      assert.equal(mine.length, 1, 'one claimer');
      assert.equal(mine[0]!.attempt, 1);
      assert.equal((await store.webhooks.claimDue(due, due + 60_000, 100, 'claim-c')).filter((c) => c.id === row.id).length, 0, 'leased');
      // A redelivery asked for meanwhile wins over the first claim's outcome.
      assert.ok(await store.webhooks.redeliver(row.id, due));
      const attempt = { deliveryId: row.id, endpointId: ep.id, messageId: 'msg_claimtest', attempt: 1, at: due, statusCode: 500, latencyMs: 3, error: 'answered 500' };
      const moved = await store.transaction((tx) => tx.webhooks.finish({ id: row.id, claim: mine[0]!.claim }, attempt, { status: 'failed' }));
      assert.equal(moved, false);
      const after = await store.webhooks.findDelivery(row.id);
      assert.equal(after?.status, 'pending');
      const attempts = await store.webhooks.listAttempts(ep.id, { limit: 10 });
      assert.deepEqual(attempts.map((a) => a.statusCode), [500], 'the attempt made is on record all the same');
      await admin('DELETE', `/api/admin/webhooks/${ep.id}`);
    });

    it('sends a disabled endpoint nothing, and the events after it is enabled again', async () => {
      const ep = await addEndpoint('/paused', ['api_token.created']);
      assert.equal((await admin('PATCH', `/api/admin/webhooks/${ep.id}`, { enabled: false })).json().enabled, false);
      const user = await seedAccount(t.core);
      await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' });
      await sleep(300);
      assert.equal(receiver.at('/paused').length, 0, 'nothing sent while disabled (and nothing queued for it)');
      assert.equal((await admin('PATCH', `/api/admin/webhooks/${ep.id}`, { enabled: true })).json().enabled, true);
      await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' });
      await receiver.waitFor('/paused', 1);
      await admin('DELETE', `/api/admin/webhooks/${ep.id}`);
    });

    it('forgets finished deliveries after the history period, never pending ones', async () => {
      const ep = await addEndpoint('/never', ['api_token.created']);
      receiver.respond((_n, r) => (r.path === '/never' ? { status: 500 } : { status: 204 }));
      const user = await seedAccount(t.core);
      await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, { address: 'test' });
      await receiver.waitFor('/never', 1);
      const k = t.services.db.dialect.db;
      const finished = await k.selectFrom('webhook_deliveries').select('id').where('status', 'in', ['delivered', 'failed']).execute();
      assert.ok(finished.length > 0);
      const purged = await t.services.db.webhooks.purgeFinished(Date.now() + 60_000);
      // The dispatcher runs on: deliveries may finish between the count and the purge.
      assert.ok(purged >= finished.length, `${purged} < ${finished.length}`);
      // Other tests' deliveries may still finish meanwhile: judge the ones known finished, and the pending one.
      const gone = new Set(finished.map((d) => d.id));
      const left = await k.selectFrom('webhook_deliveries').select(['id', 'status', 'endpoint_id']).execute();
      assert.ok(!left.some((d) => gone.has(d.id)), 'every finished delivery is gone');
      assert.ok(left.some((d) => d.endpoint_id === ep.id && d.status === 'pending'), 'the pending one stays');
      const orphans = await k.selectFrom('webhook_attempts').select('id').where('delivery_id', 'not in', k.selectFrom('webhook_deliveries').select('id')).execute();
      assert.equal(orphans.length, 0);
      const messages = await k.selectFrom('webhook_messages').select('id').execute();
      assert.equal(messages.length, new Set((await k.selectFrom('webhook_deliveries').select('message_id').execute()).map((d) => d.message_id)).size);
      await admin('DELETE', `/api/admin/webhooks/${ep.id}`);
      receiver.respond(() => ({ status: 204 }));
    });

    it('answers 404 for unknown endpoints and 400 for malformed ids and unknown event types', async () => {
      assert.equal((await admin('GET', '/api/admin/webhooks/whe_000000000000000000000000')).statusCode, 404);
      assert.equal((await admin('GET', '/api/admin/webhooks/nope')).statusCode, 400);
      const bad = await admin('POST', '/api/admin/webhooks', { url: `${receiver.url}/x`, eventTypes: ['token.exploded'] });
      assert.equal(bad.statusCode, 400);
      const extra = await admin('POST', '/api/admin/webhooks', { url: `${receiver.url}/x`, secret: 'mine' });
      assert.equal(extra.statusCode, 400);
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/admin/webhooks' })).statusCode, 401);
    });
  });
}
