/**
 * tokend's Prometheus metrics, with prom-client (the Prometheus client for Node.js that the
 * Prometheus project lists; it renders the text exposition format and the process collectors, so
 * nothing of that format is written by hand here).
 *
 * Names follow Prometheus's rules: the `tokend_` prefix, base units (`_seconds`), `_total` on
 * counters. Every label comes from a closed set (a dialect, a route pattern, a method, a status, a
 * kind, a reason): never a token, an account id, an address or a raw URL.
 *
 * Cost on the hot path: each labelled series is looked up once and kept (`#child`), so a request
 * costs a map lookup, a counter increment and a histogram observation; gauges of the database
 * pool and the LISTEN session are read only when Prometheus scrapes.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ChangeBus } from '../core/changes.ts';
import type { CoreMetrics } from '../core/metrics.ts';
import type { PoolStats, StoreMetrics } from '../store/metrics.ts';

/** Latency buckets (seconds): a cached check takes well under a millisecond, a login tens of them. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** What the metrics read at scrape time from the store (set once it is open). */
export interface StoreProbe {
  database: 'sqlite' | 'postgres';
  poolStats?: () => PoolStats;
  /** PostgreSQL: whether the LISTEN session that carries revocations between nodes is up. */
  listening?: () => boolean;
  /** The API-token filter (src/core/token-filter.ts): loaded or not, its tokens and bytes. */
  apiTokenFilter?: () => { state: string; entries: number; bytes: number };
}

/**
 * Counts on the hot path are plain numbers in this process, handed to prom-client only when
 * Prometheus scrapes. prom-client's own `labels(…).inc()` validates and hashes the label set on
 * every call, which measured about 10 µs of CPU per token check (bench/RESULTS.md, the check with
 * metrics on and off): a series here is found through nested maps (no string built per request)
 * and counted with `n++`; the registry still renders every family (prom-client's `collect()` hook
 * drains the counts into its counters), so the exposition format stays prom-client's.
 */
class SeriesTree<S> {
  readonly #root = new Map<string, Map<string, Map<string, Map<string, S>>>>();
  readonly #all: S[] = [];
  readonly #make: (values: [string, string, string, string]) => S;
  constructor(make: (values: [string, string, string, string]) => S) {
    this.#make = make;
  }
  get(a: string, b = '', c = '', d = ''): S {
    let l1 = this.#root.get(a);
    if (l1 === undefined) this.#root.set(a, (l1 = new Map()));
    let l2 = l1.get(b);
    if (l2 === undefined) l1.set(b, (l2 = new Map()));
    let l3 = l2.get(c);
    if (l3 === undefined) l2.set(c, (l3 = new Map()));
    let s = l3.get(d);
    if (s === undefined) {
      s = this.#make([a, b, c, d]);
      l3.set(d, s);
      this.#all.push(s);
    }
    return s;
  }
  /** Every series made so far (the label sets are closed, so this stays small). */
  all(): readonly S[] {
    return this.#all;
  }
}

/** One counter series: its labels, and what was counted since the last scrape. */
class CountedSeries {
  n = 0;
  readonly labels: Record<string, string>;
  constructor(labels: Record<string, string>) {
    this.labels = labels;
  }
  inc(): void {
    this.n++;
  }
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  names.forEach((name, i) => (labels[name] = values[i]!));
  return labels;
}

/** Counts kept here and added to `counter` when it is collected (at scrape time). */
function localCounts(names: readonly string[]): { tree: SeriesTree<CountedSeries>; drain(counter: Counter): void } {
  const tree = new SeriesTree((values) => new CountedSeries(labelsOf(names, values)));
  return {
    tree,
    drain(counter) {
      for (const s of tree.all()) {
        if (s.n === 0) continue;
        counter.inc(s.labels, s.n);
        s.n = 0;
      }
    },
  };
}

/** One series of the HTTP latency histogram: counts per bucket (not cumulative), sum and count. */
class LatencySeries {
  readonly labels: Record<string, string>;
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;
  constructor(labels: Record<string, string>, size: number) {
    this.labels = labels;
    this.buckets = new Float64Array(size);
  }
}

/**
 * The HTTP request families, `tokend_http_requests_total` and
 * `tokend_http_request_duration_seconds`, from one set of series counted in place. They are
 * registered in the prom-client registry as metrics of its own shape (`get()` answering what a
 * prom-client Counter or Histogram answers), so the registry renders them with the rest;
 * prom-client has no way to add a bucket count other than one `observe` per request.
 */
