// SQL Server for verify: the same canonical texts as PostgreSQL's and MariaDB's (engines/README.md),
// computed by SQL Server's own functions; a standby side whose version is the ctrelay_state row read
// in the same SNAPSHOT transaction, and a source side whose version is CHANGE_TRACKING_CURRENT_VERSION()
// and which asks CHANGETABLE which keys changed.
//
// Written against Microsoft's documentation ("CAST and CONVERT", "HASHBYTES", "DATEDIFF_BIG",
// "Collation and Unicode support" (UTF-8 collations, SQL Server 2019+), "CHANGETABLE",
// "CHANGE_TRACKING_MIN_VALID_VERSION", "Table hints", "SET TRANSACTION ISOLATION LEVEL", "sys.partitions")
// and unit-tested on its statement text only: NOT RUN YET against a SQL Server (none where it was
// written). What each form relies on is in engines/README.md.
//
// Hashing: HASHBYTES('MD5', nvarchar) would hash UTF-16LE, so every text is hashed as a UTF-8 varchar
// (utf8 below: to nvarchar first, so no code page of a varchar column or of the database loses a
// character, then COLLATE a UTF-8 collation, then to varchar). Canonical texts travel to Node as
// nvarchar (tedious decodes those without caring for code pages).
import type sql from 'mssql';
import { mssql } from '../../drivers/sqlserver/mssql.ts';
import { CtrelayError, SourceError, StandbyError } from '../../core/errors.ts';
import type { TableRef } from '../../core/model.ts';
import { scrubSecret } from '../../core/redact.ts';
import { serverErrorNumbers } from '../../drivers/sqlserver/errors.ts';
import { quoteIdent } from '../../drivers/sqlserver/quote.ts';
import { parseSqlServerUrl } from '../../drivers/sqlserver/url.ts';
import { keyText, type Key, type SourceSide, type SourceSnapshot, type VerifySide, type VerifyTable } from '../side.ts';
import { SqlSnapshot, type EngineSql, type Query } from './sql-side.ts';
import { sideFailure } from './side-errors.ts';
import { sqlserverSql, sqlserverSourceSql, UTF8_COLLATION } from './sqlserver-sql.ts';

/** What a Query needs of an mssql Request (a fake in unit tests). */
export interface RequestLike {
  arrayRowMode: boolean;
  input(name: string, type: sql.ISqlType, value: unknown): unknown;
  query(command: string): Promise<{ recordset?: unknown }>;
}

function cellText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return String(v);
}

/** A Query over mssql: positional parameter i is @p{i}, an nvarchar(max) the statement CASTs; rows as text arrays. */
export function mssqlQuery(request: () => RequestLike, fail: (err: unknown) => unknown): Query {
  return async (text, params) => {
    const req = request();
    req.arrayRowMode = true;
    params.forEach((v, i) => req.input(`p${i}`, mssql().NVarChar(mssql().MAX), v));
    try {
      const result = await req.query(text);
      return ((result.recordset ?? []) as unknown[][]).map((row) => row.map(cellText));
    } catch (err) {
      throw fail(err);
    }
  };
}

const EXISTS = (t: TableRef) => ({
  sql: 'SELECT 1 FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id WHERE s.name = @p0 AND t.name = @p1',
  params: [t.schema, t.table],
});

/** `(k0 = @p.. AND k1 = @p..) OR ...` over `prefix`-qualified key columns, parameters numbered from `first`. */
function keyAlternatives(engine: EngineSql, t: VerifyTable, prefix: string, keys: readonly Key[], first: number): { sql: string; params: string[] } {
  const keyCols = t.columns.slice(0, t.keyCount);
  const params: string[] = [];
  const alts = keys.map((k) => {
    const eq = keyCols.map((c, j) => `${prefix}${quoteIdent(c.name)} = ${engine.keyParam(first + params.length + j, c)}`);
    params.push(...k);
    return `(${eq.join(' AND ')})`;
  });
  return { sql: alts.join(' OR '), params };
}

/** keys per statement: every key is its own parameters, and a statement takes at most 2100 */
const perBatch = (t: VerifyTable) => Math.max(1, Math.floor(1000 / t.keyCount));

export class SqlServerSnapshot extends SqlSnapshot {
  constructor(engine: EngineSql, query: Query, version: bigint, private readonly place: (t: VerifyTable) => TableRef, finish: () => Promise<void>) {
    super(engine, query, version, place, EXISTS, finish);
  }

  async estimateRows(t: VerifyTable): Promise<bigint | null> {
    const rows = await this.query(
      'SELECT CAST(SUM(p.rows) AS varchar(20)) FROM sys.partitions p WHERE p.object_id = OBJECT_ID(@p0) AND p.index_id IN (0, 1)',
      [this.sql.table(this.place(t))],
    );
    return rows[0]?.[0] == null ? null : BigInt(rows[0][0]);
  }
}

