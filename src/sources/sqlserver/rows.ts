// Turns the records of windowPageStatement / snapshotChunkStatement (positional aliases k<i>, c<i>,
// m<i>) into ChangeRows and canonical Rows.
import type { ChangeRow } from '../../core/change-source.ts';
import { SourceError } from '../../core/errors.ts';
import type { Row, TableMeta } from '../../core/model.ts';
import { fromDriver, ValueConversionError } from '../../drivers/sqlserver/values.ts';

/** What the change query needs to know about a table beyond TableMeta (filled by describe). */
export interface TrackingInfo {
  /** column_id of each non-key, non-computed column when TRACK_COLUMNS_UPDATED is on; else null */
  columnIds: Map<string, number> | null;
  /** computed columns: CT does not flag them, so an update lists them as possibly changed */
  computed: Set<string>;
  /**
   * collation of each character key column (sys.columns.collation_name): a poll's window table in
   * tempdb declares its key columns with them, so that they order, compare and join like the table's
   */
  keyCollations: Map<string, string>;
}

type Rec = Record<string, unknown>;

function convert(table: TableMeta, column: string, type: Parameters<typeof fromDriver>[0], raw: unknown) {
  try {
    return fromDriver(type, raw);
  } catch (err) {
    if (err instanceof ValueConversionError) {
      throw new SourceError(`table ${table.schema}.${table.table} column ${column}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

export function decodeRow(table: TableMeta, rec: Rec): Row {
  const row: Row = {};
  table.columns.forEach((c, i) => {
    row[c.name] = convert(table, c.name, c.type, rec[`c${i}`]);
  });
  return row;
}

function toBigInt(raw: unknown, what: string): bigint {
  if (typeof raw === 'bigint') return raw;
  if (typeof raw === 'string' && /^-?\d+$/.test(raw)) return BigInt(raw);
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return BigInt(raw);
  throw new SourceError(`unexpected ${what} from SQL Server: ${String(raw)}`);
}

/** A nullable bigint from the server (versions); null stays null. */
export function versionOrNull(raw: unknown, what: string): bigint | null {
  return raw === null || raw === undefined ? null : toBigInt(raw, what);
}

/** "YYYY-MM-DD hh:mm:ss.fff" (style 121, UTC) -> "YYYY-MM-DDThh:mm:ss.fffZ" */
export function commitTimeToIso(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  const m = typeof raw === 'string' ? /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?$/.exec(raw) : null;
  if (!m) throw new SourceError(`unexpected commit_time from sys.dm_tran_commit_table: ${String(raw)}`);
  return `${m[1]}T${m[2]}${(m[3] ?? '.000').padEnd(4, '0').slice(0, 4)}Z`;
}

export function decodeChangeRow(table: TableMeta, info: Pick<TrackingInfo, 'columnIds' | 'computed'>, rec: Rec): ChangeRow {
  const version = toBigInt(rec.ct_version, 'SYS_CHANGE_VERSION');
  const rawOp = typeof rec.ct_operation === 'string' ? rec.ct_operation.trim() : '';
  if (rawOp !== 'I' && rawOp !== 'U' && rawOp !== 'D') {
    throw new SourceError(`unexpected SYS_CHANGE_OPERATION ${String(rec.ct_operation)} for ${table.schema}.${table.table}`);
  }
  const key: Row = {};
  table.key.forEach((k, i) => {
    const col = table.columns.find((c) => c.name === k)!;
    key[k] = convert(table, k, col.type, rec[`k${i}`]);
  });
  // An I/U whose row is gone from the read can only happen without snapshot isolation (a delete
  // committed after V): the key's state now is "absent", and the later delete re-sends the same D.
  const found = rec.row_found === true || rec.row_found === 1;
  const op = rawOp !== 'D' && !found ? 'D' : rawOp;
  const row = op === 'D' ? null : decodeRow(table, rec);
  let changedColumns: string[] | null = null;
  if (op === 'U' && info.columnIds && rec.ct_columns !== null && rec.ct_columns !== undefined) {
    const keySet = new Set(table.key);
    changedColumns = table.columns
      .filter((c, i) => !keySet.has(c.name) && (info.computed.has(c.name) || rec[`m${i}`] === true || rec[`m${i}`] === 1))
      .map((c) => c.name);
  }
  return { op, version, key, row, changedColumns, commitTs: commitTimeToIso(rec.ct_commit_time) };
}
