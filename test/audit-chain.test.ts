/**
 * The audit log's hash chain, on SQLite and PostgreSQL: two nodes (two stores, two connection
 * pools) writing at once still make one linear chain; `tokend audit verify` proves it, and names
 * the entry where a row altered or removed in the database breaks it; a retention cut keeps it
 * provable; `tokend audit export` writes it as NDJSON.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { ManualClock } from '../src/core/clock.ts';
import { RUNTIME_ENV } from './helpers/child.ts';
import { createTestDatabase, databases, seedAccount, startTokend, type TestDatabase, type TestTokend } from './helpers/harness.ts';

const run = promisify(execFile);
const BIN = new URL('../bin/tokend.js', import.meta.url).pathname;
const MASTER_KEY = 'audit-chain-test-master-key-0123456789abcdef';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(db: TestDatabase, ...args: string[]): Promise<CliResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...RUNTIME_ENV, TOKEND_MASTER_KEY: MASTER_KEY, TOKEND_LOG_LEVEL: 'silent' };
  const flags = ['--data-dir', db.dataDir, ...(db.url ? ['--database-url', db.url] : [])];
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args, ...flags], { env, maxBuffer: 64 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

for (const kind of databases()) {
  describe(`audit hash chain (${kind})`, () => {
    let db: TestDatabase;
    let a: TestTokend;
    let b: TestTokend;

    before(async () => {
      db = await createTestDatabase(kind);
      a = await startTokend({ db, config: { masterKey: MASTER_KEY } });
      b = await startTokend({ db, config: { masterKey: MASTER_KEY } });
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await db?.drop();
    });

    it('stays one linear chain while two nodes write at once', async () => {
      const users = await Promise.all([seedAccount(a.core), seedAccount(b.core)]);
      const before = await a.core.auditChain.verify();
      assert.ok(before.ok);
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        const node = i % 2 === 0 ? a : b;
        const user = users[i % 2]!;
        // Audited inside a transaction of its own (token creation) and outside one (a failed login).
        writes.push(node.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: `t${i}` }, { address: `node-${i % 2}` }));
        writes.push(node.core.accounts.passwordLogin({ email: user.email, password: 'wrong-password', appId: user.appId }, { address: `10.0.0.${i}` }));
      }
      await Promise.all(writes);
      const report = await b.core.auditChain.verify();
      assert.ok(report.ok, JSON.stringify(report));
      assert.equal(report.entries, before.entries + 80);
      assert.equal(report.firstSeq, 1);
      assert.equal(report.lastSeq, report.entries);
      // Both nodes' entries are in it.
      const addresses = await a.services.db.dialect.db.selectFrom('audit_events').select('address').where('address', 'in', ['node-0', 'node-1']).execute();
      assert.deepEqual(new Set(addresses.map((r) => r.address)), new Set(['node-0', 'node-1']));

      const verified = await cli(db, 'audit', 'verify', '--json');
      assert.equal(verified.code, 0, verified.stderr);
      assert.equal(JSON.parse(verified.stdout).ok, true);

      const exported = await cli(db, 'audit', 'export');
      assert.equal(exported.code, 0, exported.stderr);
      const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string; prevHash: string });
      assert.equal(lines.length, report.entries);
      assert.deepEqual(lines.map((l) => l.seq), lines.map((_l, i) => i + 1));
      for (let i = 1; i < lines.length; i++) assert.equal(lines[i]!.prevHash, lines[i - 1]!.hash);
    });

    it('names the entry whose row was altered in the database, or the one after a removed row', async () => {
      const k = a.services.db.dialect.db;
      const rows = await k.selectFrom('audit_events').select(['id', 'seq', 'detail', 'hash']).where('seq', 'is not', null).orderBy('seq').execute();
      const victim = rows[Math.floor(rows.length / 2)]!;
      const original = victim.detail;
      await k.updateTable('audit_events').set({ detail: JSON.stringify({ ...JSON.parse(original), label: 'forged' }) }).where('id', '=', victim.id).execute();
      let out = await cli(db, 'audit', 'verify');
      assert.equal(out.code, 1);
      assert.match(out.stderr, new RegExp(`broken at entry ${victim.id} \\(seq ${victim.seq}\\)`));
      // Rewriting its hash too only moves the break to the next entry.
      const report = await a.core.auditChain.verify();
      assert.equal(report.ok, false);
      await k.updateTable('audit_events').set({ detail: original }).where('id', '=', victim.id).execute();
      assert.ok((await a.core.auditChain.verify()).ok, 'restored, it verifies again');

      // A removed entry: the break is at the one after it.
      const removed = rows[3]!;
      const next = rows[4]!;
      const saved = await k.selectFrom('audit_events').selectAll().where('id', '=', removed.id).executeTakeFirstOrThrow();
      await k.deleteFrom('audit_events').where('id', '=', removed.id).execute();
      out = await cli(db, 'audit', 'verify');
      assert.equal(out.code, 1);
      assert.match(out.stderr, new RegExp(`broken at entry ${next.id} `));
      await k.insertInto('audit_events').values(saved).execute();
      assert.ok((await a.core.auditChain.verify()).ok);

      // The first entries removed, with no retention cut recording it.
      const first = rows[0]!;
      const savedFirst = await k.selectFrom('audit_events').selectAll().where('id', '=', first.id).executeTakeFirstOrThrow();
      await k.deleteFrom('audit_events').where('id', '=', first.id).execute();
      const cut = await a.core.auditChain.verify();
      assert.equal(cut.ok, false);
      assert.equal(cut.ok ? null : cut.brokenAt.id, rows[1]!.id);
      await k.insertInto('audit_events').values(savedFirst).execute();
      assert.ok((await a.core.auditChain.verify()).ok);
    });

    it('links every entry: in its transaction (SQLite), or after its commit, by any node, before a proof (PostgreSQL)', async () => {
      const k = a.services.db.dialect.db;
      const user = await seedAccount(a.core);
      await a.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: 'linked' }, { address: 'link-test' });
      const row = () => k.selectFrom('audit_events').selectAll().where('address', '=', 'link-test').executeTakeFirstOrThrow();
      if (!a.services.db.dialect.chainAfterCommit) {
        const r = await row();
        assert.ok(r.seq !== null && r.hash !== null, 'linked in the transaction that wrote it');
        assert.equal(r.chain_pending, null);
        return;
      }
      // The node that wrote it links it a moment after the commit; its own reads of the head wait for that.
      const head = await a.core.store.audit.headSeq();
      const linked = await row();
      assert.equal(linked.seq, head);
      assert.equal(linked.chain_pending, null);
      // An entry whose node stopped between its commit and its link: waiting, outside the proof's count of old entries.
      const before = await b.core.auditChain.verify();
      await k
        .insertInto('audit_events')
        .values({ at: Date.now(), type: 'login.failed', account_id: null, session_id: null, address: 'stopped-node', detail: '{"reason":"test"}', chain_pending: 1 })
        .execute();
      // The other node's sweep links it by itself, within about a second.
      const deadline = Date.now() + 20_000;
      let waiting = await k.selectFrom('audit_events').selectAll().where('address', '=', 'stopped-node').executeTakeFirstOrThrow();
      while (waiting.seq === null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        waiting = await k.selectFrom('audit_events').selectAll().where('address', '=', 'stopped-node').executeTakeFirstOrThrow();
      }
      assert.notEqual(waiting.seq, null, 'a running node linked the waiting entry');
      const after = await b.core.auditChain.verify();
      assert.ok(after.ok, JSON.stringify(after));
      assert.equal(after.entries, before.entries + 1);
      assert.equal(after.unchained, before.unchained);
      // And `tokend audit verify` links what is waiting before it proves the chain, with no server running it.
      await k
        .insertInto('audit_events')
        .values({ at: Date.now(), type: 'login.failed', account_id: null, session_id: null, address: 'cli-linked', detail: '{}', chain_pending: 1 })
        .execute();
      const out = await cli(db, 'audit', 'verify', '--json');
      assert.equal(out.code, 0, out.stderr);
      assert.equal(JSON.parse(out.stdout).entries, after.entries + 1);
    });

    it('counts entries from before the chain apart, and keeps proving the chain', async () => {
      const k = a.services.db.dialect.db;
      await k.insertInto('audit_events').values({ at: 1, type: 'login.failed', account_id: null, session_id: null, address: 'old', detail: '{}' }).execute();
      const report = await a.core.auditChain.verify();
      assert.ok(report.ok);
      assert.equal(report.unchained, 1);
    });
  });

  describe(`audit retention (${kind})`, () => {
    const clock = new ManualClock();
    let t: TestTokend;
    before(async () => {
      t = await startTokend({ db: kind, clock, config: { masterKey: MASTER_KEY } });
    });
    after(async () => t?.close());

    it('deletes old entries, records the cut, and the kept chain still verifies', async () => {
      const user = await seedAccount(t.core);
      for (let i = 0; i < 5; i++) await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: `old${i}` }, { address: 'test' });
      clock.advance(3 * 86_400_000);
      for (let i = 0; i < 3; i++) await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: `new${i}` }, { address: 'test' });
      const before = await t.core.auditChain.verify();
      assert.ok(before.ok);

      const cut = await t.core.auditChain.applyRetention(86_400_000, 'retention');
      assert.ok(cut);
      assert.ok(cut.deleted >= 7, `deleted ${cut.deleted}`);
      const after = await t.core.auditChain.verify();
      assert.ok(after.ok, JSON.stringify(after));
      assert.equal(after.firstSeq, cut.keptFromSeq);
      assert.equal(after.entries, 4, 'three new entries and the checkpoint');
      const k = t.services.db.dialect.db;
      const checkpoint = await k.selectFrom('audit_events').selectAll().where('type', '=', 'audit.retention_cut').executeTakeFirstOrThrow();
      assert.equal(JSON.parse(checkpoint.detail).keptFromSeq, cut.keptFromSeq);
      assert.equal(await t.core.auditChain.applyRetention(86_400_000, 'retention'), null, 'nothing more to cut');

      // Removing one more entry at the start is not a cut: verify names the first one left.
      const firstKept = await k.selectFrom('audit_events').selectAll().where('seq', '=', cut.keptFromSeq).executeTakeFirstOrThrow();
      await k.deleteFrom('audit_events').where('id', '=', firstKept.id).execute();
      const broken = await t.core.auditChain.verify();
      assert.equal(broken.ok, false);
      await k.insertInto('audit_events').values(firstKept).execute();

      // Everything old: the checkpoint itself starts the kept chain.
      clock.advance(3 * 86_400_000);
      const all = await t.core.auditChain.applyRetention(86_400_000, 'retention');
      assert.ok(all);
      const last = await t.core.auditChain.verify();
      assert.ok(last.ok, JSON.stringify(last));
      assert.equal(last.entries, 1);
      // And the chain goes on from there.
      await t.core.apiTokens.create({ accountId: user.accountId, format: 'native', label: 'after' }, { address: 'test' });
      const onward = await t.core.auditChain.verify();
      assert.ok(onward.ok);
      assert.equal(onward.entries, 2);
      await sql`select 1`.execute(k);
    });
  });
}
