import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { SETTINGS } from '../src/config/schema.ts';

describe('configuration', () => {
  it('has documented defaults', () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.port, 8080);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.chatappAccessTtl, 24 * 3600_000);
    assert.equal(c.chatappRefreshTtl, 14 * 86_400_000);
    assert.equal(c.chatappDailyMakeLimit, 100);
    assert.equal(c.refreshReuseGrace, 10_000);
    assert.equal(c.sessionMaxLifetime, 90 * 86_400_000);
    assert.equal(c.databaseStatementTimeout, 10_000);
    assert.equal(c.databaseIdleInTransactionTimeout, 30_000);
  });

  it('takes flags over environment over defaults', () => {
    const c = loadConfig({ env: { TOKEND_PORT: '9000', TOKEND_HOST: '0.0.0.0' }, flags: { port: '9100' } });
    assert.equal(c.port, 9100);
    assert.equal(c.host, '0.0.0.0');
  });

  it('parses durations with units', () => {
    const c = loadConfig({ env: { TOKEND_CHATAPP_ACCESS_TTL: '15m', TOKEND_REFRESH_REUSE_GRACE: '500ms' } });
    assert.equal(c.chatappAccessTtl, 15 * 60_000);
    assert.equal(c.refreshReuseGrace, 500);
  });

  it('stops on a bad value with a message naming the setting and the flag', () => {
    assert.throws(
      () => loadConfig({ env: { TOKEND_PORT: 'http' } }),
      (e: unknown) => e instanceof ConfigError && /TOKEND_PORT/.test(e.message) && /--port/.test(e.message) && /"http"/.test(e.message),
    );
    assert.throws(() => loadConfig({ env: { TOKEND_CHATAPP_ACCESS_TTL: 'forever' } }), /TOKEND_CHATAPP_ACCESS_TTL/);
    assert.throws(() => loadConfig({ env: { TOKEND_DEMO: 'maybe' } }), /TOKEND_DEMO/);
    assert.throws(() => loadConfig({ env: { TOKEND_ARGON2_MEMORY_KIB: '1024' } }), /TOKEND_ARGON2_MEMORY_KIB.*at least|from 19456/);
  });

  it('takes the PostgreSQL timeouts as durations, 0 meaning none, and refuses anything else by name', () => {
    const c = loadConfig({ env: { TOKEND_DATABASE_STATEMENT_TIMEOUT: '300ms', TOKEND_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: '2m' } });
    assert.equal(c.databaseStatementTimeout, 300);
    assert.equal(c.databaseIdleInTransactionTimeout, 120_000);
    const off = loadConfig({ env: { TOKEND_DATABASE_STATEMENT_TIMEOUT: '0', TOKEND_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: '0s' } });
    assert.equal(off.databaseStatementTimeout, 0);
    assert.equal(off.databaseIdleInTransactionTimeout, 0);
    for (const env of ['TOKEND_DATABASE_STATEMENT_TIMEOUT', 'TOKEND_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT']) {
      for (const bad of ['forever', '-1s', '1.5s', '10 sec', '25h']) {
        assert.throws(
          () => loadConfig({ env: { [env]: bad } }),
          (e: unknown) => e instanceof ConfigError && e.message.startsWith(`invalid setting ${env}:`) && e.message.includes(JSON.stringify(bad)),
          `${env}=${bad}`,
        );
      }
    }
  });

  it('never echoes a secret setting back', () => {
    try {
      loadConfig({ env: { TOKEND_DATABASE_URL: 'mysql://user:hunter2@db/x' } });
      assert.fail('expected a ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.ok(!e.message.includes('hunter2'), e.message);
    }
  });

  it('is documented setting by setting in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    for (const s of Object.values(SETTINGS)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${s.env}\``));
      assert.ok(row, `${s.env} is missing from docs/configuration.md`);
      assert.ok(row.includes(`\`${s.defaultText}\``), `${s.env}: docs do not show the default ${s.defaultText}`);
      if ('flag' in s && s.flag) assert.ok(row.includes(s.flag), `${s.env}: docs do not show ${s.flag}`);
    }
    const documented = [...doc.matchAll(/^\| `(TOKEND_[A-Z0-9_]+)`/gm)].map((m) => m[1]);
    const known = new Set(Object.values(SETTINGS).map((s) => s.env));
    for (const env of documented) assert.ok(known.has(env!), `docs/configuration.md documents unknown setting ${env}`);
  });
});
