/**
 * What a writer thread would give the durable refresh on this machine, measured without tokend:
 * the HTTP floor (a bare Fastify POST route), the same route answering after the refresh's
 * statements are committed on the event loop (inline: the one-core ceiling of the durable rows,
 * as a server; and with the log synced by a thread of its own, tokend's layout), and the same route
 * with a worker thread owning the write connection (one batch in flight, or two, so that the worker
 * starts the next batch while the event loop answers the last; or with the log synced by a thread
 * of its own beside the worker): server.ts describes each.
 * The request is the ChatApp refresh as the durable rows send it (the token in a `Refresh` header).
 * Rounds interleaved, wrk with 32 connections on loopback; per round: throughput, the server's
 * CPU per response by thread, and wrk's own CPU per request (it shares the two cores).
 *
 *   node bench/writer-thread/run.ts [rounds, default 5] [seconds, default 10]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, specTarget, startFloor } from '../lib/peers.ts';
import { freePort, spawnServer, stopChild, type Server } from '../lib/procs.ts';
import { median } from '../lib/stats.ts';

const [rounds = 5, seconds = 10] = process.argv.slice(2).map(Number);
const work = mkdtempSync(join(tmpdir(), 'tokend-writer-thread-'));
const REQUEST = { method: 'POST', path: '/v1/tokens/refresh', headers: { Refresh: 'tdr_0123456789ABCDEFGHIJabcdefghij012' } };

/** CPU ticks (1/100 s) by thread name (threads of one name summed). */
function threads(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return out;
}

/** The CPU of this process's reaped children (wrk, once it has exited), in ticks. */
function childrenTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[13]) + Number(f[14]);
}

const servers: [string, Server][] = [];
try {
  servers.push(['floor', await startFloor(work)]);
  for (const [name, mode, inFlight] of [
    ['inline', 'inline', '1'],
    ['inline, log synced by a thread', 'inline-sync', '8'],
    ['worker', 'worker', '1'],
    ['worker, 2 batches in flight', 'worker', '2'],
    ['worker, log synced by a thread', 'worker-sync', '8'],
  ] as const) {
    const port = await freePort();
    const dir = mkdtempSync(join(work, 'db-'));
    const server = await spawnServer({
      name,
      args: [new URL('./server.ts', import.meta.url).pathname, String(port), mode, dir],
      env: { PROBE_IN_FLIGHT: inFlight },
      port,
      readyPath: '/healthz',
      logFile: join(work, `${mode}-${inFlight}.log`),
    });
    servers.push([name, server]);
  }
  for (const [name, s] of servers) {
    const r = await send(s.url, REQUEST);
    if (r.status !== 200) throw new Error(`${name} answered ${r.status} ${r.text}`);
  }
  const results = new Map<string, { rps: number[]; cpu: Map<string, number[]>; wrk: number[] }>();
  for (let round = 0; round <= rounds; round++) {
    for (const [name, s] of servers) {
      const target = specTarget({ key: name, label: name, url: s.url, specFile: join(work, `${name.replace(/\W+/g, '-')}.spec`), requests: [REQUEST], connections: 32 });
      const before = threads(s.pid!);
      const wrkBefore = childrenTicks();
      const r = await target.run(round === 0 ? 3 : seconds);
      const after = threads(s.pid!);
      const ok = r.requests - r.errors;
      if (round === 0) continue; // warm-up
      const entry = results.get(name) ?? { rps: [] as number[], cpu: new Map<string, number[]>(), wrk: [] as number[] };
      entry.rps.push(r.rps);
      entry.wrk.push(((childrenTicks() - wrkBefore) * 1e4) / ok);
      for (const [t, ticks] of after) {
        const list = entry.cpu.get(t) ?? [];
        list.push(((ticks - (before.get(t) ?? 0)) * 1e4) / ok);
        entry.cpu.set(t, list);
      }
      results.set(name, entry);
      process.stdout.write(`round ${round} ${name}: ${Math.round(r.rps)}/s${r.errors ? ` (${r.errors} errors)` : ''}\n`);
    }
  }
  process.stdout.write('\n| server | responses/s (median) | CPU per response by thread (µs, medians; > 1 µs) | wrk CPU per request (µs) |\n|---|---:|---|---:|\n');
  for (const [name, e] of results) {
    const cpu = [...e.cpu].map(([t, v]) => [t, median(v)] as const).filter(([, v]) => v > 1).sort((a, b) => b[1] - a[1]);
    process.stdout.write(`| ${name} | ${Math.round(median(e.rps))} | ${cpu.map(([t, v]) => `${t} ${v.toFixed(0)}`).join(', ')} | ${median(e.wrk).toFixed(0)} |\n`);
  }
  const m = (n: string) => median(results.get(n)!.rps);
  process.stdout.write(`\nagainst inline: ${[...results.keys()].filter((n) => n !== 'floor' && n !== 'inline').map((n) => `${n} ${(m(n) / m('inline')).toFixed(2)}`).join('; ')}; inline / floor: ${(m('inline') / m('floor')).toFixed(2)}\n`);
} finally {
  for (const [, s] of servers) await stopChild(s.child);
  rmSync(work, { recursive: true, force: true });
}
