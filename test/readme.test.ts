/**
 * The README as a new user follows it: every `sh` block that talks to the running service or runs
 * `npx tokend` is run, in order, in one bash (variables carry from block to block as they do in a
 * reader's terminal), against a real `tokend serve --demo` on a free port. Every block must
 * succeed, and the demo sandbox must still answer as the README and the start banner publish it.
 * Then the demo's records are broken on purpose: a restart repairs them and says so.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEMO } from '../src/cli/demo.ts';
import { TokendChild } from './helpers/child.ts';
import { createTestDatabase, databases, type TestDatabase } from './helpers/harness.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/tokend.js', import.meta.url));
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The README's `sh` blocks that a running tokend answers (not `npm install`, not `npm test`). */
function walkThroughBlocks(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  return blocks.filter((b) => b.includes('localhost:8080') || /\bnpx tokend\b/.test(b));
}

/** One bash script: each block in turn, a marker after each, stopping at the first failure. */
function script(blocks: string[], base: string): string {
  const lines = [
    'set -euo pipefail',
    // `npx tokend` is this repository's tokend, as it is for a reader in a clone of it.
    `npx() { if [ "$1" = tokend ]; then shift; node ${JSON.stringify(BIN)} "$@"; else command npx "$@"; fi; }`,
  ];
  blocks.forEach((block, i) => {
    lines.push(`echo; echo "@@block ${i} start"`, block.replaceAll('http://localhost:8080', base).replaceAll('localhost:8080', base.replace(/^http:\/\//, '')), `echo; echo "@@block ${i} ok"`);
  });
  return lines.join('\n');
}

async function tokendCli(db: TestDatabase, args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [BIN, ...args], { env: cliEnv(db) });
  return stdout;
}

function cliEnv(db: TestDatabase): NodeJS.ProcessEnv {
  return { ...process.env, TOKEND_DATA_DIR: db.dataDir, TOKEND_DATABASE_URL: db.url, TOKEND_LOG_LEVEL: 'warn' };
}

/** The demo as published: a ChatApp pair, hoster.by tokens with the published keys, the v3 and l3 tokens. */
async function assertDemoWorks(base: string): Promise<void> {
  const make = await fetch(`${base}/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: DEMO.email, password: DEMO.password, appId: DEMO.appId }),
  });
  assert.equal(make.status, 200, await make.clone().text());
  const hoster = await fetch(`${base}/service/account/create/token`, {
    method: 'POST',
    headers: { 'access-key': DEMO.accessKey, 'secret-key': DEMO.secretKey },
  });
  const hosterBody = await hoster.text();
  assert.equal(hoster.status, 200, hosterBody);
  const access = /"accessToken": "([^"]+)"/.exec(hosterBody)?.[1];
  assert.ok(access, hosterBody);
  const info = await fetch(`${base}/token/info/access`, { headers: { 'access-token': access } });
  const infoBody = await info.text();
  assert.equal(info.status, 200, infoBody);
  for (const action of DEMO.serviceActions) assert.ok(infoBody.includes(action), `${action} in ${infoBody}`);
  for (const [path, token] of [['v3', DEMO.v3Token], ['l3', DEMO.l3Token]] as const) {
    const res = await fetch(`${base}/${path}/security/api/auth/auth`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { data?: { userId: string | null } };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.data?.userId, DEMO.accountUid);
  }
}

/** The start's output once the demo banner is complete (stdout and stderr arrive apart). */
async function bannerAfter(child: TokendChild, from: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const text = child.output.slice(from).join('\n');
    if (text.includes('DEMO MODE') && text.includes('Secret-Key:')) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child.output.slice(from).join('\n');
}

for (const kind of databases()) {
  describe(`the README, run as written (${kind})`, () => {
    let db: TestDatabase;
    let child: TokendChild;

    before(async () => {
      db = await createTestDatabase(kind);
      child = new TokendChild({ dataDir: db.dataDir, databaseUrl: db.url, env: { TOKEND_DEMO: 'true', TOKEND_LOG_LEVEL: 'warn' } });
    });
    after(async () => {
      await child.stop('SIGTERM');
      await db.drop();
    });

    it('finds the walk-through blocks, and none names a record of the demo by number', () => {
      const blocks = walkThroughBlocks(README);
      assert.ok(blocks.length >= 8, `only ${blocks.length} blocks found`);
      for (const block of blocks) {
        assert.doesNotMatch(block, /--(account|service-account)[ =]\d/, block);
        assert.doesNotMatch(block, /\b(key|api-token|service-account) (revoke|rotate|disable) \d/, block);
        assert.doesNotMatch(block, /<id>/, block);
      }
    });

    it('every block succeeds in order, and the demo still works after them', async () => {
      const base = await child.start();
      // The admin API walk-through calls with the admin token the first start printed, as a reader would.
      const adminToken = /^!!\s+(tdm_\S+)$/m.exec(await bannerAfter(child, 0))?.[1];
      assert.ok(adminToken, 'the first start printed an admin token');
      const blocks = walkThroughBlocks(README);
      let out = '';
      try {
        const env = { ...cliEnv(db), TOKEND_ADMIN_TOKEN: adminToken };
        const result = await run('bash', ['-c', script(blocks, base)], { env, timeout: 600_000, maxBuffer: 10 * 1024 * 1024 });
        out = result.stdout;
      } catch (e) {
        const err = e as { stdout: string; stderr: string };
        // Killed by the time bound, or failed: either way the last block started is the culprit.
        const started = [...err.stdout.matchAll(/@@block (\d+) start/g)].at(-1)?.[1];
        assert.fail(`block ${started} failed:\n${blocks[Number(started)]}\n--- stdout\n${err.stdout.slice(-3000)}\n--- stderr\n${err.stderr.slice(-3000)}`);
      }
      for (let i = 0; i < blocks.length; i++) assert.ok(out.includes(`@@block ${i} ok`), `block ${i} did not finish`);
      // The answers the README shows: nothing refused on the way (the one expected refusal is the old ChatApp pair).
      assert.doesNotMatch(out, /"statusCode": "error"|keys_revoked|"Unauthorized"|no such account/);
      assert.match(out, /"active":true/);
      await assertDemoWorks(base);
    });

    it('a restart repairs the demo records a reader broke, through audited changes, and says so', async () => {
      const demoAccount = String(DEMO.accountId);
      const sas = JSON.parse(await tokendCli(db, ['service-account', 'list', '--account', demoAccount, '--json'])) as {
        serviceAccounts: { id: number; name: string }[];
      };
      const sa = sas.serviceAccounts.find((s) => s.name === DEMO.serviceAccountName)!;
      const keys = JSON.parse(await tokendCli(db, ['key', 'list', '--service-account', String(sa.id), '--json'])) as {
        keys: { id: number; accessKey: string }[];
      };
      const key = keys.keys.find((k) => k.accessKey === DEMO.accessKey)!;
      await tokendCli(db, ['key', 'revoke', String(key.id)]);
      await tokendCli(db, ['service-account', 'disable', String(sa.id)]);
      const tokens = JSON.parse(await tokendCli(db, ['api-token', 'list', '--account', demoAccount, '--json'])) as { tokens: { id: string }[] };
      for (const t of tokens.tokens) await tokendCli(db, ['api-token', 'revoke', t.id]);

      await child.stop('SIGTERM');
      const from = child.output.length;
      const base = await child.start();
      const banner = await bannerAfter(child, from);
      assert.match(banner, /Repaired: the demo Access Key/);
      assert.match(banner, /Repaired: the demo service account was disabled/);
      assert.match(banner, /Repaired: the demo v3 token/);
      assert.match(banner, /Repaired: the demo l3 token/);
      assert.match(banner, new RegExp(`console +${base}/console/`));
      assert.match(banner, new RegExp(`API docs +${base}/docs`));
      await assertDemoWorks(base);

      // A start with nothing to repair says nothing of repairs.
      await child.stop('SIGTERM');
      const again = child.output.length;
      await child.start();
      assert.doesNotMatch(await bannerAfter(child, again), /Repaired/);
    });
  });
}
