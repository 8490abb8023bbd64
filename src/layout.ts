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
 * The URL of a module of tokend's own that runs on its own, such as a worker thread's entry:
 * `entryModule('store/wal-sync-worker')` is src/store/wal-sync-worker.ts from the sources, and
 * dist/store/wal-sync-worker.js from the build, which bundles each such module as an input of its
 * own at that path (scripts/build-server.mjs lists them).
 */
export function entryModule(path: string): URL {
  return new URL(`${path}${FROM_BUILD ? '.js' : '.ts'}`, new URL('./', import.meta.url));
}
