/**
 * The checkpointer's thread (src/store/checkpointer.ts): its own connection to the database file,
 * copying the WAL into the file with PASSIVE checkpoints, which never wait for and never block the
 * writer. Soon again while there is WAL to copy, at rest otherwise.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';

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
const db = new SqliteDatabase(file, { fileMustExist: true });
// The checkpoint syncs the database file before the WAL may be reused (durability of what it copied).
db.pragma('synchronous = FULL');
let timer: NodeJS.Timeout | null = null;
let stopped = false;
let last = -1;

function tick(): void {
  timer = null;
  if (stopped) return;
  let next = idleMs;
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
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
  parentPort!.close();
});

timer = setTimeout(tick, idleMs);
