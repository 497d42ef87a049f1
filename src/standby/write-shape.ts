// How one standby table takes the rows of a TableMeta, decided from the standby's own catalog
// (StandbyColumn, src/standby/dialect.ts), the same way for every engine:
//
// - Columns are written BY NAME: the standby's column order does not matter, and standby-only
//   columns (the standby has them, the source does not send them) are left to their defaults.
// - A column the STANDBY computes (generated / computed) is never written, whatever the source
//   says about it. After every upsert the dialect reads the computed values of the rows back in the
//   same transaction and compares them with the source's exactly: a standby whose expression
//   differs from the source's (or that computes a column the source stores plainly) stops the
//   applier naming table, column, key and both values, instead of holding other values.
// - An identity column takes the source's values: PostgreSQL `GENERATED ALWAYS` needs `OVERRIDING
//   SYSTEM VALUE` on insert, SQL Server `SET IDENTITY_INSERT … ON`; MariaDB `AUTO_INCREMENT` and
//   PostgreSQL `BY DEFAULT` take explicit values as they are. An `always` identity cannot be set by
//   an UPDATE: outside the key it is left out of the update and compared like a generated column.
// - A generated column in the standby's primary key is refused: rows are found by the key the
//   source sends.
// When ctrelay creates a table itself, every column is a plain column (a source's generated or
// identity column holds the source's values), so none of this applies to it.
import { StandbyError } from '../core/errors.ts';
import type { ColumnMeta, Row, TableMeta, Value } from '../core/model.ts';
import type { StandbyColumn } from './dialect.ts';
import { describeKey, describeValue, tableName } from './messages.ts';
import { keyString } from './row-keys.ts';

/** Why a column is read back after an upsert. */
export type CheckReason = 'generated' | 'identity';

export interface WriteShape {
  /** the TableMeta columns an INSERT writes, in TableMeta order (the standby's generated columns left out) */
  written: ColumnMeta[];
  /** the non-key written columns an UPDATE assigns (an `always` identity left out) */
  updated: ColumnMeta[];
  /** written columns that are `always` identity columns: the INSERT needs the engine's override */
  overridden: ColumnMeta[];
  /** TableMeta columns read back after an upsert and compared with the rows */
  checked: { column: ColumnMeta; why: CheckReason }[];
}

/** The shape of a table the standby does not describe (or created itself): every column plain. */
export function plainShape(table: TableMeta): WriteShape {
  const keys = new Set(table.key);
  return { written: table.columns, updated: table.columns.filter((c) => !keys.has(c.name)), overridden: [], checked: [] };
}

/**
 * How rows of `table` are written into the standby table `existing` describes. Throws a
 * StandbyError naming the table and column when a key column is generated on the standby.
 */
export function writeShape(table: TableMeta, existing: readonly StandbyColumn[], caseInsensitive: boolean, engine: string): WriteShape {
  const norm = (n: string) => (caseInsensitive ? n.toLowerCase() : n);
  const byName = new Map(existing.map((c) => [norm(c.name), c]));
  const keys = new Set(table.key);
  const shape: WriteShape = { written: [], updated: [], overridden: [], checked: [] };
  for (const col of table.columns) {
    const sb = byName.get(norm(col.name));
    const inKey = keys.has(col.name);
    if (sb?.generated) {
      if (inKey) {
        throw new StandbyError(
          `${engine} standby table ${tableName(table)}: primary key column ${sb.name} is a generated column on the standby; ` +
            'ctrelay finds rows by the key values the source sends and cannot write them into a computed column: make it a plain column on the standby',
        );
      }
      shape.checked.push({ column: col, why: 'generated' });
      continue;
    }
    shape.written.push(col);
    if (sb?.identity === 'always') {
      shape.overridden.push(col);
      if (!inKey) shape.checked.push({ column: col, why: 'identity' });
      continue;
    }
    if (!inKey) shape.updated.push(col);
  }
  return shape;
}

/** Exact equality of two canonical values (-0 and 0 differ, NaN equals NaN, bytes by content). */
export function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an && bn;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  return typeof a === typeof b && Object.is(a, b);
}

/** How an engine tells an operator to fix a column the standby computes or cannot update. */
export type CheckHint = (table: TableMeta, column: string, why: CheckReason) => string;

/**
 * After an upsert of `rows`: `readBack` holds the key and checked columns of those rows as the
 * standby now has them (canonical values). Returns a StandbyError naming table, column, key and
 * both values for the first difference (or a row the standby no longer has), else null.
 */
export function checkReadBack(table: TableMeta, shape: WriteShape, rows: readonly Row[], readBack: readonly Row[], engine: string, hint: CheckHint): StandbyError | null {
  if (shape.checked.length === 0) return null;
  const standby = new Map(readBack.map((r) => [keyString(table, r), r]));
  for (const row of rows) {
    const got = standby.get(keyString(table, row));
    const at = `${engine} standby table ${tableName(table)} at key (${describeKey(table, row)})`;
    if (!got) {
      return new StandbyError(`${at}: the row is not on the standby right after it was written (a rule or trigger of the standby removed it?); the transaction is rolled back`);
    }
    for (const { column, why } of shape.checked) {
      const want = row[column.name];
      const have = got[column.name];
      if (sameValue(want, have)) continue;
      const what =
        why === 'generated'
          ? `column ${column.name} is computed by the standby as ${describeValue(have)} but the source has ${describeValue(want)}: ` +
            "the standby's generated column does not compute what the source holds (another expression, or a column the source stores plainly)"
          : `identity column ${column.name} holds ${describeValue(have)} on the standby but the source has ${describeValue(want)}: ` +
            'the standby defines it GENERATED ALWAYS / IDENTITY, which an UPDATE cannot set';
      return new StandbyError(`${at}: ${what}. ${hint(table, column.name, why)}; the transaction is rolled back and the applier stops until then`);
    }
  }
  return null;
}
