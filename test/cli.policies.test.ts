/**
 * `tokend policy show|set|remove` on the database and through a running tokend's admin API (SQLite
 * and PostgreSQL): the rules it sets hold on the wire, bad rules are usage errors naming the part
 * (nothing stored), unknown subjects exit 3, and both modes print the same JSON.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { CliIO } from '../src/cli/context.ts';
import { main } from '../src/main.ts';
import { testAdminToken } from './helpers/credentials.ts';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';

const CTX = { address: 'test' };

async function cli(env: Record<string, string | undefined>, args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), env };
  return { code: await main(args, io), out, err };
}

for (const kind of databases()) {
  describe(`tokend policy (${kind})`, () => {
    let t: TestTokend;
    let local: Record<string, string | undefined>;
    let http: Record<string, string | undefined>;
    before(async () => {
      t = await startTokend({ db: kind, listen: true, config: { adminToken: testAdminToken() } });
      local = { TOKEND_DATA_DIR: t.db.dataDir, TOKEND_DATABASE_URL: t.db.url };
      http = { TOKEND_URL: t.url, TOKEND_ADMIN_TOKEN: t.config.adminToken };
    });
    after(async () => t.close());

    for (const mode of ['database', 'admin API'] as const) {
      it(`sets, shows and removes an API token's rules (${mode}); they hold on the wire`, async () => {
        const env = mode === 'database' ? local : http;
        const u = await seedAccount(t.core);
        const { token, apiToken } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, CTX);
        const set = await cli(env, ['policy', 'set', 'api-token', apiToken.id, '--rate', '2/1h', '--allow', '127.0.0.0/8, ::1', '--credits', '50', '--refill', '50/monthly', '--json']);
        assert.equal(set.code, 0, set.err.join('\n'));
        const policy = JSON.parse(set.out[0]!);
        assert.deepEqual(policy.rules.rateLimits, [{ limit: 2, windowSeconds: 3600 }]);
        assert.deepEqual(policy.rules.ipAllowList, ['127.0.0.0/8', '::1']);
        assert.equal(policy.creditsLeft, 50);
        if (mode === 'database') await t.core.policies.refresh(); // a CLI beside a running server: the periodic reload, now
        const check = () => fetch(`${t.url}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
        assert.deepEqual([await check(), await check(), await check()], [200, 200, 429], 'two per hour');

        // On the database the CLI reads the stored balance, which the server writes every second.
        if (mode === 'database') await t.core.policies.flush();
        const shown = await cli(env, ['policy', 'show', 'api-token', apiToken.id]);
        assert.equal(shown.code, 0, shown.err.join('\n'));
        assert.match(shown.out.join('\n'), /rate limits: 2\/1h/);
        assert.match(shown.out.join('\n'), /credits: 4[89] left, 1 per check, refilled to 50 monthly/);

        const removed = await cli(env, ['policy', 'remove', 'api-token', apiToken.id, '--json']);
        assert.deepEqual(JSON.parse(removed.out[0]!), { kind: 'api-token', id: apiToken.id, removed: true });
        const again = await cli(env, ['policy', 'show', 'api-token', apiToken.id]);
        assert.deepEqual(again.out, [`api-token ${apiToken.id} has no rules`]);
      });

      it(`bad rules are usage errors naming the part, nothing stored; unknown subjects exit 3 (${mode})`, async () => {
        const env = mode === 'database' ? local : http;
        const u = await seedAccount(t.core);
        const { apiToken } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'native' }, CTX);
        const bare = await cli(env, ['policy', 'set', 'api-token', apiToken.id, '--rate', '100/60']);
        assert.equal(bare.code, 2);
        assert.match(bare.err.join('\n'), /--rate must be a duration.*a unit is required/);
        const cidr = await cli(env, ['policy', 'set', 'api-token', apiToken.id, '--allow', '10.0.0.0/33']);
        assert.equal(cidr.code, 2);
        assert.match(cidr.err.join('\n'), /ipAllowList\[0\]/);
        const none = await cli(env, ['policy', 'set', 'api-token', apiToken.id]);
        assert.equal(none.code, 2);
        assert.equal(await t.core.policies.get({ subject: { kind: 'api_token', id: apiToken.id }, accountId: u.accountId }), null, 'nothing stored');
        const unknown = await cli(env, ['policy', 'show', 'app', 'app_no_such_app']);
        assert.equal(unknown.code, 3, unknown.err.join('\n'));
        const wrongKind = await cli(env, ['policy', 'show', 'token', 'x']);
        assert.equal(wrongKind.code, 2);
      });
    }

    it('an account expiry rule: new API tokens must expire within it', async () => {
      const u = await seedAccount(t.core);
      const set = await cli(http, ['policy', 'set', 'account', String(u.accountId), '--max-lifetime', '30d', '--expiry-required', '--json']);
      assert.equal(set.code, 0, set.err.join('\n'));
      assert.deepEqual(JSON.parse(set.out[0]!).rules.expiry, { maxLifetimeSeconds: 30 * 86400, required: true });
      const noExpiry = await cli(http, ['api-token', 'create', '--account', String(u.accountId)]);
      assert.equal(noExpiry.code, 2, noExpiry.err.join('\n'));
      const ok = await cli(http, ['api-token', 'create', '--account', String(u.accountId), '--expires-in', '7d', '--json']);
      assert.equal(ok.code, 0, ok.err.join('\n'));
    });
  });
}
