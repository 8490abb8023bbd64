/**
 * The worker threads of the SQLite store (checkpoints, WAL syncs): how one starts and how it stops.
 */
import { Worker } from 'node:worker_threads';
import { entryModule, type EntryModule } from '../layout.ts';

export interface StoreThread {
  worker: Worker;
  /** Resolves when the thread has exited, however. */
  exited: Promise<void>;
}

/**
 * Starts `module` (one of the entry modules of src/layout.ts) in a thread. It runs one pragma or
 * system call in a loop: a small heap keeps its isolate from growing the server's memory (V8 would
 * otherwise size it like the main one). Unref'd: never what keeps the process alive.
 */
export function startStoreThread(module: EntryModule, workerData: unknown): StoreThread {
  const worker = new Worker(entryModule(module), {
    workerData,
    resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
  });
  worker.unref();
  return { worker, exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
}

/** Asks the thread to stop and resolves once it has exited: terminated if it has not within 2 s; at once if it already died. */
export async function stopStoreThread({ worker, exited }: StoreThread): Promise<void> {
  worker.postMessage('stop');
  const timer = setTimeout(() => void worker.terminate(), 2000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
