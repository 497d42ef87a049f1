// The SideSnapshot every SQL engine shares: the statements are built from the engine's dialect
// (EngineSql: canonical text of each type, key literals, quoting, paging) and run on one connection
// inside one read-only snapshot transaction. Key predicates compare the key columns as they are
// (so the primary key's index serves every chunk), never their canonical text.
import type { ColumnMeta, TableRef } from '../../core/model.ts';
import { keyText, type CanonRow, type ChunkSum, type Key, type KeyRange, type SideSnapshot, type VerifyTable } from '../side.ts';

/** A connection's query: positional parameters, each row as an array of texts (null for NULL). */
export type Query = (sql: string, params: readonly string[]) => Promise<(string | null)[][]>;

export interface EngineSql {
  quote(name: string): string;
  table(t: TableRef): string;
  /** the canonical text of a column's value (null stays null); see engines/README.md */
  canonical(column: string, c: ColumnMeta): string;
  /** the canonical text of a key column, which keyParam turns back into the column's type */
  keyText(column: string, c: ColumnMeta): string;
  /** the SQL of positional parameter `index` (0-based) holding a keyText, typed as the column */
  keyParam(index: number, c: ColumnMeta): string;
  /** ORDER BY term of a key column in the common key order */
  orderTerm(column: string, c: ColumnMeta): string;
  /**
   * `(a, b) > (x, y)` (or <=) over the key columns, in a form this engine's range optimiser uses;
   * `param(j)` gives a fresh placeholder bound to key column j (called in placeholder order)
   */
  tupleCompare(left: string[], op: '>' | '<=', param: (j: number) => string): string;
  /** count and sum of the row hashes, over the row-hash expression */
  aggregate(rowHash: string): string;
  /** the row hash: 64 bits of a digest of the canonical texts (NULL as 'N') joined by ',', as signed decimal text */
  rowHash(canonicals: string[]): string;
  /** `<byte length>:<text>` of a string expression (NULL stays NULL) */
  lengthPrefixed(expr: string): string;
  limitOffset(limit: number, offset: number): string;
}

/** Strings carry their byte length, so that joining canonical texts with ',' stays unambiguous. */
export const STRING_KINDS = new Set(['string', 'json', 'xml']);

export class SqlSnapshot implements SideSnapshot {
  constructor(
    protected readonly sql: EngineSql,
    protected readonly query: Query,
    readonly version: bigint,
    private readonly locate: (t: VerifyTable) => TableRef,
    private readonly existsSql: (t: TableRef) => { sql: string; params: string[] },
    private readonly finish: () => Promise<void>,
  ) {}

  protected cols(t: VerifyTable) {
    // qualified: PostgreSQL resolves ORDER BY "id" to an output column named id (the key's
    // canonical TEXT) before the table's column, which would page numbers in text order
    const q = t.columns.map((c) => `v.${this.sql.quote(c.name)}`);
    const key = q.slice(0, t.keyCount);
    return {
      from: `${this.sql.table(this.locate(t))} v`,
      key,
      keyTexts: key.map((k, i) => this.sql.keyText(k, t.columns[i])),
      order: key.map((k, i) => this.sql.orderTerm(k, t.columns[i])).join(', '),
      canon: q.map((c, i) => this.sql.canonical(c, t.columns[i])),
    };
  }

  /** WHERE clause and parameters of a key range, params numbered from `first` */
  protected where(t: VerifyTable, range: KeyRange, first = 0): { sql: string; params: string[] } {
    const { key } = this.cols(t);
    const keyCols = t.columns.slice(0, t.keyCount);
    const parts: string[] = [];
    const params: string[] = [];
    const bound = (k: Key, op: '>' | '<=') => {
      parts.push(this.sql.tupleCompare(key, op, (j) => {
        params.push(k[j]);
        return this.sql.keyParam(first + params.length - 1, keyCols[j]);
      }));
    };
    if (range.lo) bound(range.lo, '>');
    if (range.hi) bound(range.hi, '<=');
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
  }

  async exists(t: VerifyTable): Promise<boolean> {
    const e = this.existsSql(this.locate(t));
    return (await this.query(e.sql, e.params)).length > 0;
  }

  async keyAt(t: VerifyTable, lo: Key | null, offset: number): Promise<Key | null> {
    const c = this.cols(t);
    const w = this.where(t, { lo, hi: null });
    const rows = await this.query(`SELECT ${c.keyTexts.join(', ')} FROM ${c.from} ${w.sql} ORDER BY ${c.order} ${this.sql.limitOffset(1, offset - 1)}`, w.params);
    return rows.length === 0 ? null : (rows[0] as string[]);
  }

  async checksum(t: VerifyTable, range: KeyRange): Promise<ChunkSum> {
    const c = this.cols(t);
    const w = this.where(t, range);
    const [[count, sum]] = await this.query(`SELECT ${this.sql.aggregate(this.sql.rowHash(this.hashed(t, c.canon)))} FROM ${c.from} ${w.sql}`, w.params);
    return { count: BigInt(count ?? 0), sum: sum ?? '0' };
  }

  async rowHashes(t: VerifyTable, range: KeyRange): Promise<{ key: Key; hash: string }[]> {
    const c = this.cols(t);
    const w = this.where(t, range);
    const rows = await this.query(`SELECT ${this.sql.rowHash(this.hashed(t, c.canon))}, ${c.keyTexts.join(', ')} FROM ${c.from} ${w.sql} ORDER BY ${c.order}`, w.params);
    return rows.map((r) => ({ hash: r[0] as string, key: r.slice(1) as string[] }));
  }

  async rows(t: VerifyTable, keys: readonly Key[]): Promise<Map<string, CanonRow>> {
    const out = new Map<string, CanonRow>();
    const c = this.cols(t);
    const keyCols = t.columns.slice(0, t.keyCount);
    // in batches: every key is its own parameters, engines cap a statement's parameters
    const per = Math.max(1, Math.floor(1000 / t.keyCount));
    for (let i = 0; i < keys.length; i += per) {
      const batch = keys.slice(i, i + per);
      const params: string[] = [];
      const alts = batch.map((k) => {
        const eq = keyCols.map((col, j) => `${c.key[j]} = ${this.sql.keyParam(params.length + j, col)}`);
        params.push(...k);
        return `(${eq.join(' AND ')})`;
      });
      const rows = await this.query(`SELECT ${c.keyTexts.join(', ')}, ${c.canon.join(', ')} FROM ${c.from} WHERE ${alts.join(' OR ')}`, params);
      for (const r of rows) out.set(keyText(r.slice(0, t.keyCount) as string[]), r.slice(t.keyCount));
    }
    return out;
  }

  /** canonical texts as hashed: NULL marked, strings length-prefixed */
  private hashed(t: VerifyTable, canon: string[]): string[] {
    return canon.map((expr, i) => (STRING_KINDS.has(t.columns[i].type.kind) ? this.sql.lengthPrefixed(expr) : expr));
  }

  end(): Promise<void> {
    return this.finish();
  }
}
