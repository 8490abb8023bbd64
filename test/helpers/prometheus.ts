/**
 * A real Prometheus server (Debian's `prometheus` package) on loopback, with a temp config and
 * data directory: what the metrics tests scrape tokend with, and what renders the monitoring
 * screenshot. Its HTTP API answers queries (`/api/v1/query`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './nginx.ts';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

/** A reason to skip when Prometheus is missing outside CI (CI installs it), else false. */
export const prometheusSkip: string | false = !existsSync(PROMETHEUS) && !process.env.CI ? `${PROMETHEUS} is not installed (CI installs it)` : false;

export interface RunningPrometheus {
  base: string;
  /** An instant query; the result vector. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

export interface ScrapeTarget {
  /** host:port */
  target: string;
  bearerToken?: string;
}

export async function startPrometheus(targets: ScrapeTarget[], options: { ruleFiles?: string[] } = {}): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'tokend-prometheus-'));
  const port = await freePort();
  const jobs = targets.map((t, i) =>
    [
      `  - job_name: tokend${i === 0 ? '' : `-${i}`}`,
      `    scrape_interval: 1s`,
      `    scrape_timeout: 1s`,
      ...(t.bearerToken ? [`    authorization:`, `      credentials: ${JSON.stringify(t.bearerToken)}`] : []),
      `    static_configs:`,
      `      - targets: [${JSON.stringify(t.target)}]`,
    ].join('\n'),
  );
  const rules = options.ruleFiles?.length ? `rule_files:\n${options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`).join('\n')}\n` : '';
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${rules}scrape_configs:\n${jobs.join('\n')}\n`);
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
    try {
      const res = await fetch(`${base}/-/ready`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (i >= 200) throw new Error(`prometheus did not start: ${stderr}`);
    await sleep(100);
  }
  return {
    base,
    async query(promql) {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] }; error?: string };
      if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
      return body.data!.result;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
