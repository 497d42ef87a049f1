// SourceHarness: what the change-source conformance suite (test/conformance/) needs from a source
// engine, so that ONE set of tests runs against every source kind. An implementation knows its
// engine's DDL, literals and transaction syntax; the tests only speak neutral columns, canonical
// values (src/core/model.ts) and the ChangeSource contract (src/core/change-source.ts).
//
// Implementations: source-harness-postgres.ts (ctrelay's own change tracking) and
// source-harness-sqlserver.ts (native SQL Server change tracking).
import type { ChangeSource } from '../../src/core/change-source.ts';
import type { Row, TableRef, Value } from '../../src/core/model.ts';

/** A column type every source engine can declare; each harness maps it to its own DDL type. */
export type NeutralType =
  | { kind: 'int32' }
  | { kind: 'int64' }
  | { kind: 'decimal'; precision: number; scale: number }
  /** unbounded Unicode text (PostgreSQL text, SQL Server nvarchar(max)); not usable as a key */
  | { kind: 'text' }
  /** bounded Unicode text, usable as a key (PostgreSQL varchar(n), SQL Server nvarchar(n)) */
  | { kind: 'varchar'; length: number }
  | { kind: 'bytes' }
  | { kind: 'date' }
  /** wall-clock timestamp with `precision` fractional digits (0..6) */
  | { kind: 'timestamp'; precision: number };

export interface NeutralColumn {
  name: string;
  type: NeutralType;
  nullable?: boolean;
}

export interface TableSpec {
  /** table name; the schema is the harness database's default schema */
  name: string;
  columns: NeutralColumn[];
  /** primary key columns in order; empty = a table without primary key */
  key: string[];
}

/** A created table: where it is and how it was declared. */
export interface HarnessTable {
  ref: TableRef;
  spec: TableSpec;
}

/** A transaction held open on its own connection (for long-transaction, rollback and savepoint cases). */
export interface OpenTransaction {
  exec(statement: string): Promise<void>;
  savepoint(name: string): Promise<void>;
  rollbackToSavepoint(name: string): Promise<void>;
  /** commits and closes the connection */
  commit(): Promise<void>;
  /** rolls back and closes the connection */
  rollback(): Promise<void>;
}

/** One throwaway database on the engine under test. */
export interface HarnessDatabase {
  readonly name: string;
  /** the URL a ChangeSource of this kind connects with */
  readonly url: string;
  /** the schema tables are created in (public, dbo) */
  readonly schema: string;
  createTable(spec: TableSpec): Promise<HarnessTable>;
  /** Turns change tracking on for the tables (and, first time, for the database). */
  enableTracking(tables: HarnessTable[]): Promise<void>;
  /** Runs statements in autocommit mode on the admin connection (one statement = one transaction is NOT assumed). */
  exec(statement: string): Promise<void>;
  /** Opens a second connection and begins a transaction on it. */
  begin(): Promise<OpenTransaction>;
  truncate(table: HarnessTable): Promise<void>;
  /**
   * Forgets tracked changes up to the current version, as retention cleanup would, and returns
   * the version they were forgotten up to (null when unknown). Undefined when the engine cannot be
   * made to do so in bounded time; cleanupSkipReason then says why.
   */
  forceCleanup?: (tables: HarnessTable[]) => Promise<bigint | null>;
  readonly cleanupSkipReason?: string;
  /** A connected ChangeSource on this database; the caller closes it. */
  createSource(): Promise<ChangeSource>;
  /** INSERT of the rows (canonical values) as one statement. */
  insertSql(table: HarnessTable, rows: Row[]): string;
  /** UPDATE table SET <set> WHERE <where, all equalities ANDed>. */
  updateSql(table: HarnessTable, set: Row, where: Row): string;
  /** DELETE FROM table WHERE <where, all equalities ANDed>. */
  deleteSql(table: HarnessTable, where: Row): string;
  /** Drops the database and closes every connection the harness opened. */
  drop(): Promise<void>;
}

export interface SourceHarness {
  /** the ChangeSource kind, as in source.kind of the config */
  readonly kind: 'postgres' | 'sqlserver';
  createDatabase(prefix: string): Promise<HarnessDatabase>;
  /** releases what the harness itself holds (not the databases: drop those) */
  close(): Promise<void>;
}

/** What differs between engines when SQL text is generated. */
export interface SqlFlavour {
  quoteIdent(name: string): string;
  qualified(ref: TableRef): string;
  typeName(type: NeutralType): string;
  /** a literal of the canonical value in the column's type; null -> NULL */
  literal(type: NeutralType, value: Value): string;
}

function columnType(table: HarnessTable, name: string): NeutralType {
  const c = table.spec.columns.find((x) => x.name === name);
  if (!c) throw new Error(`table ${table.spec.name} has no column ${name}`);
  return c.type;
}

export function createTableSql(f: SqlFlavour, ref: TableRef, spec: TableSpec): string {
  const cols = spec.columns.map((c) => `${f.quoteIdent(c.name)} ${f.typeName(c.type)}${c.nullable === false || spec.key.includes(c.name) ? ' NOT NULL' : ' NULL'}`);
  if (spec.key.length > 0) cols.push(`PRIMARY KEY (${spec.key.map((k) => f.quoteIdent(k)).join(', ')})`);
  return `CREATE TABLE ${f.qualified(ref)} (${cols.join(', ')})`;
}

export function insertSql(f: SqlFlavour, table: HarnessTable, rows: Row[]): string {
  if (rows.length === 0) throw new Error('insertSql: no rows');
  const names = Object.keys(rows[0]);
  const values = rows.map((r) => `(${names.map((n) => f.literal(columnType(table, n), r[n] ?? null)).join(', ')})`);
  return `INSERT INTO ${f.qualified(table.ref)} (${names.map((n) => f.quoteIdent(n)).join(', ')}) VALUES ${values.join(', ')}`;
}

function predicate(f: SqlFlavour, table: HarnessTable, where: Row): string {
  const parts = Object.entries(where).map(([n, v]) =>
    v === null ? `${f.quoteIdent(n)} IS NULL` : `${f.quoteIdent(n)} = ${f.literal(columnType(table, n), v)}`);
  if (parts.length === 0) throw new Error('a WHERE clause is required');
  return parts.join(' AND ');
}

export function updateSql(f: SqlFlavour, table: HarnessTable, set: Row, where: Row): string {
  const assignments = Object.entries(set).map(([n, v]) => `${f.quoteIdent(n)} = ${f.literal(columnType(table, n), v)}`);
  return `UPDATE ${f.qualified(table.ref)} SET ${assignments.join(', ')} WHERE ${predicate(f, table, where)}`;
}

export function deleteSql(f: SqlFlavour, table: HarnessTable, where: Row): string {
  return `DELETE FROM ${f.qualified(table.ref)} WHERE ${predicate(f, table, where)}`;
}

/** A string literal with single quotes doubled (both engines use standard string literals). */
export function quoteString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
