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
}

/** A counter's or histogram's series, made once per label set and kept. */
class SeriesCache<S> {
  readonly #make: (labels: string[]) => S;
  readonly #series = new Map<string, S>();
  constructor(make: (labels: string[]) => S) {
    this.#make = make;
  }
  get(a: string, b = '', c = '', d = ''): S {
    const key = `${a}\u0000${b}\u0000${c}\u0000${d}`;
    let s = this.#series.get(key);
    if (s === undefined) {
      s = this.#make([a, b, c, d]);
      this.#series.set(key, s);
    }
    return s;
  }
}

interface Inc {
  inc(): void;
}
interface Observe {
  observe(value: number): void;
}

export class TokendMetrics implements CoreMetrics, StoreMetrics {
  readonly registry = new Registry();
  #probe: StoreProbe | null = null;

  readonly #httpRequests: SeriesCache<Inc>;
  readonly #httpDuration: SeriesCache<Observe>;
  readonly #checks: SeriesCache<Inc>;
  readonly #issued: SeriesCache<Inc>;
  readonly #refreshes: SeriesCache<Inc>;
  readonly #reuse: SeriesCache<Inc>;
  readonly #refusals: SeriesCache<Inc>;
  readonly #cacheHit: Inc;
  readonly #cacheMiss: Inc;
  readonly #txOk: Observe;
  readonly #txFailed: Observe;
  readonly #batch: Observe;
  readonly #lag: Observe;

  constructor(options: { processCollectors?: boolean } = {}) {
    const registers = [this.registry];
    const httpRequests = new Counter({
      name: 'tokend_http_requests_total',
      help: 'HTTP requests answered, by dialect, route pattern, method and status.',
      labelNames: ['dialect', 'route', 'method', 'status'] as const,
      registers,
    });
    const httpDuration = new Histogram({
      name: 'tokend_http_request_duration_seconds',
      help: 'Time from a request\'s arrival to its answer, by dialect, route pattern, method and status.',
      labelNames: ['dialect', 'route', 'method', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#httpRequests = new SeriesCache((l) => httpRequests.labels(l[0]!, l[1]!, l[2]!, l[3]!));
    this.#httpDuration = new SeriesCache((l) => httpDuration.labels(l[0]!, l[1]!, l[2]!, l[3]!));

    const checks = new Counter({
      name: 'tokend_token_checks_total',
      help: 'Token checks by kind (access, refresh, api_token, service_access) and outcome (ok, invalid, expired, revoked, …).',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    });
    this.#checks = new SeriesCache((l) => checks.labels(l[0]!, l[1]!));
    const issued = new Counter({
      name: 'tokend_tokens_issued_total',
      help: 'Credentials issued: chatapp and service token pairs, API tokens.',
      labelNames: ['kind'] as const,
      registers,
    });
    this.#issued = new SeriesCache((l) => issued.labels(l[0]!));
    const refreshes = new Counter({
      name: 'tokend_token_refreshes_total',
      help: 'Refreshes by scheme and outcome (ok or the reason of the refusal).',
      labelNames: ['scheme', 'outcome'] as const,
      registers,
    });
    this.#refreshes = new SeriesCache((l) => refreshes.labels(l[0]!, l[1]!));
    const reuse = new Counter({
      name: 'tokend_refresh_reuse_detections_total',
      help: 'Rotated refresh tokens presented again after the grace period: the session was revoked.',
      labelNames: ['scheme'] as const,
      registers,
    });
    this.#reuse = new SeriesCache((l) => reuse.labels(l[0]!));
    const refusals = new Counter({
      name: 'tokend_limit_refusals_total',
      help: 'Requests refused by a quota or rate limit, by reason (quota, login_throttled, rate_limited, …).',
      labelNames: ['reason'] as const,
      registers,
    });
    this.#refusals = new SeriesCache((l) => refusals.labels(l[0]!));
    const cache = new Counter({
      name: 'tokend_verify_cache_lookups_total',
      help: 'Verification-cache lookups by result (hit, miss).',
      labelNames: ['result'] as const,
      registers,
    });
    this.#cacheHit = cache.labels('hit');
    this.#cacheMiss = cache.labels('miss');

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
    for (const kind of ['access', 'refresh', 'api_token', 'service_access']) checks.labels(kind, 'ok').inc(0);
    for (const reason of ['quota', 'login_throttled']) refusals.labels(reason).inc(0);
    for (const scheme of ['chatapp', 'service']) reuse.labels(scheme).inc(0);
    cache.labels('hit').inc(0);
    cache.labels('miss').inc(0);

    if (options.processCollectors ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tokend_' });
  }

  /** Where the scrape-time gauges read the database's state; called once the store is open. */
  attachStore(probe: StoreProbe, changes: ChangeBus): void {
    this.#probe = probe;
    changes.subscribe((change) => {
      if (change.remote && change.sentAt !== undefined) this.#lag.observe(Math.max(0, Date.now() - change.sentAt) / 1000);
    });
    const registers = [this.registry];
    // PostgreSQL only: SQLite has no pool and no LISTEN session, and a gauge stuck at 0 would lie.
    const { poolStats, listening } = probe;
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
      new Gauge({
        name: 'tokend_store_pool_waiting_requests',
        help: 'PostgreSQL: requests waiting for a free connection of the pool.',
        registers,
        collect() {
          this.set(poolStats().waiting);
        },
      });
    }
    if (listening) {
      new Gauge({
        name: 'tokend_store_change_listener_up',
        help: 'PostgreSQL: 1 while the LISTEN session that carries revocations from other nodes is connected, else 0.',
        registers,
        collect() {
          this.set(listening() ? 1 : 0);
        },
      });
    }
  }

  /** One answered HTTP request. `route` is the route's pattern (`/api/admin/accounts/:id`), never the URL. */
  httpRequest(dialect: string, route: string, method: string, status: number, seconds: number): void {
    const code = statusText(status);
    this.#httpRequests.get(dialect, route, method, code).inc();
    this.#httpDuration.get(dialect, route, method, code).observe(seconds);
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
