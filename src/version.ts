/**
 * tokend's version, from package.json. Read at run time rather than imported, so that the compiled
 * build (dist/) reads the same file instead of a copy of it.
 */
import { createRequire } from 'node:module';
import { PACKAGE_ROOT } from './layout.ts';

export const VERSION = (createRequire(new URL('package.json', PACKAGE_ROOT))('./package.json') as { version: string }).version;
