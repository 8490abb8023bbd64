/**
 * examples/monitoring: the alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`), and every metric the rules and the Grafana dashboard query is one that
 * tokend exposes, so the examples cannot drift from the metrics.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { databases, startTokend } from './helpers/harness.ts';
import { PROMTOOL } from './helpers/prometheus.ts';

const DIR = fileURLToPath(new URL('../examples/monitoring/', import.meta.url));
const skip = !existsSync(PROMTOOL) && !process.env.CI ? `${PROMTOOL} is not installed (CI installs prometheus)` : false;

function promtool(...args: string[]): string {
  return execFileSync(PROMTOOL, args, { cwd: DIR, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The metric names an expression text refers to, as families (no _bucket/_count/_sum). */
function familiesIn(text: string): Set<string> {
  return new Set([...text.matchAll(/\btokend_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')));
}

describe('examples/monitoring', () => {
  it('alerts.yml passes promtool check rules', { skip }, () => {
    assert.match(promtool('check', 'rules', 'alerts.yml'), /SUCCESS: \d+ rules found/);
  });

  it('alerts.yml passes its unit tests (promtool test rules)', { skip }, () => {
    assert.match(promtool('test', 'rules', 'alerts.test.yml'), /SUCCESS/);
  });

  it('every alert has a unit test that expects it to fire', () => {
    const rules = readFileSync(`${DIR}alerts.yml`, 'utf8');
    const tests = readFileSync(`${DIR}alerts.test.yml`, 'utf8');
    const alerts = [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]!);
    assert.ok(alerts.length >= 10);
    for (const alert of alerts) {
      const firing = new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`);
      assert.match(tests, firing, `${alert} has no test in which it fires`);
    }
  });

  it('the rules and the dashboard query only metrics tokend exposes', async () => {
    const dashboard = JSON.parse(readFileSync(`${DIR}grafana-dashboard.json`, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    assert.ok(exprs.length > 10);
    const used = familiesIn([readFileSync(`${DIR}alerts.yml`, 'utf8'), ...exprs].join('\n'));
    // PostgreSQL exposes every family (its pool and LISTEN session too); SQLite its group commit.
    const exposed = new Set<string>();
    for (const db of databases()) {
      const t = await startTokend({ db });
      try {
        const res = await t.app.inject({ method: 'GET', url: '/metrics' });
        for (const m of res.body.matchAll(/^# TYPE (tokend_[a-z0-9_]+) /gm)) exposed.add(m[1]!);
      } finally {
        await t.close();
      }
    }
    const pgOnly = new Set(['tokend_store_pool_connections', 'tokend_store_pool_waiting_requests', 'tokend_store_change_listener_up']);
    for (const family of used) {
      if (!exposed.has(family) && pgOnly.has(family) && !databases().includes('postgres')) continue;
      assert.ok(exposed.has(family), `${family} is queried by examples/monitoring but tokend does not expose it`);
    }
  });
});
