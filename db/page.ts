import type { Knex } from 'knex';
import { ValidationError } from '../lib/errors';

/**
 * Keyset pagination for every list: a page is the rows after the cursor in a fixed order that ends
 * in a unique column, so a page costs the same at row 60,000 as at row 1 and rows inserted meanwhile
 * never shift a page. The cursor is opaque to clients: the last row's key values, as Postgres text
 * (a timestamptz keeps its microseconds, which a JS Date would lose).
 */
export interface PageRequest { limit: number; cursor?: string }
export interface Page<T> { items: T[]; next: string | null }

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** The columns a list is ordered by, all in one direction, the last unique. */
export interface PageOrder { columns: string[]; desc?: boolean }

const badCursor = () => new ValidationError('bad cursor', [{ path: 'cursor', message: 'must be the `next` of an earlier page of this list' }]);

export function encodeCursor(values: string[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, width: number): string[] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    values = null;
  }
  if (!Array.isArray(values) || values.length !== width || !values.every((v) => typeof v === 'string' && v.length <= 200)) throw badCursor();
  return values as string[];
}

/**
 * One page of `q` (a query with its filters and select, not yet ordered or limited); `map` turns a
 * row into what the list shows. Rows carry their key values as `_k0`, `_k1`... which never reach `map`.
 */
export async function keysetPage<R, T>(q: Knex.QueryBuilder, order: PageOrder, page: PageRequest, map: (row: R) => T): Promise<Page<T>> {
  const { columns, desc = false } = order;
  const refs = columns.map(() => '??').join(', ');
  if (page.cursor !== undefined) {
    const after = decodeCursor(page.cursor, columns.length);
    // A row comparison, which Postgres answers from an index on the same columns.
    q.whereRaw(`(${refs}) ${desc ? '<' : '>'} (${columns.map(() => '?').join(', ')})`, [...columns, ...after]);
  }
  for (const [i, c] of columns.entries()) q.select(q.client.raw('??::text as ??', [c, `_k${i}`]));
  for (const c of columns) q.orderBy(c, desc ? 'desc' : 'asc');
  let rows: Record<string, unknown>[];
  try {
    rows = await q.limit(page.limit + 1);
  } catch (err) {
    // A cursor made up to look like one (values that are no timestamp, say): Postgres's data exceptions are class 22.
    if (page.cursor !== undefined && /^22/.test(String((err as { code?: string }).code))) throw badCursor();
    throw err;
  }
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  const items = shown.map((r) => {
    const row = { ...r };
    for (let i = 0; i < columns.length; i++) delete row[`_k${i}`];
    return map(row as R);
  });
  return { items, next: more && last ? encodeCursor(columns.map((_, i) => String(last[`_k${i}`]))) : null };
}
