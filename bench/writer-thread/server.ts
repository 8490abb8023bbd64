/**
 * The writer-thread probe's server: a bare Fastify POST route (the durable rows' HTTP floor) that
 * answers a ChatApp pair only once its refresh's statements are durable, commits grouped by what
 * is waiting (at most PROBE_IN_FLIGHT batches not yet durable, default 1; the requests that arrive
 * meanwhile make the next). The modes:
 *
 * - `inline`: the batch runs on the event loop and its COMMIT syncs the log (synchronous=FULL), as
 *   the ceiling of the durable rows assumes (one core doing HTTP and SQL);
 * - `inline-sync`: tokend's layout, the log synced by a thread of its own after each COMMIT
 *   (synchronous=NORMAL, src/store/wal-sync.ts), the next batch running meanwhile;
 * - `worker`: a worker thread owns the write connection, the event loop only sends it the batch's
 *   size and answers when it is done;
 * - `worker-sync`: that worker with the sync thread of `inline-sync`.
 *
 * The writer-thread layouts, with nothing of tokend around them.
 *
 *   node bench/writer-thread/server.ts <port> inline|inline-sync|worker|worker-sync <dir>
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import { BACKSTOP_WAL_PAGES, Checkpointer } from '../../src/store/checkpointer.ts';
import { createStore } from '../../src/store/database.ts';
import { openSqlite } from '../../src/store/dialect.ts';
import { WalSync } from '../../src/store/wal-sync.ts';
import { PAIR } from '../peers/answers.ts';
import { RefreshWriter } from '../lib/refresh-writer.ts';

const [portArg, mode, dir] = process.argv.slice(2);
const MODES = ['inline', 'inline-sync', 'worker', 'worker-sync'];
if (!MODES.includes(mode!) || !dir) throw new Error(`usage: server.ts <port> ${MODES.join('|')} <dir>`);
const file = join(dir, `probe-${mode}.db`);
const store = createStore(openSqlite(file));
await store.migrate();
await store.close();
RefreshWriter.seed(file);
const checkpointer = new Checkpointer(file);

/** Commits `count` refreshes; resolves once they are on disk. */
let commit: (count: number) => Promise<void>;
if (mode === 'inline') {
  const writer = new RefreshWriter(file, BACKSTOP_WAL_PAGES, 'FULL');
  commit = async (count) => writer.batch(count);
} else if (mode === 'inline-sync') {
  const writer = new RefreshWriter(file, BACKSTOP_WAL_PAGES, 'NORMAL');
  const walSync = new WalSync(`${file}-wal`);
  commit = async (count) => {
    writer.batch(count);
    walSync.noteCommit();
    await walSync.durable();
  };
} else {
  const sync = mode === 'worker-sync';
  const worker = new Worker(new URL('./writer-worker.ts', import.meta.url), { workerData: { file, walAutocheckpoint: BACKSTOP_WAL_PAGES, sync } });
  // Answered in the order sent: the worker commits and syncs one batch after another.
  const done: (() => void)[] = [];
  worker.on('message', () => done.shift()!());
  await new Promise((resolve) => worker.once('online', resolve));
  commit = (count) =>
    new Promise<void>((resolve) => {
      done.push(resolve);
      worker.postMessage(count);
    });
}
/** Batches sent and not yet durable, at most (inline runs one at a time whatever this says). */
const MAX_IN_FLIGHT = Number(process.env.PROBE_IN_FLIGHT ?? 1);

let waiting: (() => void)[] = [];
let inFlight = 0;
let scheduled = false;
/** Sends what is waiting as one batch, while fewer than MAX_IN_FLIGHT are; again when one ends. */
function flush(): void {
  scheduled = false;
  while (waiting.length > 0 && inFlight < MAX_IN_FLIGHT) {
    const batch = waiting;
    waiting = [];
    inFlight++;
    void commit(batch.length).then(() => {
      inFlight--;
      for (const answer of batch) answer();
      flush();
    });
  }
}

const app = Fastify({ logger: false });
app.post('/v1/tokens/refresh', async () => {
  await new Promise<void>((resolve) => {
    waiting.push(resolve);
    // The batch starts after this turn of the event loop: requests read in the same turn join it.
    if (!scheduled && inFlight < MAX_IN_FLIGHT) {
      scheduled = true;
      setImmediate(flush);
    }
  });
  return PAIR;
});
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ port: Number(portArg), host: '127.0.0.1' });
const stop = () => void app.close().then(() => checkpointer.stop()).then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
