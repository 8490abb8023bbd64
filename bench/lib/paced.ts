/**
 * A steady load at a fixed rate (open loop), which wrk cannot give (its Debian build has no `-R`):
 * requests start on a schedule of ticks every 10 ms, over a few keep-alive connections, whatever
 * the answers' latency; a request that finds every connection busy waits for one (the agent's
 * queue), and the achieved rate is reported, so a machine that cannot keep up shows it.
 *
 * Runs on a worker thread of the bench (`startPaced`), so that the orchestrating thread stays free
 * to read the server's memory on time.
 */
import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface PacedOptions {
  url: string;
  /** The requests, used in turn. */
  requests: { method: string; path: string; headers?: Record<string, string>; body?: string }[];
  ratePerS: number;
  connections: number;
}

/** What the load has done so far (cumulative). */
export interface PacedProgress {
  sent: number;
  ok: number;
  failed: number;
  /** Requests scheduled but not started because every connection was busy (backlog now). */
  backlog: number;
}

export interface PacedLoad {
  progress(): PacedProgress;
  /** Stops sending, waits for what is in flight, returns the totals. */
  stop(): Promise<PacedProgress>;
}

const TICK_MS = 10;

export function startPaced(o: PacedOptions): PacedLoad {
  const worker = new Worker(new URL(import.meta.url), { workerData: o });
  let last: PacedProgress = { sent: 0, ok: 0, failed: 0, backlog: 0 };
  let failure: Error | null = null;
  worker.on('message', (m: PacedProgress) => (last = m));
  worker.on('error', (e) => (failure = e));
  return {
    progress: () => {
      if (failure) throw failure;
      return last;
    },
    stop: () =>
      new Promise((resolve, reject) => {
        worker.once('exit', () => (failure ? reject(failure) : resolve(last)));
        worker.postMessage('stop');
      }),
  };
}

function run(o: PacedOptions): void {
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  const base = new URL(o.url);
  const p: PacedProgress = { sent: 0, ok: 0, failed: 0, backlog: 0 };
  let inFlight = 0;
  let stopping = false;
  let i = 0;
  const send = (): void => {
    const r = o.requests[i++ % o.requests.length]!;
    inFlight++;
    p.sent++;
    const req = request({ host: base.hostname, port: base.port, method: r.method, path: r.path, headers: r.headers, agent, timeout: 30_000 }, (res) => {
      res.resume();
      res.once('end', () => {
        inFlight--;
        if ((res.statusCode ?? 0) < 400) p.ok++;
        else p.failed++;
      });
    });
    req.once('error', () => {
      inFlight--;
      p.failed++;
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.end(r.body);
  };
  const t0 = performance.now();
  // The schedule is absolute (requests due since the start), so a late tick catches up.
  const tick = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * o.ratePerS);
    // Never more waiting than the connections can start at once plus one tick's worth: a server
    // that falls behind shows as a lower achieved rate, not as an unbounded queue in this thread.
    const cap = o.connections + Math.ceil((o.ratePerS * TICK_MS) / 1000);
    while (p.sent < due && inFlight < cap) send();
    p.backlog = due - p.sent;
  }, TICK_MS);
  const report = setInterval(() => parentPort!.postMessage({ ...p }), 1000);
  parentPort!.on('message', () => {
    if (stopping) return;
    stopping = true;
    clearInterval(tick);
    const wait = setInterval(() => {
      if (inFlight > 0) return;
      clearInterval(wait);
      clearInterval(report);
      parentPort!.postMessage({ ...p });
      agent.destroy();
      parentPort!.close();
    }, 20);
  });
}

if (!isMainThread && workerData && (workerData as PacedOptions).ratePerS) run(workerData as PacedOptions);
