/**
 * Fuzzing every route of every surface on PostgreSQL (test/helpers/fuzz-suite.ts says what passes).
 * One file per database so that `npm test` runs the two passes side by side; `npm run test:fuzz` runs
 * the long pass.
 */
import { fuzzEveryRoute } from './helpers/fuzz-suite.ts';
import { databases } from './helpers/harness.ts';

if (databases().includes('postgres')) fuzzEveryRoute('postgres');
