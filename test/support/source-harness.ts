// SourceHarness: what the change-source conformance suite (test/conformance/) needs from a source
// engine, so that ONE set of tests runs against every source kind. An implementation knows its
// engine's DDL, literals and transaction syntax; the tests only speak neutral columns, canonical
// values (src/core/model.ts) and the ChangeSource contract (src/core/change-source.ts).
//
// Implementations: source-harness-postgres.ts (ctrelay's own change tracking) and
// source-harness-sqlserver.ts (native SQL Server change tracking). Each supplies an EngineDatabase
// (its connections, DDL flavour and administration); harnessDatabase() below builds the rest of a
// HarnessDatabase from it, the same for every engine.
import type { ChangeRow, ChangeSource } from '../../src/core/change-source.ts';
import type { Row, TableMeta, TableRef, Value } from '../../src/core/model.ts';

/** application name of every connection a harness opens itself, so that it can spare them when it kills the source's */
export const HARNESS_APPLICATION_NAME = 'ctrelay-harness';

/** A column type every source engine can declare; each harness maps it to its own DDL type. */
export type NeutralType =
  | { kind: 'int32' }
  | { kind: 'int64' }
  | { kind: 'decimal'; precision: number; scale: number }
  /** unbounded Unicode text (PostgreSQL text, SQL Server nvarchar(max)); not usable as a key */
  | { kind: 'text' }
  /** bounded Unicode text, usable as a key (PostgreSQL varchar(n), SQL Server nvarchar(n)) */
  | { kind: 'varchar'; length: number }
  /** fixed-length Unicode text, blank-padded to its length (PostgreSQL char(n), SQL Server nchar(n)) */
  | { kind: 'char'; length: number }
  | { kind: 'bytes' }
  | { kind: 'date' }
  /** wall-clock timestamp with `precision` fractional digits (0..6) */
  | { kind: 'timestamp'; precision: number };

