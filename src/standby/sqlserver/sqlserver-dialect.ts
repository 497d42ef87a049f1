// SqlServerDialect: a SQL Server standby. Rows are staged in a session temp table with
// parameterised multi-row INSERTs (chunks under the 2100-parameter and 1000-row limits), then
// applied set-based (UPDATE ... FROM + INSERT ... WHERE NOT EXISTS; see sqlserver-staging.ts for
// why not MERGE) by SqlServerTransaction (sqlserver-transaction.ts). mssql's bulk load is not used:
// it sends decimals through JS numbers.
//
// Every session runs with ANSI_WARNINGS and ANSI_PADDING ON (tedious's defaults, pinned here): with
// ANSI_WARNINGS OFF an INSERT or UPDATE would cut a string or binary value too long for its column
// without an error, with ANSI_PADDING OFF trailing zero bytes of varbinary values would be trimmed.
// String key columns compare binary and rows are found by their exact key (sqlserver-keys.ts).
//
// Pre-created tables (src/standby/write-shape.ts): columns by name, computed columns never written
// and compared after each upsert, IDENTITY columns inserted under IDENTITY_INSERT (which needs ALTER
// permission on the table; the identity's current value moves past the largest value inserted).
// Replica mode: SQL Server has no session switch that keeps triggers and foreign keys from acting
// (NOT FOR REPLICATION only spares replication agents), so the first statement on a table in each
// transaction refuses a table with an enabled trigger or an enabled foreign key on it or to it,
// naming them and the statements that disable them while the standby replicates.
//
// NOT RUN YET against a SQL Server (none where it was written): its statements are unit-tested;
// the standby conformance suite (test/conformance/sqlserver/standby-sqlserver.mssql-test.ts) is
// its first real test.
import sql from 'mssql';
import { StandbyError } from '../../core/errors.ts';
import type { Row, TableMeta, TableRef } from '../../core/model.ts';
import { execute, type Statement } from '../../drivers/sqlserver/params.ts';
import { parseSqlServerUrl } from '../../drivers/sqlserver/url.ts';
import { fromDriver, ValueConversionError } from '../../drivers/sqlserver/values.ts';
import { isEmptyChange, logTableChange } from '../column-change.ts';
import { silentLogger, type ApplyState, type DialectLogger, type StandbyColumn, type StandbyDialect, type StandbyTransaction } from '../dialect.ts';
import { standbyFailure } from '../driver-errors.ts';
import { tableName } from '../messages.ts';
import { isTransientSqlServer } from './sqlserver-errors.ts';
import * as T from './sqlserver-statements.ts';
import { SqlServerTransaction } from './sqlserver-transaction.ts';
import { standbyColumns } from './sqlserver-types.ts';

export interface SqlServerDialectOptions {
  /** mssql://user:password@host:port/database?... */
  url: string;
  /** schema holding ctrelay_state; default `ctrelay` */
  stateSchema?: string;
  poolSize?: number;
  logger?: DialectLogger;
}

type Rec = Record<string, unknown>;
type Runner = sql.ConnectionPool | sql.Transaction;

export class SqlServerDialect implements StandbyDialect {
  readonly kind = 'sqlserver';
  /** SQL Server DDL is transactional: a table changes in the transaction that first needs it */
  readonly transactionalDdl = true;
  readonly label: string;
  /** `SQL Server standby host:port/db`, for messages */
  readonly where: string;
  private readonly config: sql.config;
  private readonly stateSchema: string;
  private readonly logger: DialectLogger;
  private pool: sql.ConnectionPool | null = null;

  /** Parses the URL (a ConfigError when it is not one); connects only in connect(). */
  constructor(private readonly options: SqlServerDialectOptions) {
    const parsed = parseSqlServerUrl(options.url);
    this.config = {
      ...parsed.config,
      // the applier's sessions are recognisable in sys.dm_exec_sessions, as on PostgreSQL; a value
      // too long for its column is an error, never cut (see the file header)
      options: { ...parsed.config.options, appName: 'ctrelay-applier', enableAnsiWarnings: true, enableAnsiPadding: true },
    };
    this.label = parsed.label;
    this.where = `SQL Server standby ${this.label}`;
    this.stateSchema = options.stateSchema ?? 'ctrelay';
    this.logger = options.logger ?? silentLogger;
  }

  /** The driver configuration the pool connects with (no connection is made): for tests. */
  get connectionConfig(): Readonly<sql.config> {
    return this.config;
  }

  /** Whether connect() has opened the pool. */
  get connected(): boolean {
    return this.pool !== null;
  }

