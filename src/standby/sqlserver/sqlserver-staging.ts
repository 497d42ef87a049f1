// The statements of one upsert or delete on the SQL Server standby: rows staged in a session temp
// table with parameterised multi-row INSERTs, then applied set-based from it. Pure functions
// returning the text and its parameters; identifiers go through quoteIdent, values only travel as
// @parameters.
//
// Batch or sp_executesql (src/drivers/sqlserver/params.ts): a statement WITHOUT parameters runs as
// a plain batch (session scope), one WITH parameters through sp_executesql (its own scope, where a
// #temp table created inside is dropped on return). So the statements that create the staging
// tables, and those that use them after the parameterised inserts, carry no parameters.
//
// Rows are found by key EXACTLY (exactKeyMatch, sqlserver-keys.ts): SQL Server's `=` ignores
// trailing spaces and trailing zero bytes, so a plain `=` would let one key update, delete or read
// back another key's row.
import type { Row, TableMeta } from '../../core/model.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { objectName, quoteIdent } from '../../drivers/sqlserver/quote.ts';
import { readExpression } from '../../drivers/sqlserver/reads.ts';
import { toParam, type ParamValue } from '../../drivers/sqlserver/values.ts';
import type { WriteShape } from '../write-shape.ts';
import { exactKeyMatch, KEY_COLLATION } from './sqlserver-keys.ts';
import { isCharacter, standbyColumns } from './sqlserver-types.ts';

/** SQL Server accepts 2100 parameters per request; a margin stays free. */
export const MAX_PARAMS = 2000;
/** A table value constructor (VALUES ...) holds at most 1000 rows. */
export const MAX_VALUES_ROWS = 1000;
export const ROWS_TEMP = '#ctrelay_rows';
export const KEYS_TEMP = '#ctrelay_keys';

const batch = (sql: string): Statement => ({ sql, params: {} });

/**
 * A session temp table shaped like the given columns, without identity or constraints. A batch:
 * created inside sp_executesql it would be dropped before the rows arrive. Character columns
 * collate explicitly (tempdb's collation may differ from the database's): a string key column as
 * the standby's key column does (`keyCollations`, by column name; KEY_COLLATION, what ctrelay
 * creates, when absent), or the key joins would fail or compare otherwise; the rest as the database.
 */
export function createTempStatement(temp: string, table: TableMeta, columns: string[], keyCollations: ReadonlyMap<string, string> = new Map()): Statement {
  const byName = new Map(standbyColumns(table).map((c) => [c.name, c]));
  const keys = new Set(table.key);
  const defs = columns.map((n) => {
    const c = byName.get(n)!;
    const collate = !isCharacter(c.type) ? '' : keys.has(n) && c.type.kind === 'string' ? ` COLLATE ${keyCollations.get(n) ?? KEY_COLLATION}` : ' COLLATE DATABASE_DEFAULT';
    return `  ${quoteIdent(n)} ${c.sourceType}${collate} NULL`;
  });
  return batch(`DROP TABLE IF EXISTS ${temp};
CREATE TABLE ${temp} (
${defs.join(',\n')}
);`);
}

export function rowsPerStatement(columnCount: number): number {
  return Math.max(1, Math.min(MAX_VALUES_ROWS, Math.floor(MAX_PARAMS / Math.max(1, columnCount))));
}

/**
 * INSERT INTO #temp VALUES (...), (...) for one chunk, every value a parameter. Strings and binary
 * go in as their nvarchar(max) / varbinary(max) parameter: the INSERT into a shorter staging column
 * raises an error, where a CAST would cut them silently. The other kinds are CAST from their exact
 * parameter to the column type (value-fit has already refused what a CAST would round).
 */
export function insertTempStatement(temp: string, table: TableMeta, columns: string[], rows: Row[]): Statement {
  const byName = new Map(standbyColumns(table).map((c) => [c.name, c]));
  const params: Record<string, ParamValue> = {};
  const tuples = rows.map((row, r) => {
    const vals = columns.map((n, i) => {
      const c = byName.get(n)!;
      const name = `r${r}c${i}`;
      params[name] = toParam(c.type, row[n] ?? null);
      return isCharacter(c.type) || c.type.kind === 'bytes' ? `@${name}` : `CAST(@${name} AS ${c.sourceType})`;
    });
    return `(${vals.join(', ')})`;
  });
  return { sql: `INSERT INTO ${temp} (${columns.map(quoteIdent).join(', ')}) VALUES\n${tuples.join(',\n')};`, params };
}

