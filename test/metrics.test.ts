/**
 * `/metrics`: who may read it, what it exposes (Prometheus naming, bounded labels only), and a real
 * Prometheus server scraping it and answering a query about tokend's traffic.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { databases, seedAccount, startTokend, type TestTokend } from './helpers/harness.ts';
import { prometheusSkip, startPrometheus, type RunningPrometheus } from './helpers/prometheus.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdefghijklmnop';

/** Every `name{labels} value` sample line of an exposition. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

for (const db of databases()) {
  describe(`/metrics (${db})`, () => {
    let t: TestTokend;
    let guarded: TestTokend;
    before(async () => {
      t = await startTokend({ db, config: { trustedProxies: ['10.9.0.1'] } });
      guarded = await startTokend({ db: t.db, config: { metricsToken: METRICS_TOKEN } });
    });
    after(async () => {
      await guarded.close();
      await t.close();
    });

    it('answers loopback without credentials, in the Prometheus text format', async () => {
      for (const remoteAddress of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
        const res = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress });
        assert.equal(res.statusCode, 200, remoteAddress);
        assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
        assert.match(res.body, /^# HELP tokend_http_requests_total /m);
      }
    });

    it('is not there for anyone else without TOKEND_METRICS_TOKEN, a client behind a trusted proxy included', async () => {
      for (const [remoteAddress, xff] of [['192.0.2.1', undefined], ['10.9.0.1', '198.51.100.3'], ['::ffff:10.0.0.1', undefined]] as const) {
        const res = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers: xff ? { 'x-forwarded-for': xff } : {} });
        assert.equal(res.statusCode, 404, remoteAddress);
        assert.equal(res.json().error.code, 'not_found');
        assert.doesNotMatch(res.body, /tokend_/);
      }
      // A client cannot claim loopback through X-Forwarded-For when the proxy is not trusted.
      const forged = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '192.0.2.1', headers: { 'x-forwarded-for': '127.0.0.1' } });
      assert.equal(forged.statusCode, 404);
    });

    it('with TOKEND_METRICS_TOKEN, answers others only with that bearer token', async () => {
      const elsewhere = { remoteAddress: '192.0.2.7' };
      const none = await guarded.app.inject({ method: 'GET', url: '/metrics', ...elsewhere });
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error.code, 'invalid_token');
      assert.match(String(none.headers['www-authenticate']), /^Bearer /);
      for (const authorization of [`Bearer ${METRICS_TOKEN}x`, `Bearer ${METRICS_TOKEN.slice(0, -1)}`, `Basic ${METRICS_TOKEN}`, 'Bearer ', METRICS_TOKEN]) {
        const wrong = await guarded.app.inject({ method: 'GET', url: '/metrics', ...elsewhere, headers: { authorization } });
        assert.equal(wrong.statusCode, 401, authorization);
      }
      const right = await guarded.app.inject({ method: 'GET', url: '/metrics', ...elsewhere, headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      assert.equal(right.statusCode, 200);
      assert.match(right.body, /tokend_http_requests_total/);
      const local = await guarded.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(local.statusCode, 200);
    });

    it('follows Prometheus naming and carries no token, account id or URL in a label', async () => {
      const u = await seedAccount(t.core);
      const made = await t.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
      assert.equal(made.statusCode, 200);
      const { accessToken } = made.json().data as { accessToken: string };
      await t.app.inject({ method: 'GET', url: `/v1/tokens/${accessToken}/nope?token=${accessToken}` });
      await t.app.inject({ method: 'GET', url: `/v3/security/api/auth/auth`, headers: { authorization: `Bearer ${accessToken}` } });
      await t.app.inject({ method: 'GET', url: `/api/admin/accounts/${u.accountId}` });
      // No route: the label is `unmatched`, never the path with the account id in it.
      await t.app.inject({ method: 'GET', url: `/no-such-route/${u.accountId}` });
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.ok(!res.body.includes(accessToken), 'a token reached the metrics');
      assert.ok(!res.body.includes(u.email), 'an email reached the metrics');
      const all = samples(res.body);
      const routes = new Set([...t.routes.map((r) => r.url), 'unmatched']);
      for (const s of all) {
        assert.match(s.name, /^tokend_[a-z0-9_]+$/, s.name);
        if (s.labels.route !== undefined) assert.ok(routes.has(s.labels.route), `route label ${s.labels.route} is not a route pattern`);
        for (const [k, v] of Object.entries(s.labels)) {
          assert.ok(v.length <= 80, `${s.name}{${k}} is ${v.length} characters long`);
          if (k !== 'le') assert.notEqual(v, String(u.accountId), `${s.name}{${k}} carries the account id`);
        }
      }
      const http = all.filter((s) => s.name === 'tokend_http_requests_total');
      assert.ok(http.some((s) => s.labels.dialect === 'chatapp' && s.labels.route === '/v1/tokens' && s.labels.method === 'POST' && s.labels.status === '200'));
      assert.ok(http.some((s) => s.labels.dialect === 'invoicebox' && s.labels.status === '401'));
      assert.ok(http.some((s) => s.labels.route === 'unmatched' && s.labels.status === '404'));
      // Histograms in seconds, counters ending in _total, and the process collectors.
      for (const family of ['tokend_http_request_duration_seconds_bucket', 'tokend_store_transaction_duration_seconds_count', 'tokend_process_cpu_seconds_total', 'tokend_nodejs_eventloop_lag_seconds']) {
        assert.ok(all.some((s) => s.name === family), `${family} is missing`);
      }
      for (const name of new Set(all.map((s) => s.name))) {
        if (/_(ms|milliseconds|bytes_total_bytes)$/.test(name)) assert.fail(`${name} is not in base units`);
      }
      const store = all.find((s) => s.name === 'tokend_store_info');
      assert.equal(store?.labels.database, db);
      if (db === 'postgres') {
        assert.ok(all.some((s) => s.name === 'tokend_store_pool_connections' && s.labels.state === 'max' && s.value === 10));
        assert.ok(all.some((s) => s.name === 'tokend_store_change_listener_up' && s.value === 1));
      } else {
        assert.ok(all.some((s) => s.name === 'tokend_store_group_commit_batch_size_count' && s.value >= 1));
        assert.ok(!all.some((s) => s.name.startsWith('tokend_store_pool_')), 'SQLite has no pool');
      }
    });

    it('counts token checks by kind and outcome, issuances, refreshes, reuse, refusals and cache lookups', async () => {
      const c = await startTokend({ db: t.db, config: { refreshReuseGrace: 0, chatappDailyMakeLimit: 2 } });
      try {
        const value = async (name: string, labels: Record<string, string>): Promise<number> => {
          const res = await c.app.inject({ method: 'GET', url: '/metrics' });
          const found = samples(res.body).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
          return found?.value ?? 0;
        };
        const u = await seedAccount(c.core);
        const make = () => c.app.inject({ method: 'POST', url: '/v1/tokens', payload: { email: u.email, password: u.password, appId: u.appId } });
        const first = await make();
        assert.equal(first.statusCode, 200);
        assert.equal((await make()).statusCode, 200);
        assert.equal((await make()).statusCode, 429, 'over the daily quota');
        assert.equal(await value('tokend_tokens_issued_total', { kind: 'chatapp' }), 2);
        assert.equal(await value('tokend_limit_refusals_total', { reason: 'quota' }), 1);

        const { refreshToken } = first.json().data as { refreshToken: string };
        assert.equal((await c.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: refreshToken } })).statusCode, 200);
        assert.equal((await c.app.inject({ method: 'POST', url: '/v1/tokens/refresh', headers: { refresh: refreshToken } })).statusCode, 401);
        assert.equal(await value('tokend_token_refreshes_total', { scheme: 'chatapp', outcome: 'ok' }), 1);
        assert.equal(await value('tokend_token_refreshes_total', { scheme: 'chatapp', outcome: 'refresh_token_reused' }), 1);
        assert.equal(await value('tokend_refresh_reuse_detections_total', { scheme: 'chatapp' }), 1);

        const { token } = await c.core.apiTokens.create({ accountId: u.accountId, format: 'v3' }, { address: 'test' });
        assert.equal(await value('tokend_tokens_issued_total', { kind: 'api_token' }), 1);
        const check = (bearer: string) => c.app.inject({ method: 'GET', url: '/v3/security/api/auth/auth', headers: { authorization: `Bearer ${bearer}` } });
        const hitsBefore = await value('tokend_verify_cache_lookups_total', { result: 'hit' });
        await check(token);
        await check(token);
        await check('0'.repeat(32));
        assert.equal(await value('tokend_token_checks_total', { kind: 'api_token', outcome: 'ok' }), 2);
        assert.equal(await value('tokend_token_checks_total', { kind: 'api_token', outcome: 'invalid' }), 1);
        assert.ok((await value('tokend_verify_cache_lookups_total', { result: 'hit' })) > hitsBefore, 'the second check hit the cache');
        assert.ok((await value('tokend_verify_cache_lookups_total', { result: 'miss' })) >= 2);
      } finally {
        await c.close();
      }
    });

    it('is off with TOKEND_METRICS=false: 404, nothing counted', async () => {
      const off = await startTokend({ db: t.db, config: { metrics: false } });
      try {
        assert.equal(off.services.metrics, null);
        const res = await off.app.inject({ method: 'GET', url: '/metrics' });
        assert.equal(res.statusCode, 404);
      } finally {
        await off.close();
      }
    });
  });
}

describe('a real Prometheus scrapes tokend', { skip: prometheusSkip }, () => {
  let t: TestTokend;
  let prometheus: RunningPrometheus;
  before(async () => {
    t = await startTokend({ db: 'sqlite', listen: true });
    prometheus = await startPrometheus([{ target: new URL(t.url).host }]);
  });
  after(async () => {
    await prometheus?.stop();
    await t?.close();
  });

  it('and answers a query about tokend\'s traffic through its HTTP API', async () => {
    const u = await seedAccount(t.core);
    const N = 7;
    for (let i = 0; i < N; i++) {
      const res = await fetch(`${t.url}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: u.email, password: i % 2 ? u.password : 'wrong', appId: u.appId }),
      });
      await res.text();
    }
    const query = 'sum by (status) (tokend_http_requests_total{job="tokend",dialect="chatapp",route="/v1/tokens",method="POST"})';
    let seen: Record<string, number> = {};
    for (let i = 0; i < 150; i++) {
      seen = Object.fromEntries((await prometheus.query(query)).map((r) => [r.metric.status!, Number(r.value[1])]));
      if ((seen['200'] ?? 0) + (seen['401'] ?? 0) >= N) break;
      await sleep(200);
    }
    assert.deepEqual(seen, { '200': 3, '401': 4 });
    const up = await prometheus.query('up{job="tokend"}');
    assert.equal(up[0]?.value[1], '1');
    const latency = await prometheus.query('histogram_quantile(0.99, sum by (le) (tokend_http_request_duration_seconds_bucket{job="tokend"}))');
    assert.ok(Number(latency[0]?.value[1]) > 0);
  });
});
