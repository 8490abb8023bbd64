/**
 * Only hashes at rest: after real traffic, no issued token, refresh token or password appears in
 * the SQLite database file or its WAL. PostgreSQL is covered by the pg_dump check.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seedAccount, startTokend } from './helpers/harness.ts';

describe('secrets at rest (sqlite)', () => {
  it('no token, refresh token or password in the database file or WAL', async () => {
    const t = await startTokend({ db: 'sqlite' });
    const secrets: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const u = await seedAccount(t.core);
        secrets.push(u.password);
        let data = (await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } })).json().data;
        secrets.push(data.accessToken, data.refreshToken);
        for (let r = 0; r < 3; r++) {
          data = (await t.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: data.refreshToken } })).json().data;
          secrets.push(data.accessToken, data.refreshToken);
        }
        await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: `${u.password}-wrong`, appId: u.appId } });
        secrets.push(`${u.password}-wrong`);
      }
      const files = ['tokend.db', 'tokend.db-wal'].map((f) => join(t.db.dataDir, f)).filter((f) => existsSync(f));
      assert.ok(files.length >= 1);
      const bytes = files.map((f) => readFileSync(f).toString('latin1')).join('\n');
      for (const s of secrets) assert.ok(!bytes.includes(s), 'a secret was found at rest');
      // The logs carry none either.
      const logs = t.logs.join('\n');
      for (const s of secrets) assert.ok(!logs.includes(s), 'a secret was found in the logs');
    } finally {
      await t.close();
    }
  });
});