/**
 * Set-based upsert from the staged rows: UPDATE the keys that exist, INSERT the others. Not MERGE:
 * MERGE ... HOLDLOCK is where users of other CDC sinks report deadlocks. Update-then-insert is
 * safe here because exactly one applier writes these tables (fenced through Kafka) and both
 * statements run in its one apply transaction, whose exclusive locks are held to commit: no other
 * writer can insert a key between the UPDATE and the NOT EXISTS check.
 * Columns by name, as `shape` says (src/standby/write-shape.ts): computed columns are never
 * written; an IDENTITY column is never assigned by UPDATE (SQL Server forbids it) and is inserted
 * with IDENTITY_INSERT on, so the standby keeps the source's values. The staging table is dropped
 * at the end unless `keepStaged` (the read-back then reads and drops it). A batch: it reads the
 * session's staging table. IDENTITY_INSERT is session state: when this batch fails between ON and
 * OFF, the transaction turns it off before it ends, or closes the connection (SqlServerTransaction).
 */
export function upsertFromTempStatement(table: TableMeta, shape: WriteShape, keepStaged = false): Statement {
  const t = objectName(table);
  const on = exactKeyMatch(table);
  const cols = shape.written.map((c) => quoteIdent(c.name));
  const parts: string[] = [];
  if (shape.updated.length > 0) {
    parts.push(`UPDATE t SET ${shape.updated.map((c) => `t.${quoteIdent(c.name)} = s.${quoteIdent(c.name)}`).join(', ')}
FROM ${t} AS t
INNER JOIN ${ROWS_TEMP} AS s ON ${on};`);
  }
  const identity = shape.overridden.length > 0;
  if (identity) parts.push(`SET IDENTITY_INSERT ${t} ON;`);
  parts.push(`INSERT INTO ${t} (${cols.join(', ')})
SELECT ${cols.map((c) => `s.${c}`).join(', ')}
FROM ${ROWS_TEMP} AS s
WHERE NOT EXISTS (SELECT 1 FROM ${t} AS t WHERE ${on});`);
  if (identity) parts.push(`SET IDENTITY_INSERT ${t} OFF;`);
  if (!keepStaged) parts.push(`DROP TABLE ${ROWS_TEMP};`);
  return batch(parts.join('\n'));
}

/** Turns IDENTITY_INSERT off for each of `tables` (quoted two-part names); a no-op where it is off. */
export function identityInsertOffStatement(tables: readonly string[]): Statement {
  return batch(tables.map((t) => `SET IDENTITY_INSERT ${t} OFF;`).join('\n'));
}

/**
 * The key and the checked columns (write-shape.ts) of the staged rows as the standby now holds them,
 * aliased [c0], [c1], ... in that order and read losslessly as scans read them; then drops the
 * staging table. A batch, like the upsert.
 */
export function readBackStatement(table: TableMeta, shape: WriteShape): Statement {
  const byName = new Map(standbyColumns(table).map((c) => [c.name, c]));
  const cols = [...table.key, ...shape.checked.map((c) => c.column.name)].map((n) => byName.get(n)!);
  return batch(`SELECT ${cols.map((c, i) => `${readExpression(`t.${quoteIdent(c.name)}`, c)} AS [c${i}]`).join(', ')}
FROM ${objectName(table)} AS t
INNER JOIN ${ROWS_TEMP} AS s ON ${exactKeyMatch(table)};
DROP TABLE ${ROWS_TEMP};`);
}

/** Deletes the staged keys (exactly those: never a key SQL Server only compares equal); a batch, like the upsert. */
export function deleteFromTempStatement(table: TableMeta): Statement {
  return batch(`DELETE t
FROM ${objectName(table)} AS t
INNER JOIN ${KEYS_TEMP} AS s ON ${exactKeyMatch(table)};
DROP TABLE ${KEYS_TEMP};`);
}
