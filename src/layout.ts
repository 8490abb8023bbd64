/**
 * Where tokend's own files are, for the code that opens one by path (package.json, the console's
 * build, a worker thread's entry module). Only this module derives paths from its own URL: it sits
 * directly in src/, and its compiled copy directly in dist/, because the build puts every module
 * of the server's bundle there and checks that it did (scripts/build-server.mjs). A module anywhere
 * else may end up in any file of the bundle, so its own `import.meta.url` says nothing about where
 * the rest is.
 */

/** The directory of package.json (the root of the tokend package), as a file URL ending in `/`. */
export const PACKAGE_ROOT = new URL('../', import.meta.url);

/** Whether this module runs from the compiled build (dist/) or the TypeScript sources (src/). */
export const FROM_BUILD = import.meta.url.endsWith('.js');

/**
 * The modules of src/ that run on their own, besides main.ts: the worker threads' entries. The
 * build bundles each as an input of its own, at its path under dist/ (scripts/build-server.mjs
 * reads this list).
 */
export const ENTRY_MODULES = ['store/checkpoint-worker', 'store/wal-sync-worker'] as const;
export type EntryModule = (typeof ENTRY_MODULES)[number];

/**
 * The URL of one of ENTRY_MODULES: `entryModule('store/wal-sync-worker')` is
 * src/store/wal-sync-worker.ts from the sources, and dist/store/wal-sync-worker.js from the build.
 */
export function entryModule(path: EntryModule): URL {
  return new URL(`${path}${FROM_BUILD ? '.js' : '.ts'}`, new URL('./', import.meta.url));
}
