/** Arguments every command group reads the same way: record ids, page sizes, lists. */
import { UsageError } from './context.ts';

/** The largest id a tokend database hands out (PostgreSQL's `integer`); a larger one names nothing. */
const MAX_ID = 2_147_483_647;

/** A numeric record id (accounts, service accounts, keys); `what` names the option or argument. */
export function parseId(raw: string, what: string): number {
  const value = raw.trim();
  if (!/^[0-9]{1,10}$/.test(value) || Number(value) < 1 || Number(value) > MAX_ID) {
    throw new UsageError(`${what} must be a numeric id (1 to ${MAX_ID}), got ${JSON.stringify(raw)}`);
  }
  return Number(value);
}

/** A string id (API tokens, sessions, operator keys, resource servers): hex digits and dashes, as lists show them. */
export function parseTextId(raw: string, what: string): string {
  const value = raw.trim();
  if (!/^[0-9a-fA-F-]{1,64}$/.test(value)) throw new UsageError(`${what} must be an id as a list shows it (hex digits and dashes), got ${JSON.stringify(raw)}`);
  return value;
}

export function parseLimit(raw: string | undefined, max = 500): number {
  if (raw === undefined) return 50;
  if (!/^[0-9]{1,3}$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > max) throw new UsageError(`--limit must be a whole number from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function parseDays(raw: string | undefined): number {
  if (raw === undefined) return 7;
  if (!/^[0-9]{1,2}$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > 31) throw new UsageError(`--days must be a whole number from 1 to 31, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** `a,b, c` -> ['a','b','c']; at least one. */
export function parseList(raw: string, option: string, example: string): string[] {
  const items = raw.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  if (items.length === 0) throw new UsageError(`${option} must list at least one value, e.g. ${option} ${example}`);
  return items;
}
