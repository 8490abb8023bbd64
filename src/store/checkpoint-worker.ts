/**
 * The checkpointer's thread (src/store/checkpointer.ts): its own connection to the database file,
 * copying the WAL into the file with PASSIVE checkpoints, which never wait for and never block the
 * writer. Soon again while there is WAL to copy, at rest otherwise.
 */
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

interface Data {
  file: string;
  busyMs: number;
  idleMs: number;
}

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

const { file, busyMs, idleMs } = workerData as Data;
// The writer created the file; a thread that found none would make an empty database beside it.
if (!existsSync(file)) throw new Error(`checkpoint thread: ${file} does not exist`);
const db = new DatabaseSync(file);
// The checkpoint syncs the database file before the WAL may be reused (durability of what it copied).
db.exec('pragma synchronous = FULL');
const checkpoint = db.prepare('pragma wal_checkpoint(PASSIVE)');
let timer: NodeJS.Timeout | null = null;
let stopped = false;
let last = -1;

function tick(): void {
  timer = null;
  if (stopped) return;
  let next = idleMs;
  try {
    const row = checkpoint.get() as CheckpointRow | undefined;
    if (row && row.log > 0) {
      const progressed = row.checkpointed !== last;
      last = row.checkpointed;
      // More to copy, and the last run moved on: come back soon. Stuck behind a reader, or done: rest.
      if (row.checkpointed < row.log && progressed) next = busyMs;
    }
  } catch (error) {
    parentPort!.postMessage({ error: (error as Error).message });
  }
  timer = setTimeout(tick, next);
}

parentPort!.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  stopped = true;
  if (timer) clearTimeout(timer);
  db.close();
  // Nothing left to keep the thread alive: it exits, and the checkpointer's stop() resolves then.
  parentPort!.close();
});

timer = setTimeout(tick, idleMs);
