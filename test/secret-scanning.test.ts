/**
 * Reports of published secrets (GitHub's secret-scanning partner format), on SQLite and
 * PostgreSQL: a signed report revokes the tokend secrets it names (API tokens of every format, a
 * session by its refresh token, a service-account Secret Key), answers in the partner format, and
 * announces each with a `secret.leaked` audit entry and webhook; look-alikes are false positives;
 * an unsigned or wrongly signed report changes nothing; `notify` only announces.
 */
import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { newToken } from '../src/secrets/tokens.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { seedServiceKey } from './helpers/hoster.ts';
import { verifyStandardWebhook, WebhookReceiver } from './helpers/webhook-receiver.ts';

const KEY_ID = '90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a';
const CTX = { address: 'test' };

function keyPair(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const reporter = keyPair();
const stranger = keyPair();
const dir = mkdtempSync(join(tmpdir(), 'tokend-scanning-'));
const keysFile = join(dir, 'keys.json');
writeFileSync(keysFile, JSON.stringify({ public_keys: [{ key_identifier: KEY_ID, key: reporter.publicPem, is_current: true }] }));

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

for (const db of databases()) {
  describe(`secret-scanning reports (${db})`, () => {
    let t: TestTokend;
    const receiver = new WebhookReceiver();
    let secret: string;

    before(async () => {
      await receiver.start();
      t = await startTokend({
        db,
        config: { secretScanningKeysFile: keysFile, webhookAllowedNetworks: ['127.0.0.1'], webhookPollInterval: 20 },
      });
      t.services.startBackground();
      secret = (await t.core.webhooks.create({ accountId: null }, { url: `${receiver.url}/leaked`, eventTypes: ['secret.leaked'], description: null, enabled: true }, CTX)).secret;
    });
    after(async () => {
      await t.close();
      await receiver.close();
    });

    function post(body: string, headers: Record<string, string>): Promise<LightMyRequestResponse> {
      return t.app.inject({ method: 'POST', url: '/secret-scanning/report', headers: { 'content-type': 'application/json', ...headers }, payload: body });
    }
    function signed(body: string, key: KeyObject = reporter.privateKey, id = KEY_ID): Record<string, string> {
      return { 'github-public-key-identifier': id, 'github-public-key-signature': sign('sha256', Buffer.from(body), key).toString('base64') };
    }

    it('revokes what a signed report names, answers per token, and announces each', async () => {
      const user = await seedAccount(t.core);
      const native = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, CTX);
      const v3 = await t.core.apiTokens.create({ accountId: user.accountId, format: 'v3', label: null }, CTX);
      const login = await t.core.accounts.passwordLogin({ email: user.email, password: user.password, appId: user.appId }, CTX);
      assert.ok(login.ok);
      const key = await seedServiceKey(t.core, { accountId: user.accountId });
      const badChecksum = native.token.slice(0, -1) + (native.token.endsWith('A') ? 'B' : 'A');
      const unknown = newToken('apiToken').token;
      const items = [
        { token: native.token, type: 'tokend_api_token', url: 'https://github.com/o/r/blob/x/.env', source: 'content' },
        { token: v3.token, type: 'tokend_v3_api_token', url: 'https://gist.github.com/x', source: 'gist' },
        { token: login.pair.refreshToken, type: 'tokend_refresh_token', url: 'https://github.com/o/r/issues/1', source: 'issue' },
        { token: key.secretKey, type: 'tokend_secret_key', url: 'https://github.com/o/r/commit/1', source: 'commit' },
        { token: badChecksum, type: 'tokend_api_token', url: 'https://github.com/o/r', source: 'content' },
        { token: unknown, type: 'tokend_api_token', url: 'https://github.com/o/r', source: 'content' },
        { token: 'hello world', type: 'tokend_api_token', url: 'https://github.com/o/r', source: 'content' },
      ];
      const body = JSON.stringify(items);
      const res = await post(body, signed(body));
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(
        res.json(),
        items.map((i, n) => ({ token_hash: sha256(i.token), token_type: i.type, label: n < 4 ? 'true_positive' : 'false_positive' })),
      );
      // Revoked, all of them.
      const tokens = await t.core.apiTokens.listByAccount(user.accountId);
      for (const id of [native.apiToken.id, v3.apiToken.id]) assert.notEqual(tokens.find((x) => x.id === id)?.revokedAt, null);
      // And refused on the wire at the next check.
      for (const token of [native.token, v3.token]) {
        const auth = await t.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${token}` } });
        assert.equal(auth.statusCode, 401, auth.body);
      }
      const check = await t.core.verification.check(login.pair.accessToken, { accept: ['access'], address: null });
      assert.equal(check.ok, false, 'the session of the leaked refresh token is revoked');
      const keys = await t.core.serviceAccounts.listKeys(key.serviceAccountId);
      assert.notEqual(keys[0]!.revokedAt, null);
      // Announced: four secret.leaked webhooks, none carrying a token.
      const got = await receiver.waitFor('/leaked', 4);
      await sleep(200);
      assert.equal(receiver.at('/leaked').length, 4);
      const kinds = got.map((r) => JSON.parse(r.body).data.kind).sort();
      assert.deepEqual(kinds, ['api_token', 'api_token', 'service_key', 'session']);
      for (const r of got) {
        assert.ok(verifyStandardWebhook(secret, r.headers, r.body));
        const data = JSON.parse(r.body).data;
        assert.equal(data.accountId, user.accountId);
        assert.equal(data.revoked, true);
        for (const i of items) assert.ok(!r.body.includes(i.token), 'no event carries a token');
      }
      const audit = await t.core.accounts.activity(user.accountId, { limit: 50, type: 'secret.leaked' });
      assert.equal(audit.length, 4);
    });

    it('changes nothing for a report that is not signed by a configured key', async () => {
      const user = await seedAccount(t.core);
      const live = await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, CTX);
      const body = JSON.stringify([{ token: live.token, type: 'tokend_api_token', url: 'https://x', source: 'content' }]);
      for (const headers of [
        {},
        signed(body, stranger.privateKey),
        signed(body, reporter.privateKey, 'another-key'),
        signed(body + ' ', reporter.privateKey),
        { 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': 'not base64!' },
      ]) {
        const res = await post(body, headers);
        assert.equal(res.statusCode, 401, res.body);
        assert.equal(res.json().error.code, 'invalid_signature');
      }
      // Signed but tampered with: the bytes differ from what was signed.
      const tampered = await post(body.replace('content', 'gist____'), signed(body));
      assert.equal(tampered.statusCode, 401);
      const tokens = await t.core.apiTokens.listByAccount(user.accountId);
      assert.equal(tokens[0]!.revokedAt, null, 'still live');
      // Signed, but not the partner format: 400, nothing done.
      const bad = '{"token":"x"}';
      assert.equal((await post(bad, signed(bad))).statusCode, 400);
    });

    it('only announces with TOKEND_SECRET_SCANNING_ACTION=notify; without keys the route is off', async () => {
      const notify = await startTokend({ db: t.db, config: { secretScanningKeysFile: keysFile, secretScanningAction: 'notify' } });
      const off = await startTokend({ db: t.db });
      try {
        const user = await seedAccount(notify.core);
        const live = await notify.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: null }, CTX);
        const body = JSON.stringify([{ token: live.token, type: 'tokend_api_token', url: 'https://x', source: 'content' }]);
        const res = await notify.app.inject({ method: 'POST', url: '/secret-scanning/report', headers: { 'content-type': 'application/json', ...signed(body) }, payload: body });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json()[0].label, 'true_positive');
        assert.equal((await notify.core.apiTokens.listByAccount(user.accountId))[0]!.revokedAt, null, 'not revoked');
        const before = receiver.at('/leaked').length;
        const [got] = (await receiver.waitFor('/leaked', before + 1)).slice(before);
        assert.equal(JSON.parse(got!.body).data.revoked, false);
        assert.equal(JSON.parse(got!.body).data.action, undefined);
        const offRes = await off.app.inject({ method: 'POST', url: '/secret-scanning/report', headers: { 'content-type': 'application/json', ...signed(body) }, payload: body });
        assert.equal(offRes.statusCode, 404);
      } finally {
        await notify.close();
        await off.close();
      }
    });
  });
}

after(() => rmSync(dir, { recursive: true, force: true }));
