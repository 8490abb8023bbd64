/**
 * The load generator: wrk (C, epoll) on loopback. On a small machine the generator shares the CPU
 * with the server under test, and wrk spends a fraction of what a Node generator such as
 * autocannon spends per request, so the server, not the generator, is what saturates.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const WRK_DIR = new URL('../wrk/', import.meta.url).pathname;

export interface SpecRequest {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

/** Writes requests in the line format bench/wrk/requests.lua reads. */
export function writeSpec(file: string, requests: readonly SpecRequest[]): string {
  const lines = requests.map((r) => {
    const headers = Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`);
    for (const part of [r.path, r.body ?? '', ...headers]) {
      if (/[\t\n\r]/.test(part)) throw new Error('spec fields cannot contain tabs or newlines');
    }
    return [r.method, r.path, r.body ?? '', ...headers].join('\t');
  });
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export interface WrkResult {
  requests: number;
  durationS: number;
  rps: number;
  /** Responses with status >= 400, plus socket errors and timeouts. */
  errors: number;
  p50us: number;
  p90us: number;
  p99us: number;
  p999us: number;
  meanUs: number;
  /** CPU time the server process spent per successful response (when its pid is known), µs. */
  cpuUsPerReq?: number;
}

export interface WrkOptions {
  url: string;
  script: 'requests.lua' | 'chain.lua' | 'random-tokens.lua';
  scriptArgs: string[];
  connections: number;
  threads?: number;
  durationS: number;
  timeoutS?: number;
}

export function wrkVersion(): string | null {
  try {
    const out = execFileSync('wrk', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /wrk\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch (error) {
    // wrk --version exits 1 after printing its banner.
    const out = String((error as { stdout?: string }).stdout ?? '');
    return /wrk\s+(\S+)/.exec(out)?.[1] ?? null;
  }
}

/** Runs wrk once; rejects if it fails or overruns its duration by more than a margin. */
export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const threads = o.threads ?? 1;
  const args = [
    `-t${threads}`,
    `-c${Math.max(o.connections, threads)}`,
    `-d${o.durationS}s`,
    `--timeout`,
    `${o.timeoutS ?? 5}s`,
    '-s',
    join(WRK_DIR, o.script),
    o.url,
    '--',
    ...o.scriptArgs,
  ];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (o.durationS + 30) * 1000);
  const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? -1)));
  clearTimeout(killer);
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${err || out}`);
  const j = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
  const durationS = j.duration_us! / 1e6;
  return {
    requests: j.requests!,
    durationS,
    rps: (j.requests! - j.status!) / durationS,
    errors: j.status! + j.connect! + j.read! + j.write! + j.timeout!,
    p50us: j.p50_us!,
    p90us: j.p90_us!,
    p99us: j.p99_us!,
    p999us: j.p999_us!,
    meanUs: j.mean_us!,
  };
}
