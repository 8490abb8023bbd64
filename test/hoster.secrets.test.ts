/**
 * Secrets of the hoster.by scheme at rest: after real traffic, no Secret Key, refresh
 * token or access JWT is in the database (SQLite: the file and its WAL, byte for byte; PostgreSQL:
 * every row of every table), nor in the logs; signing keys' private parts are stored only sealed
 * under the master key, which lives outside the database (mode 0600 when generated).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { newToken } from '../src/secrets/tokens.ts';
import { MASTER_KEY_FILE, MasterKeyError, resolveMasterKey } from '../src/signing/master-key.ts';
import { deriveKey, open } from '../src/signing/sealed.ts';
import { listTables } from './helpers/db-inspect.ts';
import { databases, startTokend, type TestTokend } from './helpers/harness.ts';
import { assertHosterOk, CTX, hosterCalls, seedServiceKey } from './helpers/hoster.ts';

/** Everything stored, as text: the files for SQLite, every row of every table for PostgreSQL. */
async function storedText(t: TestTokend): Promise<string> {
  if (t.db.kind === 'sqlite') {
    const files = ['tokend.db', 'tokend.db-wal'].map((f) => join(t.db.dataDir, f)).filter((f) => existsSync(f));
    assert.ok(files.some((f) => f.endsWith('-wal')), 'the WAL is scanned too');
    return files.map((f) => readFileSync(f).toString('latin1')).join('\n');
  }
  const db = t.services.db.dialect.db;
  const parts: string[] = [];
  for (const table of await listTables(db, 'postgres')) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db);
    parts.push(JSON.stringify(rows.rows));
  }
  return parts.join('\n');
}

for (const db of databases()) {
  describe(`hoster.by secrets at rest (${db})`, () => {
    it('no Secret Key, refresh token or access JWT in storage or logs; signing keys sealed', async () => {
      const t = await startTokend({ db });
      try {
        const h = hosterCalls(t);
        const secrets: string[] = [];
        for (let i = 0; i < 3; i++) {
          const k = await seedServiceKey(t.core);
          secrets.push(k.secretKey);
          let pair = assertHosterOk(await h.create(k), 'create_token_success');
          secrets.push(pair.accessToken, pair.refreshToken, String(pair.accessToken).split('.')[2]!);
          for (let r = 0; r < 3; r++) {
            assertHosterOk(await h.infoAccess(pair.accessToken, k.accountId), 'access_token_info_success');
            assertHosterOk(await h.infoRefresh(k.accountId, pair.refreshToken), 'refresh_token_info_success');
            pair = assertHosterOk(await h.refresh(k.accountId, pair.refreshToken), 'refresh_token_success');
            secrets.push(pair.accessToken, pair.refreshToken);
          }
          const wrong = newToken('secretKey').token;
          await h.create({ accessKey: k.accessKey, secretKey: wrong });
          secrets.push(wrong);
          if (i === 0) await t.core.serviceAccounts.revokeKey(k.keyId, CTX);
        }
        await t.core.signing.rotate(CTX);

        // The master key: generated into the data dir, owner-only, never in the database.
        const keyFile = join(t.db.dataDir, MASTER_KEY_FILE);
        assert.equal(statSync(keyFile).mode & 0o777, 0o600);
        const masterKey = readFileSync(keyFile, 'utf8').trim();
        assert.ok(masterKey.length >= 32);
        secrets.push(masterKey);

        // Each private key opens with the master key only, and its `d` is nowhere in storage.
        const rows = await t.core.store.signingKeys.list();
        assert.equal(rows.length, 2);
        const sealKey = deriveKey(masterKey, 'jwt-signing-keys');
        for (const row of rows) {
          assert.match(row.privateJwkSealed, /^v1\./);
          const opened = open(sealKey, row.privateJwkSealed, `tokend signing key ${row.kid}`);
          assert.ok(opened, 'opens with the master key');
          const d = (JSON.parse(opened) as { d: string }).d;
          assert.ok(d.length >= 40);
          secrets.push(d);
          assert.equal(open(deriveKey('another master key of 32 characters!', 'jwt-signing-keys'), row.privateJwkSealed, `tokend signing key ${row.kid}`), null);
          assert.equal(open(sealKey, row.privateJwkSealed, 'tokend signing key another-kid'), null, 'bound to its row');
        }

        const stored = await storedText(t);
        for (const secret of secrets) assert.ok(!stored.includes(secret), `a secret (${secret.slice(0, 6)}…) was found at rest`);
        const logs = t.logs.join('\n');
        assert.ok(logs.length > 0);
        for (const secret of secrets) assert.ok(!logs.includes(secret), `a secret (${secret.slice(0, 6)}…) was found in the logs`);
      } finally {
        await t.close();
      }
    });
  });
}

describe('the master key file', () => {
  it('TOKEND_MASTER_KEY wins and writes nothing; otherwise one is generated (0600) once and then read back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokend-master-'));
    try {
      const given = resolveMasterKey({ masterKey: 'k'.repeat(32), dataDir: dir });
      assert.deepEqual(given, { key: 'k'.repeat(32), source: 'config', path: null });
      assert.deepEqual(readdirSync(dir), []);
      const generated = resolveMasterKey({ masterKey: '', dataDir: dir });
      assert.equal(generated.source, 'generated');
      assert.equal(statSync(join(dir, MASTER_KEY_FILE)).mode & 0o777, 0o600);
      const again = resolveMasterKey({ masterKey: '', dataDir: dir });
      assert.deepEqual(again, { ...generated, source: 'file' });
      assert.deepEqual(readdirSync(dir), [MASTER_KEY_FILE], 'no temporary file left behind');
      writeFileSync(join(dir, MASTER_KEY_FILE), 'short\n');
      assert.throws(() => resolveMasterKey({ masterKey: '', dataDir: dir }), MasterKeyError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('processes starting at once on one data dir all end up with the same key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokend-master-race-'));
    try {
      const moduleUrl = new URL('../src/signing/master-key.ts', import.meta.url).href;
      const script = `const m = await import(${JSON.stringify(moduleUrl)}); process.stdout.write(m.resolveMasterKey({ masterKey: '', dataDir: ${JSON.stringify(dir)} }).key);`;
      const runs = await Promise.all(
        Array.from({ length: 8 }, () => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script])),
      );
      const keys = new Set(runs.map((r) => r.stdout));
      assert.equal(keys.size, 1, 'one key for everybody');
      assert.equal([...keys][0], readFileSync(join(dir, MASTER_KEY_FILE), 'utf8').trim());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
