// The one rule every dialect's ensureTable applies (src/standby/dialect.ts): how an existing
// standby table must change to hold a table definition exactly. Columns are added; a column is
// WIDENED only within its family (an integer to a larger integer, a decimal to more digits on both
// sides of the point, a string to a longer string of the same kind, ...), which never changes a
// stored value; anything else (narrower, another kind, a different primary key) is refused with an
// error naming the table, the column, both types and the ways out. Pure: each engine supplies how
// it spells types (ColumnRules), this file decides.
import { StandbyError } from '../core/errors.ts';
import type { ColumnMeta, TableMeta } from '../core/model.ts';
import type { DialectLogger, StandbyColumn } from './dialect.ts';
import { tableName } from './messages.ts';

/** A column type in an engine's own terms, reduced to what decides whether one widens into another. */
export interface NativeType {
  /** the type as the engine spells it, for messages and DDL, e.g. `numeric(12,2)` */
  text: string;
  /**
   * Types that widen into one another share a family (`int`, `float`, `decimal`, `varchar`,
   * `char:utf8mb4`, `timestamp`, ...). Two families: a conversion, never done.
   */
  family: string;
  /**
   * Orders the types of a family: bytes of an integer or float, characters or bytes of a string
   * (Infinity: unbounded), fractional-second digits of a temporal type, digits before the point of
   * a decimal. Absent: the family has one size.
   */
  size?: number;
  /** decimals: digits after the point (Infinity: unconstrained) */
  scale?: number;
}

export type Verdict = 'same' | 'widen' | 'refuse';

/** Whether a column of type `existing` already is `wanted`, can be widened into it, or neither. */
export function compareTypes(existing: NativeType, wanted: NativeType): Verdict {
  if (existing.family !== wanted.family) return 'refuse';
  const es = existing.size ?? 0;
  const ws = wanted.size ?? 0;
  const ek = existing.scale ?? 0;
  const wk = wanted.scale ?? 0;
  if (es === ws && ek === wk) return 'same';
  return ws >= es && wk >= ek ? 'widen' : 'refuse';
}

/** How one engine spells and compares column types (each dialect's ensureTable supplies one). */
export interface ColumnRules {
  /** `PostgreSQL`, `MariaDB`, `SQL Server`: for messages */
  engine: string;
  /** the native type this dialect creates for `col` (throws a StandbyError naming it when it has none) */
  wanted(table: TableMeta, col: ColumnMeta): NativeType;
  /** a catalog's type text (StandbyColumn.nativeType) as a NativeType */
  parse(nativeType: string): NativeType;
  /** column names compare case-insensitively (MariaDB, SQL Server) */
  caseInsensitive: boolean;
  /** the statement an operator would run to give `column` the type `to` by hand, for messages */
  alterHint(table: TableMeta, column: string, to: NativeType): string;
  /**
   * Why this engine cannot widen `existing` in place for `col` although the types allow it (SQL
   * Server: a key column; a temporal column kept as canonical text, whose stored strings would keep
   * their old precision), else null.
   */
  cannotWiden?(table: TableMeta, existing: StandbyColumn, col: ColumnMeta): string | null;
}

/** What ensureTable must do to an existing table. Empty lists: nothing. */
export interface TableChange {
  /** columns of `table` the standby lacks: added, nullable */
  add: ColumnMeta[];
  /** columns whose type is widened in place */
  widen: { column: ColumnMeta; existing: StandbyColumn; from: NativeType; to: NativeType }[];
  /** standby columns (their standby names) whose NOT NULL is dropped */
  dropNotNull: StandbyColumn[];
  /**
   * of dropNotNull, those `table` does not have and that have no default (dropped, renamed or
   * excluded; or a standby-only column created NOT NULL without a default, which the catalog cannot
   * tell apart from a dropped one): worth a warning naming them
   */
  orphaned: StandbyColumn[];
}

export function isEmptyChange(c: TableChange): boolean {
  return c.add.length === 0 && c.widen.length === 0 && c.dropNotNull.length === 0;
}

/** A type change on the standby ctrelay will not make (narrowing, conversion, another primary key). */
export class ColumnChangeRefusedError extends StandbyError {}

const WAYS_OUT =
  'or drop the standby table and make capture re-snapshot the source table (re-enable its change tracking: ' +
  '`ctrelay ct disable` then `ctrelay ct enable` for it); the applier stops until then';

/**
 * The changes that make `existing` hold `table` exactly, or a ColumnChangeRefusedError naming every
 * column that cannot be changed safely.
 */
