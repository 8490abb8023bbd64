/** Child processes of the bench: servers under test and peers, each bounded in time. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const HOST = '127.0.0.1';

/** A free TCP port on loopback (the kernel picks it; released before the server binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Server {
  name: string;
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Memory once it answered (start-up, before any load). */
  startMemory: { rssMiB: number; peakMiB: number } | null;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  args: string[];
  env?: Record<string, string>;
  port: number;
  /** A path that answers (any status below 500) once the server is ready. */
  readyPath: string;
  logFile: string;
  timeoutMs?: number;
  /** Extra node flags (for example --cpu-prof). */
  nodeFlags?: string[];
}

/** Starts `node <args>` with its output to a log file, waits until it answers on loopback. */
export async function spawnServer(o: SpawnOptions): Promise<Server> {
  const fd = openSync(o.logFile, 'a');
  const child = spawn(process.execPath, [...(o.nodeFlags ?? []), ...o.args], {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const url = `http://${HOST}:${o.port}`;
  // A start takes seconds on an idle machine; a generous bound keeps a busy one from failing the run.
  const deadline = Date.now() + (o.timeoutMs ?? 180_000);
  for (;;) {
    if (exited !== null) throw new Error(`${o.name} exited with ${exited} before it was ready; see ${o.logFile}:\n${tail(o.logFile)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${o.name} not ready within ${o.timeoutMs ?? 180_000} ms; see ${o.logFile}`);
    }
    try {
      const r = await fetch(url + o.readyPath, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status < 500) break;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return {
    name: o.name,
    url,
    port: o.port,
    pid: child.pid!,
    child,
    logFile: o.logFile,
    startMemory: memoryOf(child.pid!),
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL after a grace period: a stuck server never outlives the bench. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

/** Resident memory of a process, now and at its peak, in MiB (Linux /proc). */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used so far, in seconds (Linux /proc). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
