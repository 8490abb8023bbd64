/**
 * tokend's version, from package.json. Read at run time rather than imported, so that the compiled
 * build (dist/, at the same depth as src/) reads the same file instead of a copy of it.
 */
import { createRequire } from 'node:module';

export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Whether this module runs from the compiled build (dist/) or the TypeScript sources (src/). */
export const FROM_BUILD = import.meta.url.endsWith('.js');
