/**
 * The writer thread of the probe: owns the write connection and commits each batch it is sent.
 * With `sync` the connection runs synchronous=NORMAL and a WalSync thread (tokend's) syncs the log
 * after each COMMIT: the worker reports a batch once that sync covers it, and meanwhile takes the
 * next one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WalSync } from '../../src/store/wal-sync.ts';
import { RefreshWriter } from '../lib/refresh-writer.ts';

const { file, walAutocheckpoint, sync } = workerData as { file: string; walAutocheckpoint: number; sync: boolean };
const writer = new RefreshWriter(file, walAutocheckpoint, sync ? 'NORMAL' : 'FULL');
const walSync = sync ? new WalSync(`${file}-wal`) : null;
parentPort!.on('message', (count: number) => {
  writer.batch(count);
  if (walSync === null) {
    parentPort!.postMessage(count);
    return;
  }
  walSync.noteCommit();
  const durable = walSync.durable();
  if (durable === undefined) parentPort!.postMessage(count);
  else void durable.then(() => parentPort!.postMessage(count));
});
