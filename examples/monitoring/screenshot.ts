/**
 * Makes docs/monitoring-prometheus.png: a tokend on loopback (SQLite, a temp directory), a real
 * Prometheus scraping it every second, two minutes of mixed traffic (token checks that succeed,
 * checks with unknown tokens, logins), then headless Chromium rendering Prometheus's own graph
 * page for the request rate by status. Needs /usr/bin/prometheus and /usr/bin/chromium.
 *
 *   node examples/monitoring/screenshot.ts [seconds of traffic, default 120]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { seedAccount, startTokend } from '../../test/helpers/harness.ts';
import { startPrometheus } from '../../test/helpers/prometheus.ts';

const OUT = fileURLToPath(new URL('../../docs/monitoring-prometheus.png', import.meta.url));
const seconds = Number(process.argv[2] ?? 120);

const t = await startTokend({ db: 'sqlite', listen: true });
const prometheus = await startPrometheus([{ target: new URL(t.url).host }]);
try {
  const u = await seedAccount(t.core);
  const { token } = await t.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, { address: 'screenshot' });
  const until = Date.now() + seconds * 1000;
  let i = 0;
  while (Date.now() < until) {
    i++;
    const phase = (Date.now() % 60_000) / 60_000;
    const bearer = i % 5 === 0 || (phase > 0.5 && i % 3 === 0) ? '0'.repeat(32) : token;
    const res = await fetch(`${t.url}/v3/security/api/auth/auth`, { headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' } });
    await res.text();
    if (i % 50 === 0) {
      const login = await fetch(`${t.url}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: u.email, password: i % 100 === 0 ? 'wrong-password' : u.password, appId: u.appId }),
      });
      await login.text();
    }
    await sleep(5);
  }
  await sleep(3000);
  const expr = 'sum by (status) (rate(tokend_http_requests_total{job="tokend"}[30s]))';
  const page = `${prometheus.base}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=0&g0.stacked=0&g0.show_exemplars=0&g0.range_input=${Math.max(1, Math.ceil(seconds / 60))}m`;
  execFileSync('/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1280,960', '--virtual-time-budget=15000', `--screenshot=${OUT}`, page], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 120_000,
  });
  process.stdout.write(`wrote ${OUT}\n`);
} finally {
  await prometheus.stop();
  await t.close();
}
