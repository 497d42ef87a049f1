// COPY ... FROM STDIN (text format) for a bulk load into a table that holds none of the rows' keys:
// the way pg_dump's output loads, without the upsert's conflict checks and array literals. Used by
// PgTransaction.load. pg-copy-streams (the pg driver's companion for the COPY sub-protocol) streams
// the text with backpressure, so PostgreSQL parses one chunk while the next is being built.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Row, TableMeta } from '../../core/model.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { qualified } from './pg-statements.ts';

/** Rows per chunk handed to the stream: large enough to amortise, small enough to overlap. */
const ROWS_PER_CHUNK = 2_000;
const SPECIAL = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One value in COPY's text format: `\N` for NULL; backslash, newline, CR and tab escaped. */
export function copyValue(v: Row[string] | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return SPECIAL.test(v) ? v.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]) : v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return `\\\\x${v.toString('hex')}`; // bytea's \x input, its backslash escaped for COPY
}

/** Rows `from..to` of `rows` as COPY text lines of the `names` columns. */
export function copyLines(names: readonly string[], rows: readonly Row[], from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) {
    const r = rows[i];
    for (let c = 0; c < names.length; c++) out += (c === 0 ? '' : '\t') + copyValue(r[names[c]]);
    out += '\n';
  }
  return out;
}

/**
 * Streams `rows` into `table`'s `names` columns with COPY. A row PostgreSQL refuses fails the whole
 * COPY; its error's `where` says `COPY <table>, line N`, which copyErrorRow maps back to the row.
 */
export async function copyRows(client: pg.PoolClient, table: TableMeta, names: readonly string[], rows: readonly Row[]): Promise<void> {
  const sql = `COPY ${qualified(table)} (${names.map(quoteIdent).join(', ')}) FROM STDIN`;
  function* text(): Generator<string> {
    for (let i = 0; i < rows.length; i += ROWS_PER_CHUNK) yield copyLines(names, rows, i, Math.min(i + ROWS_PER_CHUNK, rows.length));
  }
  await pipeline(Readable.from(text()), client.query(copyFrom(sql)));
}

/** The row a failed COPY names (`COPY t, line N`), or null. */
export function copyErrorRow(err: unknown, rows: readonly Row[]): Row | null {
  const where = (err as { where?: unknown })?.where;
  const m = typeof where === 'string' ? /COPY [^,]+, line (\d+)/.exec(where) : null;
  return m ? (rows[Number(m[1]) - 1] ?? null) : null;
}