class HttpFamilies {
  readonly #bounds: readonly number[];
  readonly #series: SeriesTree<LatencySeries>;
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    const names = ['dialect', 'route', 'method', 'status'];
    this.#series = new SeriesTree((values) => new LatencySeries(labelsOf(names, values), bounds.length + 1));
  }
  observe(dialect: string, route: string, method: string, status: string, seconds: number): void {
    const s = this.#series.get(dialect, route, method, status);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
  }
  register(registry: Registry, counter: { name: string; help: string }, histogram: { name: string; help: string }): void {
    const series = this.#series;
    const bounds = this.#bounds;
    const reset = (): void => {
      for (const s of series.all()) {
        s.buckets.fill(0);
        s.sum = 0;
        s.count = 0;
      }
    };
    registry.registerMetric({
      ...counter,
      type: 'counter',
      aggregator: 'sum',
      reset,
      get: async () => ({
        ...counter,
        type: 'counter',
        aggregator: 'sum',
        values: series.all().map((s) => ({ labels: s.labels, value: s.count })),
      }),
    } as unknown as Counter);
    registry.registerMetric({
      ...histogram,
      type: 'histogram',
      aggregator: 'sum',
      reset,
      get: async () => {
        const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
        for (const s of series.all()) {
          let cumulative = 0;
          for (let i = 0; i < bounds.length; i++) {
            cumulative += s.buckets[i]!;
            values.push({ labels: { ...s.labels, le: bounds[i]! }, value: cumulative, metricName: `${histogram.name}_bucket` });
          }
          values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${histogram.name}_bucket` });
          values.push({ labels: s.labels, value: s.sum, metricName: `${histogram.name}_sum` });
          values.push({ labels: s.labels, value: s.count, metricName: `${histogram.name}_count` });
        }
        return { ...histogram, type: 'histogram', aggregator: 'sum', values };
      },
    } as unknown as Histogram);
  }
}

export class TokendMetrics implements CoreMetrics, StoreMetrics {
  readonly registry = new Registry();
  #probe: StoreProbe | null = null;

  readonly #http: HttpFamilies;
  readonly #checks: SeriesTree<CountedSeries>;
  readonly #issued: SeriesTree<CountedSeries>;
  readonly #refreshes: SeriesTree<CountedSeries>;
  readonly #reuse: SeriesTree<CountedSeries>;
  readonly #refusals: SeriesTree<CountedSeries>;
  readonly #cacheHit: CountedSeries;
  readonly #cacheMiss: CountedSeries;
  readonly #txOk: Histogram.Internal<string>;
  readonly #txFailed: Histogram.Internal<string>;
  readonly #batch: Histogram;
  readonly #lag: Histogram;
  readonly #webhooks: Counter;

  constructor(options: { processCollectors?: boolean } = {}) {
    const registers = [this.registry];
    this.#http = new HttpFamilies(LATENCY_BUCKETS);
    this.#http.register(
      this.registry,
      { name: 'tokend_http_requests_total', help: 'HTTP requests answered, by dialect, route pattern, method and status.' },
      { name: 'tokend_http_request_duration_seconds', help: 'Time from a request\'s arrival to its answer, by dialect, route pattern, method and status.' },
    );
    /** A prom-client counter whose hot-path counts are kept here and added when it is scraped. */
    const counted = (o: { name: string; help: string; labelNames: readonly string[] }): { counter: Counter; tree: SeriesTree<CountedSeries> } => {
      const local = localCounts(o.labelNames);
      const counter = new Counter({
        ...o,
        registers,
        collect() {
          local.drain(this);
        },
      });
      return { counter, tree: local.tree };
    };

    const checks = counted({
      name: 'tokend_token_checks_total',
      help: 'Token checks by kind (access, refresh, api_token, service_access) and outcome (ok, invalid, expired, revoked, …).',
      labelNames: ['kind', 'outcome'],
    });
    this.#checks = checks.tree;
    this.#issued = counted({ name: 'tokend_tokens_issued_total', help: 'Credentials issued: chatapp and service token pairs, API tokens.', labelNames: ['kind'] }).tree;
    this.#refreshes = counted({
      name: 'tokend_token_refreshes_total',
      help: 'Refreshes by scheme and outcome (ok or the reason of the refusal).',
      labelNames: ['scheme', 'outcome'],
    }).tree;
    const reuse = counted({
      name: 'tokend_refresh_reuse_detections_total',
      help: 'Rotated refresh tokens presented again after the grace period: the session was revoked.',
      labelNames: ['scheme'],
    });
    this.#reuse = reuse.tree;
    const refusals = counted({
      name: 'tokend_limit_refusals_total',
      help: 'Requests refused by a quota or rate limit, by reason (quota, login_throttled, rate_limited, …).',
      labelNames: ['reason'],
    });
    this.#refusals = refusals.tree;
    const cache = counted({ name: 'tokend_verify_cache_lookups_total', help: 'Verification-cache lookups by result (hit, miss).', labelNames: ['result'] });
    this.#cacheHit = cache.tree.get('hit');
    this.#cacheMiss = cache.tree.get('miss');

    const tx = new Histogram({
      name: 'tokend_store_transaction_duration_seconds',
      help: 'Write transactions, retries included, by outcome (committed, failed).',
      labelNames: ['outcome'] as const,
      buckets: STORE_BUCKETS,
      registers,
    });
    this.#txOk = tx.labels('committed');
    this.#txFailed = tx.labels('failed');
    this.#batch = new Histogram({
      name: 'tokend_store_group_commit_batch_size',
      help: 'SQLite: write transactions covered by one COMMIT (one fsync).',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.#lag = new Histogram({
      name: 'tokend_store_change_notification_lag_seconds',
      help: 'PostgreSQL: time from another node publishing a revocation or rotation to this node hearing it (includes the nodes\' clock difference).',
      buckets: LAG_BUCKETS,
      registers,
    });

    // Not on the hot path: one per webhook attempt, counted by prom-client directly.
    this.#webhooks = new Counter({
      name: 'tokend_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), retry (failed, tried again later), failed (failed, retry period over).',
      labelNames: ['outcome'] as const,
      registers,
    });
    for (const outcome of ['delivered', 'retry', 'failed']) this.#webhooks.labels(outcome).inc(0);

    const probe = (): StoreProbe | null => this.#probe;
    new Gauge({
      name: 'tokend_store_info',
      help: 'The database this node runs on (value 1).',
      labelNames: ['database'] as const,
      registers,
      collect() {
        this.reset();
        const p = probe();
        if (p) this.labels(p.database).set(1);
      },
    });
    // Series an alert divides by exist from the start, at 0, so that a ratio is 0, not absent.
    for (const kind of ['access', 'refresh', 'api_token', 'service_access']) checks.counter.labels(kind, 'ok').inc(0);
    for (const reason of ['quota', 'login_throttled']) refusals.counter.labels(reason).inc(0);
    for (const scheme of ['chatapp', 'service']) reuse.counter.labels(scheme).inc(0);
    cache.counter.labels('hit').inc(0);
    cache.counter.labels('miss').inc(0);

    if (options.processCollectors ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tokend_' });
  }

  /** Where the scrape-time gauges read the database's state; called once the store is open. */
  attachStore(probe: StoreProbe, changes: ChangeBus): void {
    this.#probe = probe;
    changes.subscribe((change) => {
      if (change.remote && change.sentAt !== undefined) this.#lag.observe(Math.max(0, Date.now() - change.sentAt) / 1000);
    });
    const registers = [this.registry];
    /** A gauge that reads one number at scrape time. */
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    // PostgreSQL only: SQLite has no pool and no LISTEN session, and a gauge stuck at 0 would lie.
    const { poolStats, listening, apiTokenFilter } = probe;
    if (apiTokenFilter) {
      gauge('tokend_api_token_filter_ready', '1 while the API-token filter is loaded and refusing unknown API tokens without the database, else 0 (they are looked up).', () => (apiTokenFilter().state === 'ready' ? 1 : 0));
      gauge('tokend_api_token_filter_tokens', 'Fingerprints of stored API tokens the filter holds.', () => apiTokenFilter().entries);
      gauge('tokend_api_token_filter_bytes', 'Memory the API-token filter holds, bytes.', () => apiTokenFilter().bytes);
    }
    if (poolStats) {
      new Gauge({
        name: 'tokend_store_pool_connections',
        help: 'PostgreSQL: connections of the request pool, by state (idle, busy), and its maximum (max).',
        labelNames: ['state'] as const,
        registers,
        collect() {
          const stats = poolStats();
          this.labels('idle').set(stats.idle);
          this.labels('busy').set(stats.total - stats.idle);
          this.labels('max').set(stats.max);
        },
      });
      gauge('tokend_store_pool_waiting_requests', 'PostgreSQL: requests waiting for a free connection of the pool.', () => poolStats().waiting);
    }
    if (listening) {
      gauge('tokend_store_change_listener_up', 'PostgreSQL: 1 while the LISTEN session that carries revocations from other nodes is connected, else 0.', () => (listening() ? 1 : 0));
    }
  }

  /** One answered HTTP request. `route` is the route's pattern (`/api/admin/accounts/:id`), never the URL. */
  httpRequest(dialect: string, route: string, method: string, status: number, seconds: number): void {
    this.#http.observe(dialect, route, method, statusText(status), seconds);
  }

  tokenCheck(kind: string, outcome: string): void {
    this.#checks.get(kind, outcome).inc();
  }
  issued(kind: string): void {
    this.#issued.get(kind).inc();
  }
  refreshed(scheme: string, outcome: string): void {
    this.#refreshes.get(scheme, outcome).inc();
  }
  reuseDetected(scheme: string): void {
    this.#reuse.get(scheme).inc();
  }
  refused(reason: string): void {
    this.#refusals.get(reason).inc();
  }
  webhookAttempt(outcome: 'delivered' | 'retry' | 'failed'): void {
    this.#webhooks.labels(outcome).inc();
  }
  cacheLookup(hit: boolean): void {
    (hit ? this.#cacheHit : this.#cacheMiss).inc();
  }
  transaction(seconds: number, ok: boolean): void {
    (ok ? this.#txOk : this.#txFailed).observe(seconds);
  }
  groupCommitBatch(size: number): void {
    this.#batch.observe(size);
  }

  /** The exposition, in Prometheus's text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

const STATUS_TEXT = new Map<number, string>();
/** Status codes as label values, made once each (a status is one of a few dozen codes). */
function statusText(status: number): string {
  let s = STATUS_TEXT.get(status);
  if (s === undefined) {
    s = String(status);
    STATUS_TEXT.set(status, s);
  }
  return s;
}
