/**
 * The WAL sync thread (src/store/wal-sync.ts): flushes the SQLite write-ahead log to disk when
 * asked, with the same system call SQLite makes at a commit under synchronous=FULL on Linux
 * (fdatasync), and answers when it returned. One request at a time; the main thread coalesces.
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { wal } = workerData as { wal: string };
let fd: number | null = null;

parentPort!.on('message', (message: { sync: number } | 'stop') => {
  if (message === 'stop') {
    if (fd !== null) closeSync(fd);
    parentPort!.close();
    return;
  }
  try {
    // Opened at the first sync, which follows a commit: the log exists by then. SQLite keeps it
    // (same file, same inode: restarts overwrite it, size limits truncate it) while the writer's
    // connection is open, and that connection outlives this thread.
    fd ??= openSync(wal, 'r');
    fdatasyncSync(fd);
    parentPort!.postMessage({ synced: message.sync });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    parentPort!.postMessage({ synced: message.sync, error: { message: e.message, code: e.code ?? 'EIO' } });
  }
});