abstract class SqlServerSide {
  private pool: Promise<sql.ConnectionPool> | null = null;
  private utf8Checked = false;
  private readonly config: sql.config;
  /** host:port/database, for messages */
  readonly label: string;
  private readonly database: string;

  constructor(url: string, readonly name: string, protected readonly locate: (t: VerifyTable) => TableRef) {
    const parsed = parseSqlServerUrl(url);
    this.config = { ...parsed.config, options: { ...parsed.config.options, appName: 'ctrelay-verify' }, pool: { min: 0, max: 4 } };
    this.label = parsed.label;
    this.database = String(parsed.config.database);
  }

  /** The side's error for a driver error: named, redacted; a database without snapshot isolation says how to allow it. */
  fail(err: unknown): unknown {
    const Side = this.name === 'source' ? SourceError : StandbyError;
    if (!(err instanceof CtrelayError) && serverErrorNumbers(err).includes(3952)) {
      const db = quoteIdent(this.database);
      return new Side(
        `verify: the ${this.name} ${this.label} does not allow snapshot isolation, which verify reads in (one consistent state, no locks): ` +
          `run ALTER DATABASE ${db} SET ALLOW_SNAPSHOT_ISOLATION ON`,
        { cause: err },
      );
    }
    const e = sideFailure(this.name, err);
    if (e instanceof CtrelayError && e !== err) e.message = scrubSecret(e.message, this.config.password);
    return e;
  }

  private connect(): Promise<sql.ConnectionPool> {
    if (!this.pool) {
      const pool = new (mssql().ConnectionPool)(this.config);
      pool.on('error', () => undefined);
      this.pool = pool.connect().catch((err: unknown) => {
        this.pool = null;
        throw this.fail(err);
      });
    }
    return this.pool;
  }

  /** One connection in one transaction; `done` rolls it back and returns the connection. */
  protected async open(isolation: sql.IIsolationLevel): Promise<{ query: Query; done: () => Promise<void> }> {
    const tx = new (mssql().Transaction)(await this.connect());
    try {
      await tx.begin(isolation);
    } catch (err) {
      throw this.fail(err);
    }
    const query = mssqlQuery(() => new (mssql().Request)(tx), (err) => this.fail(err));
    const done = async () => {
      await tx.rollback().catch(() => undefined);
    };
    try {
      if (!this.utf8Checked) {
        const [[codePage]] = await query(`SELECT CAST(COLLATIONPROPERTY('${UTF8_COLLATION}', 'CodePage') AS varchar(10))`, []);
        if (codePage !== '65001') {
          throw new (this.name === 'source' ? SourceError : StandbyError)(
            `verify: the ${this.name} ${this.label} has no UTF-8 collation (${UTF8_COLLATION}): verify hashes text as UTF-8 and needs SQL Server 2019 or later (or Azure SQL)`,
          );
        }
        this.utf8Checked = true;
      }
    } catch (err) {
      await done();
      throw err;
    }
    return { query, done };
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await (await pool.catch(() => null))?.close().catch(() => undefined);
  }
}

export class SqlServerStandbySide extends SqlServerSide implements VerifySide {
  constructor(url: string, name: string, locate: (t: VerifyTable) => TableRef, private readonly sourceId: string, private readonly stateSchema = 'ctrelay') {
    super(url, name, locate);
  }

  /** SNAPSHOT isolation: the applier's writes neither block verify nor show up halfway; the state row read pins the snapshot. */
  async snapshot(): Promise<SqlSnapshot> {
    const { query, done } = await this.open(mssql().ISOLATION_LEVEL.SNAPSHOT);
    try {
      const state = { schema: this.stateSchema, table: 'ctrelay_state' };
      const has = await query(EXISTS(state).sql, EXISTS(state).params);
      const rows = has.length === 0 ? [] : await query(`SELECT CAST(version AS varchar(20)) FROM ${sqlserverSql.table(state)} WHERE source_id = @p0`, [this.sourceId]);
      const version = rows.length === 0 ? -1n : BigInt(rows[0][0]!);
      return new SqlServerSnapshot(sqlserverSql, query, version, this.locate, done);
    } catch (err) {
      await done();
      throw err;
    }
  }
}

/**
 * Reads the version before and after a read that starts the snapshot (a SNAPSHOT transaction's
 * snapshot starts at its first data read, not at BEGIN; see src/sources/sqlserver/sql.ts
 * pinSnapshotSql): equal, the snapshot is the database at that version. The pin reads one row of a
 * change-tracked table the login may read.
 */
