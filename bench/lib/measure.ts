/** Rounds, interleaved across targets, summarised by medians; and a fixed-rate latency probe. */
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { median, percentile } from './stats.ts';
import type { WrkResult } from './wrk.ts';

export interface Target {
  key: string;
  label: string;
  run(durationS: number): Promise<WrkResult>;
}

export interface Summary {
  key: string;
  label: string;
  /** Median over rounds of successful responses per second. */
  rps: number;
  /** Medians over rounds of each round's percentile, microseconds. */
  p50us: number;
  p99us: number;
  errors: number;
  requests: number;
  rounds: number[];
  /** Median over rounds of the server's CPU time per response, µs (NaN when not measured). */
  cpuUsPerReq: number;
}

export interface RoundPlan {
  rounds: number;
  durationS: number;
  warmupS: number;
  log: (line: string) => void;
}

/**
 * Runs every target once per round, in turn (A B C A B C …), so slow drift of the machine
 * (another process, thermal, the page cache) lands on all of them alike; medians over rounds.
 */
export async function interleaved(targets: readonly Target[], plan: RoundPlan): Promise<Map<string, Summary>> {
  const runs = new Map<string, WrkResult[]>(targets.map((t) => [t.key, []]));
  for (const t of targets) {
    if (plan.warmupS > 0) await t.run(plan.warmupS);
  }
  for (let r = 0; r < plan.rounds; r++) {
    for (const t of targets) {
      const result = await t.run(plan.durationS);
      runs.get(t.key)!.push(result);
      plan.log(`    round ${r + 1}/${plan.rounds} ${t.label}: ${Math.round(result.rps)} req/s, p50 ${(result.p50us / 1000).toFixed(2)} ms, p99 ${(result.p99us / 1000).toFixed(2)} ms${result.cpuUsPerReq !== undefined ? `, ${result.cpuUsPerReq.toFixed(0)} µs CPU/req` : ''}${result.errors ? `, ${result.errors} errors` : ''}`);
    }
  }
  const out = new Map<string, Summary>();
  for (const t of targets) out.set(t.key, summarise(t.key, t.label, runs.get(t.key)!));
  return out;
}

export function summarise(key: string, label: string, results: readonly WrkResult[]): Summary {
  return {
    key,
    label,
    rps: median(results.map((r) => r.rps)),
    p50us: median(results.map((r) => r.p50us)),
    p99us: median(results.map((r) => r.p99us)),
    errors: results.reduce((s, r) => s + r.errors, 0),
    requests: results.reduce((s, r) => s + r.requests, 0),
    rounds: results.map((r) => r.rps),
    cpuUsPerReq: median(results.map((r) => r.cpuUsPerReq ?? Number.NaN)),
  };
}

export interface ProbeRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface ProbeResult {
  samplesUs: number[];
  statuses: Map<number, number>;
}

/**
 * Sends requests one at a time over one keep-alive connection, at most `ratePerS`, for
 * `durationMs` (or `count` requests), and records each one's latency. Low, fixed load: this is
 * how a latency-sensitive caller sees the server, whatever else the server is doing.
 */
export async function probe(
  url: string,
  next: (i: number) => ProbeRequest,
  o: { ratePerS: number; durationMs?: number; count?: number },
): Promise<ProbeResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const base = new URL(url);
  const samplesUs: number[] = [];
  const statuses = new Map<number, number>();
  const interval = 1000 / o.ratePerS;
  const deadline = performance.now() + (o.durationMs ?? Number.POSITIVE_INFINITY);
  const count = o.count ?? Number.POSITIVE_INFINITY;
  try {
    for (let i = 0; i < count && performance.now() < deadline; i++) {
      const due = performance.now() + interval;
      const r = next(i);
      const t0 = performance.now();
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          { host: base.hostname, port: base.port, method: r.method, path: r.path, headers: r.headers, agent, timeout: 30_000 },
          (res) => {
            res.resume();
            res.once('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.once('error', reject);
        req.once('timeout', () => req.destroy(new Error('probe request timed out')));
        req.end(r.body);
      });
      samplesUs.push((performance.now() - t0) * 1000);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
  } finally {
    agent.destroy();
  }
  return { samplesUs, statuses };
}

export function latencyOf(samplesUs: readonly number[]): { p50us: number; p99us: number; n: number } {
  return { p50us: percentile(samplesUs, 50), p99us: percentile(samplesUs, 99), n: samplesUs.length };
}