  /** The classified StandbyError for a driver error: `SQL Server standby …: ${doing}: <message>`, password removed. */
  fail(err: unknown, doing: string): StandbyError {
    return standbyFailure(err, `${this.where}: ${doing}`, isTransientSqlServer, this.config.password);
  }

  /** Runs a statement (a batch when it has no parameters, else sp_executesql); rejects with the driver's error. */
  execute(runner: Runner, st: Statement): Promise<Rec[]> {
    return execute(new sql.Request(runner as sql.ConnectionPool), st);
  }

  /** `execute`, with a failure classified. */
  async run(runner: Runner, st: Statement, doing: string): Promise<Rec[]> {
    try {
      return await this.execute(runner, st);
    } catch (err) {
      throw this.fail(err, doing);
    }
  }

  private requirePool(): sql.ConnectionPool {
    if (!this.pool) throw new StandbyError(`${this.where}: connect() was not called`);
    return this.pool;
  }

  async connect(): Promise<void> {
    if (this.pool) return;
    try {
      this.pool = await new sql.ConnectionPool({ ...this.config, pool: { min: 0, max: this.options.poolSize ?? 4 } }).connect();
    } catch (err) {
      throw this.fail(err, 'cannot connect');
    }
  }

  async ensureStateTable(): Promise<void> {
    const pool = this.requirePool();
    await this.run(pool, T.ensureSchemaStatement(this.stateSchema), `cannot create schema ${this.stateSchema}`);
    await this.run(pool, T.createStateTableStatement(this.stateSchema), 'cannot create ctrelay_state');
  }

  async readState(sourceId: string): Promise<ApplyState | null> {
    const [r] = await this.run(this.requirePool(), T.readStateStatement(this.stateSchema, sourceId), 'cannot read ctrelay_state');
    if (!r) return null;
    return {
      sourceId,
      batchSeq: BigInt(r.batch_seq as string),
      version: BigInt(r.version as string),
      batchOffset: BigInt(r.batch_offset as string),
      appliedAt: r.applied_at instanceof Date ? r.applied_at : undefined,
    };
  }

  async describeTable(table: TableRef): Promise<StandbyColumn[] | null> {
    const rows = await this.run(this.requirePool(), T.existingColumnsStatement(table), `cannot read the columns of ${tableName(table)}`);
    return rows.length === 0 ? null : T.standbyColumnsOf(rows);
  }

  async ensureTable(table: TableMeta): Promise<void> {
    const pool = this.requirePool();
    await this.ensureOn(table, (st, doing) => this.run(pool, st, doing));
  }

  /**
   * ensureTable's work through `send` (the pool, or an open transaction): create, add, widen, or a
   * StandbyError before any DDL (a ColumnChangeRefusedError; a string key column of an existing
   * table that does not compare binary, sqlserver-keys.ts).
   */
  async ensureOn(table: TableMeta, send: (st: Statement, doing: string) => Promise<Rec[]>): Promise<void> {
    T.validateTable(table);
    const name = tableName(table);
    const existing = await send(T.existingColumnsStatement(table), `cannot read the columns of ${name}`);
    if (existing.length === 0) {
      await send(T.ensureSchemaStatement(table.schema), `cannot create schema ${table.schema}`);
      await send(T.createTableStatement(table), `cannot create table ${name}`);
      this.logger.info({ table: name }, 'created standby table');
      return;
    }
    const collation = T.keyCollationError(this.where, table, existing);
    if (collation) throw collation;
    const { change, statements } = T.ensureExistingPlan(table, existing);
    for (const st of statements) await send(st, `cannot alter table ${name}`);
    if (!isEmptyChange(change)) logTableChange(this.logger, table, change);
  }

  async scan(table: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]> {
    const pool = this.requirePool();
    const [o] = await this.run(pool, T.objectIdStatement(table), `cannot look up ${tableName(table)}`);
    if (!o || o.object_id === null || o.object_id === undefined) return [];
    const recs = await this.run(pool, T.scanStatement(table, afterKey, limit), `cannot read table ${tableName(table)}`);
    const cols = standbyColumns(table);
    return recs.map((rec) => {
      const row: Row = {};
      cols.forEach((c, i) => {
        try {
          row[c.name] = fromDriver(c.type, rec[`c${i}`]);
        } catch (err) {
          if (err instanceof ValueConversionError) throw new StandbyError(`${this.where}: table ${tableName(table)} column ${c.name}: ${err.message}`);
          throw err;
        }
      });
      return row;
    });
  }

  async begin(): Promise<StandbyTransaction> {
    const tx = new sql.Transaction(this.requirePool());
    try {
      await tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
    } catch (err) {
      throw this.fail(err, 'cannot begin a transaction');
    }
    return new SqlServerTransaction(this, tx, this.stateSchema);
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.close().catch(() => undefined);
  }
}