export interface NeutralColumn {
  name: string;
  type: NeutralType;
  nullable?: boolean;
  /** a constant default (canonical value) */
  defaultValue?: Value;
  /** computed by the database as twice this (int32) column (PostgreSQL: generated stored, SQL Server: computed persisted) */
  doubleOf?: string;
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

/** A login (role) with exactly the privileges capture needs on some tables. */
export interface CaptureLogin {
  readonly name: string;
  /** the URL a ChangeSource connects with as this login */
  readonly url: string;
  /** Takes SELECT on the table away from the login (REVOKE). */
  revokeSelect(table: HarnessTable): Promise<void>;
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
  /** Turns change tracking off for the tables (their tracked changes are gone); the database setting stays. */
  disableTracking(tables: HarnessTable[]): Promise<void>;
  /**
   * Switches tracking of a table off by hand, outside ctrelay, as an operator or a migration might
   * (PostgreSQL: ALTER TABLE ... DISABLE TRIGGER on a tracking trigger; SQL Server: ALTER TABLE ...
   * DISABLE CHANGE_TRACKING). Writes made meanwhile are not tracked.
   */
  suspendTracking(table: HarnessTable): Promise<void>;
  /**
   * Switches it on again by hand (PostgreSQL: ALTER TABLE ... ENABLE ALWAYS TRIGGER; SQL Server:
   * ALTER TABLE ... ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)).
   */
  resumeTracking(table: HarnessTable): Promise<void>;
  /**
   * Ends every session on this database that the harness did not open itself, i.e. the sources',
   * as an administrator would (PostgreSQL: pg_terminate_backend; SQL Server: KILL). Returns how
   * many it ended.
   */
  killSourceConnections(): Promise<number>;
  /**
   * Creates a login with what capture needs on `tables` (tracking must be enabled on them first):
   * SELECT, and reading their tracked changes. Dropped by drop().
   */
  createCaptureLogin(tables: HarnessTable[]): Promise<CaptureLogin>;
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
  /** A connected ChangeSource on this database (through `url`, default: the harness's); the caller closes it. */
  createSource(url?: string): Promise<ChangeSource>;
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

/** The DDL type of each neutral type on one engine. */
export interface TypeNames {
  int32: string; int64: string; text: string; bytes: string; date: string;
  decimal(precision: number, scale: number): string;
  varchar(length: number): string;
  char(length: number): string;
  timestamp(precision: number): string;
}

export function typeNameIn(names: TypeNames, t: NeutralType): string {
  switch (t.kind) {
    case 'decimal':
      return names.decimal(t.precision, t.scale);
    case 'varchar':
      return names.varchar(t.length);
    case 'char':
      return names.char(t.length);
    case 'timestamp':
      return names.timestamp(t.precision);
    default:
      return names[t.kind];
  }
}

/** What differs between engines when SQL text is generated. */
export interface SqlFlavour {
  quoteIdent(name: string): string;
  qualified(ref: TableRef): string;
  typeName(type: NeutralType): string;
  /** a literal of the canonical value in the column's type; null -> NULL */
  literal(type: NeutralType, value: Value): string;
  /** the whole definition of a column computed as 2 * `source` (see NeutralColumn.doubleOf) */
  doubledColumn(name: string, type: NeutralType, source: string): string;
}

function columnType(table: HarnessTable, name: string): NeutralType {
  const c = table.spec.columns.find((x) => x.name === name);
  if (!c) throw new Error(`table ${table.spec.name} has no column ${name}`);
  return c.type;
}

export function createTableSql(f: SqlFlavour, ref: TableRef, spec: TableSpec): string {
  const cols = spec.columns.map((c) => {
    if (c.doubleOf !== undefined) return f.doubledColumn(c.name, c.type, c.doubleOf);
    const dflt = c.defaultValue === undefined ? '' : ` DEFAULT ${f.literal(c.type, c.defaultValue)}`;
    return `${f.quoteIdent(c.name)} ${f.typeName(c.type)}${c.nullable === false || spec.key.includes(c.name) ? ' NOT NULL' : ' NULL'}${dflt}`;
  });
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

/** The engine's words for a transaction held open on its own connection. */
export interface TransactionSql {
  savepoint(name: string): string;
  rollbackToSavepoint(name: string): string;
  commit: string;
  rollback: string;
}

/** A connection the harness opened itself (see HARNESS_APPLICATION_NAME). */
export interface HarnessConnection {
  exec(statement: string): Promise<void>;
  close(): Promise<void>;
}

/** What a harness implements per engine; harnessDatabase() builds the HarnessDatabase from it. */
export interface EngineDatabase
  extends Pick<HarnessDatabase, 'name' | 'url' | 'schema' | 'exec' | 'enableTracking' | 'disableTracking' | 'suspendTracking' | 'resumeTracking' | 'killSourceConnections' | 'createCaptureLogin' | 'forceCleanup' | 'cleanupSkipReason'> {
  readonly flavour: SqlFlavour;
  readonly transactionSql: TransactionSql;
  /** a new connection of the harness's own, on this database, with a transaction begun on it */
  beginOnNewConnection(): Promise<HarnessConnection>;
  /** an unconnected ChangeSource of this engine */
  newSource(url: string): ChangeSource;
  /** drops the database, the logins made for it and the harness's own connections (sources and transactions are closed before) */
  dropDatabase(): Promise<void>;
}

class HeldTransaction implements OpenTransaction {
  constructor(private readonly conn: HarnessConnection, private readonly sql: TransactionSql, private readonly done: () => void) {}
  exec(statement: string): Promise<void> {
    return this.conn.exec(statement);
  }
  savepoint(name: string): Promise<void> {
    return this.conn.exec(this.sql.savepoint(name));
  }
  rollbackToSavepoint(name: string): Promise<void> {
    return this.conn.exec(this.sql.rollbackToSavepoint(name));
  }
  private async finish(statement: string): Promise<void> {
    try {
      await this.conn.exec(statement);
    } finally {
      await this.conn.close().catch(() => undefined);
      this.done();
    }
  }
  commit(): Promise<void> {
    return this.finish(this.sql.commit);
  }
  rollback(): Promise<void> {
    return this.finish(this.sql.rollback);
  }
}

/** The HarnessDatabase of an engine: table DDL, DML text, transactions and sources, the same for every engine. */
export function harnessDatabase(e: EngineDatabase): HarnessDatabase {
  const open = new Set<HarnessConnection>();
  const sources = new Set<ChangeSource>();
  const f = e.flavour;
  return {
    name: e.name,
    url: e.url,
    schema: e.schema,
    exec: (statement) => e.exec(statement),
    enableTracking: (tables) => e.enableTracking(tables),
    disableTracking: (tables) => e.disableTracking(tables),
    suspendTracking: (table) => e.suspendTracking(table),
    resumeTracking: (table) => e.resumeTracking(table),
    killSourceConnections: () => e.killSourceConnections(),
    createCaptureLogin: (tables) => e.createCaptureLogin(tables),
    forceCleanup: e.forceCleanup,
    cleanupSkipReason: e.cleanupSkipReason,
    async createTable(spec: TableSpec): Promise<HarnessTable> {
      const ref = { schema: e.schema, table: spec.name };
      await e.exec(createTableSql(f, ref, spec));
      return { ref, spec };
    },
    async begin(): Promise<OpenTransaction> {
      const conn = await e.beginOnNewConnection();
      open.add(conn);
      return new HeldTransaction(conn, e.transactionSql, () => open.delete(conn));
    },
    async truncate(table: HarnessTable): Promise<void> {
      await e.exec(`TRUNCATE TABLE ${f.qualified(table.ref)}`);
    },
    async createSource(url = e.url): Promise<ChangeSource> {
      const s = e.newSource(url);
      sources.add(s);
      await s.connect();
      return s;
    },
    insertSql: (t, rows) => insertSql(f, t, rows),
    updateSql: (t, set, where) => updateSql(f, t, set, where),
    deleteSql: (t, where) => deleteSql(f, t, where),
    async drop(): Promise<void> {
      for (const c of open) await c.close().catch(() => undefined);
      for (const s of sources) await s.close().catch(() => undefined);
      await e.dropDatabase();
    },
  };
}

// ---- reading through a ChangeSource, for the tests ------------------------------------------

/** The source's current version, read in a poll of its own. */
export async function currentVersion(source: ChangeSource): Promise<bigint> {
  const s = await source.beginPoll();
  try {
    return s.currentVersion;
  } finally {
    await s.end();
  }
}

/** One poll of one table: its version, the table's min valid version and every change since `since`. */
export async function pollTable(source: ChangeSource, meta: TableMeta, since: bigint): Promise<{ version: bigint; rows: ChangeRow[]; minValid: bigint }> {
  const s = await source.beginPoll();
  try {
    return { version: s.currentVersion, minValid: await s.minValidVersion(meta), rows: await s.changes(meta, since, null, 100_000) };
  } finally {
    await s.end();
  }
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}
