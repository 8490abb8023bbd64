/**
 * The hoster.by scheme from the operator's side: `service-account create`, `key
 * create` and `signing-key rotate` print exactly the documented objects and what they create works on
 * the wire; the demo sandbox seeds a published key pair once; the README's curl flow works as
 * written. On SQLite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DEMO, seedDemo } from '../src/cli/demo.ts';
import type { CliIO } from '../src/cli/context.ts';
import { main } from '../src/main.ts';
import { isNativeToken } from '../src/secrets/tokens.ts';
import { createTestDatabase, databases, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';
import { assertHosterError, assertHosterOk, hosterCalls } from './helpers/hoster.ts';

const run = promisify(execFile);

async function cli(database: TestDatabase, args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    env: { TOKEND_DATA_DIR: database.dataDir, TOKEND_DATABASE_URL: database.url },
  };
  const code = await main(args, io);
  return { code, out, err };
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

for (const db of databases()) {
  describe(`hoster.by CLI and demo (${db})`, () => {
    let database: TestDatabase;
    let t: TestTokend;
    before(async () => {
      database = await createTestDatabase(db);
      t = await startTokend({ db: database, listen: true });
    });
    after(async () => {
      await t.close();
      await database.drop();
    });

    it('service-account create and key create --json print the documented objects that work on the wire', async () => {
      const account = await cli(database, ['account', 'create', '--email', `robot-${db}@example.com`, '--password', 'robot-password-1', '--json']);
      assert.equal(account.code, 0, account.err.join('\n'));
      const accountId = (JSON.parse(account.out[0]!) as { id: number }).id;

      const sa = await cli(database, ['service-account', 'create', '--account', String(accountId), '--name', 'DNS robot', '--actions', 'dns_orders_list, dns_records_edit', '--json']);
      assert.equal(sa.code, 0, sa.err.join('\n'));
      assert.equal(sa.out.length, 1);
      const created = JSON.parse(sa.out[0]!) as { id: number };
      assert.deepEqual(Object.keys(created), ['id']);
      assert.equal(typeof created.id, 'number');

      const key = await cli(database, ['key', 'create', '--service-account', String(created.id), '--json']);
      assert.equal(key.code, 0, key.err.join('\n'));
      const k = JSON.parse(key.out[0]!) as { keyId: number; accessKey: string; secretKey: string; expiresAt: number | null };
      assert.deepEqual(Object.keys(k), ['keyId', 'accessKey', 'secretKey', 'expiresAt']);
      assert.equal(typeof k.keyId, 'number');
      assert.match(k.accessKey, /^AK[A-Z2-7]{20}$/);
      assert.ok(isNativeToken(k.secretKey, 'secretKey'));
      assert.equal(k.expiresAt, null);

      const before90 = Date.now();
      const expiring = await cli(database, ['key', 'create', '--service-account', String(created.id), '--expires-in', '90d', '--json']);
      assert.equal(expiring.code, 0, expiring.err.join('\n'));
      const e = JSON.parse(expiring.out[0]!) as { expiresAt: number };
      // Unix milliseconds, as every --json time.
      assert.ok(Math.abs(e.expiresAt - (before90 + 90 * 86_400_000)) <= 5000, `expiresAt ${e.expiresAt}`);

      // What the CLI made works against the running server, with the actions given.
      const h = hosterCalls(t);
      const pair = assertHosterOk(await h.create(k), 'create_token_success');
      assert.equal(pair.userId, accountId);
      const info = assertHosterOk(await h.infoAccess(pair.accessToken, accountId), 'access_token_info_success');
      assert.deepEqual(info.actions, ['dns_orders_list', 'dns_records_edit']);

      // The human form shows the Secret Key once and says so.
      const human = await cli(database, ['key', 'create', '--service-account', String(created.id)]);
      assert.equal(human.code, 0);
      assert.ok(human.out.some((l) => /Secret Key: tds_/.test(l)));
      assert.ok(human.out.some((l) => /shown once/.test(l)));

      const list = await cli(database, ['key', 'list', '--service-account', String(created.id)]);
      assert.equal(list.code, 0);
      assert.ok(!list.out.join('\n').includes(k.secretKey), 'a list never shows a Secret Key');

      // The keyId `key create` printed is the one `key revoke` takes.
      const keyId = (await t.core.serviceAccounts.findKeyByAccessKey(k.accessKey))?.id;
      assert.equal(k.keyId, keyId);
      const revoke = await cli(database, ['key', 'revoke', String(k.keyId)]);
      assert.equal(revoke.code, 0, revoke.err.join('\n'));
      // The CLI is another process as far as the server's caches go; storage says no at once.
      assertHosterError(await h.create(k), 401, 'keys_revoked');
    });

    it('input errors exit 2, unknown records 3, with one line, no stack trace', async () => {
      for (const [code, args] of [
        [2, ['service-account', 'create', '--account', 'abc', '--name', 'x', '--actions', 'a']],
        [3, ['service-account', 'create', '--account', '987654', '--name', 'x', '--actions', 'a']],
        [2, ['service-account', 'create', '--account', '1', '--name', 'x', '--actions', ' , ']],
        [3, ['key', 'create', '--service-account', '987654']],
        [2, ['key', 'create', '--service-account', '1', '--expires-in', 'forever']],
        [3, ['key', 'revoke', '987654']],
      ] as const) {
        const r = await cli(database, [...args]);
        assert.equal(r.code, code, `${args.join(' ')}: ${r.err.join('\n')}`);
        // Besides the note naming the database it opened, one line.
        const errors = r.err.filter((l) => !l.startsWith('tokend: using '));
        assert.equal(errors.length, 1, r.err.join('\n'));
        assert.ok(!/\n\s+at /.test(r.err.join('\n')));
      }
    });

    it('signing-key rotate --json: a new key, published before it signs; list shows both', async () => {
      const before = await t.core.signing.list();
      const r = await cli(database, ['signing-key', 'rotate', '--json']);
      assert.equal(r.code, 0, r.err.join('\n'));
      const out = JSON.parse(r.out[0]!) as { kid: string; alg: string; activatesAt: number; previousKid: string | null; previousPublishedUntil: number | null };
      assert.deepEqual(Object.keys(out), ['kid', 'alg', 'activatesAt', 'previousKid', 'previousPublishedUntil']);
      assert.equal(out.alg, 'EdDSA');
      // Unix milliseconds, as every --json time.
      assert.ok(Math.abs(out.activatesAt - (Date.now() + t.config.signingKeyPublishDelay)) <= 5000);
      assert.equal(out.previousKid, before.at(-1)?.kid ?? null);
      assert.equal(out.previousPublishedUntil, out.activatesAt + t.config.serviceAccessTtl);
      const jwks = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
      assert.ok(jwks.keys.some((k) => k.kid === out.kid), 'the new key is published at once');
      const list = await cli(database, ['signing-key', 'list']);
      assert.ok(list.out.some((l) => l.startsWith(out.kid) && /pending/.test(l)));
    });

    it('the demo sandbox seeds its published key pair once; the README shows the same values', async () => {
      assert.ok(isNativeToken(DEMO.secretKey, 'secretKey'), 'the demo Secret Key passes the checksum');
      const first = await seedDemo(t.core);
      await seedDemo(t.core);
      const demoAccount = await t.core.accounts.findByEmail(DEMO.email);
      assert.ok(demoAccount);
      const accounts = await t.core.serviceAccounts.listByAccount(demoAccount.id);
      assert.equal(accounts.length, 1);
      assert.deepEqual(accounts[0]!.actions, [...DEMO.serviceActions]);
      assert.ok(first.lines.some((l) => l.includes(DEMO.accessKey)));
      assert.ok(first.lines.some((l) => l.includes(DEMO.secretKey)));
      const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
      assert.ok(readme.includes(DEMO.accessKey) && readme.includes(DEMO.secretKey));
      const pair = assertHosterOk(await hosterCalls(t).create({ accessKey: DEMO.accessKey, secretKey: DEMO.secretKey }), 'create_token_success');
      assert.equal(pair.userId, DEMO.accountId);
    });

    it('the demo sandbox repairs what it owns at every start, each repair audited', async () => {
      await seedDemo(t.core);
      const ctx = { address: 'test' };
      const key = (await t.core.serviceAccounts.findKeyByAccessKey(DEMO.accessKey))!;
      await t.core.serviceAccounts.revokeKey(key.id, ctx);
      await t.core.serviceAccounts.disable(key.serviceAccountId, ctx);
      await t.core.serviceAccounts.setActions(key.serviceAccountId, ['only_this'], ctx);
      await t.core.accounts.setStatus(DEMO.accountId, 'disabled', ctx);
      await t.core.apiTokens.revokeAllOf(DEMO.accountId, ctx);
      assertHosterError(await hosterCalls(t).create({ accessKey: DEMO.accessKey, secretKey: DEMO.secretKey }), 401, 'keys_revoked');

      const repaired = await seedDemo(t.core);
      assert.equal(repaired.created, false);
      assert.equal(repaired.repaired.length, 6, repaired.repaired.join('\n'));
      const pair = assertHosterOk(await hosterCalls(t).create({ accessKey: DEMO.accessKey, secretKey: DEMO.secretKey }), 'create_token_success');
      assert.equal(pair.userId, DEMO.accountId);
      assert.deepEqual((await t.core.serviceAccounts.get(key.serviceAccountId))?.actions, [...DEMO.serviceActions]);
      for (const token of [DEMO.v3Token, DEMO.l3Token]) assert.equal((await t.core.apiTokens.verify(token)).ok, true);
      const types = (await t.core.store.audit.list({ accountId: DEMO.accountId, limit: 50 })).map((e) => e.type);
      for (const type of ['account.enabled', 'service_account.enabled', 'service_account.actions_changed', 'service_key.reinstated', 'api_token.reinstated']) {
        assert.ok(types.includes(type as never), `${type} in ${types.join(', ')}`);
      }
      assert.deepEqual((await seedDemo(t.core)).repaired, [], 'nothing left to repair');
    });

    it('the README flow runs as written (bash + curl) against the demo', { skip: !hasCommand('curl') || !hasCommand('bash') }, async () => {
      await seedDemo(t.core);
      const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
      const section = readme.slice(readme.indexOf('## Service accounts (hoster.by scheme)'));
      const start = section.indexOf('```sh\n') + '```sh\n'.length;
      const script = section.slice(start, section.indexOf('```', start)).replaceAll('http://localhost:8080', t.url);
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script]);
      assert.equal(stdout.split('"httpCode": 200').length - 1, 4, stdout);
      assert.ok(!/"statusCode": "error"/.test(stdout), stdout);
      assert.ok(stdout.includes('"refresh_token_info_success"'));
      assert.ok(stdout.includes('"dns_orders_list"'));
    });
  });
}
