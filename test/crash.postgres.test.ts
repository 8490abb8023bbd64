/**
 * Crash loops on PostgreSQL: a real `tokend serve` killed with SIGKILL under load, again and again,
 * and judged afterwards (test/helpers/crash.ts says what is checked). One file per database so
 * that `npm test` runs the two loops side by side; `npm run test:crash` runs the long mode.
 */
import { crashLoop } from './helpers/crash.ts';
import { databases } from './helpers/harness.ts';

if (databases().includes('postgres')) crashLoop('postgres');