export const PIN_VERSION_SQL = `DECLARE @before bigint = CHANGE_TRACKING_CURRENT_VERSION();
DECLARE @pin nvarchar(max) = (SELECT TOP (1) N'DECLARE @x int; SELECT TOP (1) @x = 1 FROM ' + QUOTENAME(OBJECT_SCHEMA_NAME(object_id)) + N'.' + QUOTENAME(OBJECT_NAME(object_id)) + N';'
  FROM sys.change_tracking_tables
  WHERE HAS_PERMS_BY_NAME(QUOTENAME(OBJECT_SCHEMA_NAME(object_id)) + N'.' + QUOTENAME(OBJECT_NAME(object_id)), N'OBJECT', N'SELECT') = 1
  ORDER BY object_id);
IF @pin IS NOT NULL EXEC (@pin);
SELECT CAST(@before AS varchar(20)), CAST(CHANGE_TRACKING_CURRENT_VERSION() AS varchar(20));`;

const CURRENT_VERSION_SQL = 'SELECT CAST(CHANGE_TRACKING_CURRENT_VERSION() AS varchar(20))';
const PIN_ATTEMPTS = 5;

/** The source: snapshots at CHANGE_TRACKING_CURRENT_VERSION(), which also answer which keys changed. */
export class SqlServerSourceSide extends SqlServerSide implements SourceSide {
  constructor(url: string) {
    super(url, 'source', (t) => t.source);
  }

  private version(v: string | null | undefined): bigint {
    if (v == null) throw new SourceError(`verify: CHANGE_TRACKING_CURRENT_VERSION() is NULL on the source ${this.label}: change tracking is not enabled on the database`);
    return BigInt(v);
  }

  async snapshot(): Promise<SqlServerSourceSnapshot> {
    for (let attempt = 1; ; attempt++) {
      const { query, done } = await this.open(mssql().ISOLATION_LEVEL.SNAPSHOT);
      let pinned = false;
      try {
        const [[before, after]] = await query(PIN_VERSION_SQL, []);
        const version = this.version(after);
        if (before === after) {
          pinned = true;
          return new SqlServerSourceSnapshot(sqlserverSourceSql, query, version, this.locate, done);
        }
        if (attempt >= PIN_ATTEMPTS) {
          throw new SourceError(`verify: the source ${this.label} committed change-tracked transactions between reading its version and starting the snapshot, ${PIN_ATTEMPTS} times in a row`);
        }
      } finally {
        if (!pinned) await done();
      }
    }
  }

  /** read committed: a statement after lockKeys sees every change committed before the locks */
  async lockingSnapshot(): Promise<SqlServerSourceSnapshot> {
    const { query, done } = await this.open(mssql().ISOLATION_LEVEL.READ_COMMITTED);
    try {
      const [[v]] = await query(CURRENT_VERSION_SQL, []);
      return new SqlServerSourceSnapshot(sqlserverSourceSql, query, this.version(v), this.locate, done);
    } catch (err) {
      await done();
      throw err;
    }
  }
}

export class SqlServerSourceSnapshot extends SqlServerSnapshot implements SourceSnapshot {
  /**
   * CHANGETABLE(CHANGES t, @since) read in this snapshot: the changes it holds are those the
   * snapshot sees. Before the table's min valid version (or with tracking gone) nothing is known
   * to be unchanged, and every key counts as changed.
   */
  async changedSince(t: VerifyTable, since: bigint, keys: readonly Key[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const table = this.sql.table(t.source);
    const [[minValid]] = await this.query('SELECT CAST(CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@p0)) AS varchar(20))', [table]);
    if (minValid == null || since < BigInt(minValid)) return new Set(keys.map(keyText));
    const out = new Set<string>();
    const texts = t.columns.slice(0, t.keyCount).map((c) => this.sql.keyText(`ct.${quoteIdent(c.name)}`, c));
    const per = perBatch(t);
    for (let i = 0; i < keys.length; i += per) {
      const w = keyAlternatives(this.sql, t, 'ct.', keys.slice(i, i + per), 1);
      // CHANGETABLE takes a variable or a literal as its version, not an expression
      const rows = await this.query(
        `DECLARE @since bigint = CAST(@p0 AS bigint);\nSELECT ${texts.join(', ')} FROM CHANGETABLE(CHANGES ${table}, @since) AS ct WHERE ${w.sql}`,
        [since.toString(), ...w.params],
      );
      for (const r of rows) out.add(keyText(r as string[]));
    }
    return out;
  }

  /** Shared row locks held to the end of the transaction (REPEATABLEREAD), then the version that includes their last change. */
  async lockKeys(t: VerifyTable, keys: readonly Key[]): Promise<bigint | null> {
    const per = perBatch(t);
    try {
      for (let i = 0; i < keys.length; i += per) {
        const w = keyAlternatives(this.sql, t, '', keys.slice(i, i + per), 0);
        await this.query(`SELECT 1 FROM ${this.sql.table(t.source)} WITH (REPEATABLEREAD, ROWLOCK) WHERE ${w.sql}`, w.params);
      }
    } catch (err) {
      // 229: permission denied; the keys stay not proven
      if (serverErrorNumbers(err).includes(229)) return null;
      throw err;
    }
    const [[v]] = await this.query(CURRENT_VERSION_SQL, []);
    return BigInt(v!);
  }
}
