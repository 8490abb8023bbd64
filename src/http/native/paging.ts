/**
 * Opaque list cursors of the admin API: `?limit=&cursor=`, answered with `nextCursor` (null on the
 * last page). A cursor is the sort key of the last item sent, as base64url JSON; callers must not
 * build one, and a cursor that does not decode is a validation error (400), never a 500.
 */
import { Type } from '@sinclair/typebox';
import { InvalidInputError } from '../../core/errors.ts';
import { NextCursor } from './console-schemas.ts';

// Declared with the response schemas, which the console's compiler reads (this file uses Node's Buffer).
export { NextCursor };

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

/** Query properties every paged admin list takes; spread into the route's query schema. */
export const PageQueryProps = {
  limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: `Page size, 1-${MAX_PAGE} (default ${DEFAULT_PAGE}).` })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'The `nextCursor` of the previous page.' })),
};

export type PageQuery = { limit?: string; cursor?: string };

export function pageLimit(query: PageQuery): number {
  const n = query.limit === undefined ? DEFAULT_PAGE : Number(query.limit);
  if (n > MAX_PAGE) throw new InvalidInputError('limit', `must be at most ${MAX_PAGE}`);
  return n;
}

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/**
 * The sort key inside `cursor`, checked by `valid`; undefined when there is no cursor.
 * A cursor that does not decode, or decodes to something `valid` refuses, is InvalidInputError('cursor').
 */
export function decodeCursor<T>(cursor: string | undefined, valid: (key: unknown) => key is T): T | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidInputError('cursor', 'is not a cursor this API handed out');
  }
  if (!valid(key)) throw new InvalidInputError('cursor', 'is not a cursor this API handed out');
  return key;
}

/** `{items, nextCursor}` from one more row than asked for: the extra row only says a next page exists. */
export function page<R, V>(rows: readonly R[], limit: number, view: (row: R) => V, keyOf: (row: R) => unknown): { items: V[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(view), nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}

export type Paged<V> = { items: V[]; nextCursor: string | null };

/**
 * One page of a keyset-paged list, from the query's `limit` and `cursor` (the last row's key, as
 * `valid` accepts it): `read` is asked for one row more than the page holds, which tells whether
 * another page follows.
 */
export async function keysetPage<K, R, V>(
  query: PageQuery,
  valid: (key: unknown) => key is K,
  read: (limit: number, after: K | undefined) => Promise<readonly R[]>,
  view: (row: R) => V,
  keyOf: (row: R) => unknown,
): Promise<Paged<V>> {
  const limit = pageLimit(query);
  return page(await read(limit + 1, decodeCursor(query.cursor, valid)), limit, view, keyOf);
}
