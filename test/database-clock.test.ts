/**
 * Which clock core runs on (expiry and day boundaries use the database clock on
 * PostgreSQL, so every node agrees; SQLite is one machine and keeps the system clock).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/config/load.ts';
import { ManualClock, systemClock } from '../src/core/clock.ts';
import { openServices, type Services } from '../src/services.ts';
import { DatabaseClock } from '../src/store/db-clock.ts';
import { createTestDatabase, databases, type TestDatabase } from './helpers/harness.ts';

for (const kind of databases()) {
  describe(`core's clock (${kind})`, () => {
    let db: TestDatabase;
    let s: Services;

    before(async () => {
      db = await createTestDatabase(kind);
      s = await openServices(loadConfig({ env: {}, overrides: { databaseUrl: db.url, dataDir: db.dataDir } }));
    });
    after(async () => {
      await s?.close();
      await db?.drop();
    });

    if (kind === 'sqlite') {
      it('is the system clock', () => {
        assert.equal(s.core.clock, systemClock);
      });
    } else {
      it('follows the database server: synced at start, within a round trip of its clock_timestamp()', async () => {
        const clock = s.core.clock;
        assert.ok(clock instanceof DatabaseClock);
        assert.ok(clock.synced);
        const r = await sql<{ ms: number }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(s.db.dialect.db);
        assert.ok(Math.abs(clock.now() - Number(r.rows[0]!.ms)) < 1000);
      });
    }

    it('a clock passed in (tests freezing time) wins', async () => {
      const manual = new ManualClock();
      const t = await openServices(loadConfig({ env: {}, overrides: { databaseUrl: db.url, dataDir: db.dataDir } }), { clock: manual });
      try {
        assert.equal(t.core.clock, manual);
      } finally {
        await t.close();
      }
    });
  });
}
