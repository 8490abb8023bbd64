/**
 * The hot-path counts kept outside prom-client: what a scrape shows must be what was counted, the
 * same as prom-client's own counters and histograms would show, scrape after scrape.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { TokendMetrics } from './metrics.ts';

function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics counted in place', () => {
  it('renders cumulative buckets, sum and count of the HTTP histogram, and the request counter from the same series', async () => {
    const m = new TokendMetrics({ processCollectors: false });
    for (const s of [0.0004, 0.0005, 0.0007, 0.003, 20]) m.httpRequest('native', '/healthz', 'GET', 200, s);
    m.httpRequest('native', '/healthz', 'GET', 503, 0.002);
    const { body } = await m.render();
    const l = 'dialect="native",route="/healthz",method="GET",status="200"';
    assert.equal(sample(body, `tokend_http_requests_total{${l}}`), 5);
    assert.equal(sample(body, `tokend_http_request_duration_seconds_bucket{${l},le="0.0005"}`), 2, 'a value on a bound falls in that bucket');
    assert.equal(sample(body, `tokend_http_request_duration_seconds_bucket{${l},le="0.001"}`), 3);
    assert.equal(sample(body, `tokend_http_request_duration_seconds_bucket{${l},le="0.005"}`), 4);
    assert.equal(sample(body, `tokend_http_request_duration_seconds_bucket{${l},le="10"}`), 4);
    assert.equal(sample(body, `tokend_http_request_duration_seconds_bucket{${l},le="+Inf"}`), 5);
    assert.equal(sample(body, `tokend_http_request_duration_seconds_count{${l}}`), 5);
    assert.ok(Math.abs(sample(body, `tokend_http_request_duration_seconds_sum{${l}}`)! - 20.0046) < 1e-9);
    assert.equal(sample(body, 'tokend_http_requests_total{dialect="native",route="/healthz",method="GET",status="503"}'), 1);
  });

  it('keeps counters monotonic across scrapes: counts made between two scrapes are added, none lost or counted twice', async () => {
    const m = new TokendMetrics({ processCollectors: false });
    const series = 'tokend_token_checks_total{kind="api_token",outcome="ok"}';
    assert.equal(sample((await m.render()).body, series), 0, 'the series exists from the start, at 0');
    for (let i = 0; i < 3; i++) m.tokenCheck('api_token', 'ok');
    assert.equal(sample((await m.render()).body, series), 3);
    assert.equal(sample((await m.render()).body, series), 3, 'a scrape with nothing new adds nothing');
    m.tokenCheck('api_token', 'ok');
    m.tokenCheck('api_token', 'revoked');
    m.cacheLookup(true);
    m.cacheLookup(false);
    m.cacheLookup(false);
    const { body } = await m.render();
    assert.equal(sample(body, series), 4);
    assert.equal(sample(body, 'tokend_token_checks_total{kind="api_token",outcome="revoked"}'), 1);
    assert.equal(sample(body, 'tokend_verify_cache_lookups_total{result="hit"}'), 1);
    assert.equal(sample(body, 'tokend_verify_cache_lookups_total{result="miss"}'), 2);
  });
});
