/**
 * What core tells an observer: token checks, issuances, refreshes, reuse detections, refusals and
 * verification-cache lookups. A port, like the store: core calls it on the hot path and never
 * knows whether anything listens. `NO_METRICS` is the disabled implementation, a set of empty
 * functions, so a node with metrics off pays a call that does nothing. Every argument is a label
 * from a closed set (a kind, a reason): never a token, an id or anything a client chooses.
 */
export interface CoreMetrics {
  /** One token check of `kind` (`access`, `api_token`, …) ended `ok` or with its reason (`expired`, `revoked`, …). */
  tokenCheck(kind: string, outcome: string): void;
  /** New credentials were issued: `chatapp` and `service` token pairs, `api_token`. */
  issued(kind: string): void;
  /** A refresh of `scheme` ended `ok` or with its reason. */
  refreshed(scheme: string, outcome: string): void;
  /** A rotated refresh token came back after the grace period: its session was revoked. */
  reuseDetected(scheme: string): void;
  /** A request was refused by a limit: `quota`, `login_throttled`, `rate_limited`, … */
  refused(reason: string): void;
  /** A verification-cache lookup hit or missed. */
  cacheLookup(hit: boolean): void;
}

function nothing(): void {}

export const NO_METRICS: CoreMetrics = {
  tokenCheck: nothing,
  issued: nothing,
  refreshed: nothing,
  reuseDetected: nothing,
  refused: nothing,
  cacheLookup: nothing,
};

/** Tells both observers everything: Prometheus's counters and the operator dashboard's (src/core/traffic.ts). */
export function bothMetrics(a: CoreMetrics, b: CoreMetrics): CoreMetrics {
  const both: Record<string, (...args: never[]) => void> = {};
  // NO_METRICS names every method: the compiler keeps it complete.
  for (const name of Object.keys(NO_METRICS) as (keyof CoreMetrics)[]) {
    both[name] = (...args: never[]) => {
      Reflect.apply(a[name], a, args);
      Reflect.apply(b[name], b, args);
    };
  }
  return both as unknown as CoreMetrics;
}