export function planTableChange(table: TableMeta, existing: StandbyColumn[], rules: ColumnRules): TableChange {
  const norm = (n: string) => (rules.caseInsensitive ? n.toLowerCase() : n);
  const have = new Map(existing.map((c) => [norm(c.name), c]));
  const wantedNames = new Set(table.columns.map((c) => norm(c.name)));
  const change: TableChange = { add: [], widen: [], dropNotNull: [], orphaned: [] };
  const refused: string[] = [];

  const standbyKey = existing.filter((c) => c.inKey).map((c) => norm(c.name));
  const sourceKey = table.key.map(norm);
  // a table created by hand without a primary key has none to compare; the upsert then fails loudly
  if (standbyKey.length > 0 && (standbyKey.length !== sourceKey.length || new Set([...standbyKey, ...sourceKey]).size !== sourceKey.length)) {
    refused.push(
      `its primary key on the standby is (${existing.filter((c) => c.inKey).map((c) => c.name).join(', ')}) but the source's is (${table.key.join(', ')}): ` +
        `ctrelay does not change a primary key. Change it by hand, ${WAYS_OUT}`,
    );
  }

  for (const col of table.columns) {
    const to = rules.wanted(table, col);
    const cur = have.get(norm(col.name));
    if (!cur) {
      change.add.push(col);
      continue;
    }
    const from = rules.parse(cur.nativeType);
    const verdict = compareTypes(from, to);
    const why =
      verdict !== 'widen'
        ? null
        : cur.generated
          ? 'a generated column on the standby, which ctrelay never alters (ALTER would have to restate its expression)'
          : (rules.cannotWiden?.(table, cur, col) ?? null);
    if (verdict === 'refuse' || why !== null) {
      const what =
        why ??
        (from.family !== to.family
          ? 'a change of kind, which would convert the stored values'
          : 'narrower (or fewer digits on one side of the point), which could cut or round stored values');
      refused.push(
        `column ${col.name}: the standby column is ${from.text}, the source's is ${col.sourceType || 'of another type'} now and needs ${to.text} here: ${what}. ` +
          `ctrelay only widens standby columns. If every stored value fits, change the column by hand (${rules.alterHint(table, cur.name, to)}) and restart the applier, ${WAYS_OUT}`,
      );
      continue;
    }
    if (verdict === 'widen') change.widen.push({ column: col, existing: cur, from, to });
    // a generated column is never written, so its NOT NULL never refuses a row ctrelay writes
    if (!cur.nullable && col.nullable && !table.key.includes(col.name) && !cur.generated) change.dropNotNull.push(cur);
  }
  for (const cur of existing) {
    // a column with a default (or generated, or an identity) gets a value in rows written without
    // it: a standby-only column of a pre-created table keeps its NOT NULL
    if (wantedNames.has(norm(cur.name)) || cur.nullable || cur.inKey || cur.hasDefault) continue;
    change.dropNotNull.push(cur);
    change.orphaned.push(cur);
  }
  if (refused.length > 0) {
    throw new ColumnChangeRefusedError(`${rules.engine} standby table ${tableName(table)}: ${refused.join('; ')}`);
  }
  return change;
}

/**
 * cannotWiden of the engines that keep some temporal types as their canonical text (PostgreSQL and
 * MariaDB: precision 7, offsets): a longer varchar would hold the new precision, but the rows
 * already there would keep their strings at the old one, which are no longer canonical.
 */
export function temporalTextCannotWiden(storedAsText: (t: ColumnMeta['type']) => boolean) {
  return (_table: TableMeta, _existing: StandbyColumn, col: ColumnMeta): string | null =>
    storedAsText(col.type)
      ? `a ${col.type.kind} kept as its canonical text here, whose stored values would keep their old fractional digits (not the canonical text of the new precision)`
      : null;
}

/** Says in the log what a table change did (added, widened, and columns the source no longer has). */
export function logTableChange(logger: DialectLogger, table: TableMeta, change: TableChange): void {
  const t = tableName(table);
  if (change.add.length > 0) logger.info({ table: t, columns: change.add.map((m) => m.name) }, 'added standby columns');
  for (const w of change.widen) logger.info({ table: t, column: w.column.name, from: w.from.text, to: w.to.text }, 'widened standby column');
  if (change.orphaned.length > 0) {
    logger.warn(
      { table: t, columns: change.orphaned.map((o) => o.name) },
      'standby columns the source table does not send (dropped, renamed or excluded; or standby-only without a default) are now nullable; their values stay',
    );
  }
}
