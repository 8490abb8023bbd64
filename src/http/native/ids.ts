/**
 * The numeric record ids the console APIs take in paths and cursors (`/accounts/:id`, `before`).
 * Ids are 32-bit integer identity columns on PostgreSQL (64-bit on SQLite), so a larger number names
 * no record on any database; left through, PostgreSQL would fail the query itself ("out of range for
 * type integer") and the caller would get a 500 for a typo. The schema refuses it as a validation
 * error instead, the same on both databases.
 */

/** The largest id any tokend database hands out: PostgreSQL's `integer` (2^31 - 1). */
export const MAX_RECORD_ID = 2_147_483_647;

/** 1 to 2147483647 in decimal, without leading zeros (checked against MAX_RECORD_ID in ids.test.ts). */
export const RECORD_ID_PATTERN =
  '^(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])$';
