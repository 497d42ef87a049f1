// SqlServerDialect: a SQL Server standby. Rows are staged in a session temp table with
// parameterised multi-row INSERTs (chunks under the 2100-parameter and 1000-row limits), then
// applied set-based (UPDATE ... FROM + INSERT ... WHERE NOT EXISTS; see sqlserver-statements.ts for
// why not MERGE). mssql's bulk load is not used: it sends decimals through JS numbers.
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
import { ConcurrentApplierError, StandbyError } from '../../core/errors.ts';
import type { Row, TableMeta, TableRef } from '../../core/model.ts';
import { execute, type Statement } from '../../drivers/sqlserver/params.ts';
import { parseSqlServerUrl } from '../../drivers/sqlserver/url.ts';
import { fromDriver, ValueConversionError } from '../../drivers/sqlserver/values.ts';
import type { ApplyState, StandbyColumn, StandbyDialect, StandbyTransaction } from '../dialect.ts';
import { standbyFailure } from '../driver-errors.ts';
import { describeKey, tableName } from '../messages.ts';
import { dedupeLastByKey } from '../row-keys.ts';
import { SqlTransaction } from '../sql-transaction.ts';
import { checkRowsFit } from '../value-fit.ts';
import { checkReadBack, writeShape, type CheckHint, type WriteShape } from '../write-shape.ts';
import { objectName, quoteIdent } from '../../drivers/sqlserver/quote.ts';
import { isTransientSqlServer } from './sqlserver-errors.ts';
import * as T from './sqlserver-statements.ts';
import { standbyColumns } from './sqlserver-types.ts';

export interface SqlServerDialectOptions {
  /** mssql://user:password@host:port/database?... */
  url: string;
  /** schema holding ctrelay_state; default `ctrelay` */
  stateSchema?: string;
  poolSize?: number;
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
  private pool: sql.ConnectionPool | null = null;

  constructor(private readonly options: SqlServerDialectOptions) {
    const parsed = parseSqlServerUrl(options.url);
    // the applier's sessions are recognisable in sys.dm_exec_sessions, as on PostgreSQL
    this.config = { ...parsed.config, options: { ...parsed.config.options, appName: 'ctrelay-applier' } };
    this.label = parsed.label;
    this.where = `SQL Server standby ${this.label}`;
    this.stateSchema = options.stateSchema ?? 'ctrelay';
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
   * ColumnChangeRefusedError before any DDL.
   */
  async ensureOn(table: TableMeta, send: (st: Statement, doing: string) => Promise<Rec[]>): Promise<void> {
    T.validateTable(table);
    const name = tableName(table);
    const existing = await send(T.existingColumnsStatement(table), `cannot read the columns of ${name}`);
    if (existing.length === 0) {
      await send(T.ensureSchemaStatement(table.schema), `cannot create schema ${table.schema}`);
      await send(T.createTableStatement(table), `cannot create table ${name}`);
    } else {
      for (const st of T.ensureExistingStatements(table, existing)) await send(st, `cannot alter table ${name}`);
    }
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

const storedShapes = new WeakMap<TableMeta, TableMeta>();

/**
 * `table` with each string and binary column's length as the standby column has it (an unbounded
 * key is nvarchar(450) / varbinary(900) here): CAST to the column type would cut a longer value
 * without an error, so value-fit checks against these lengths.
 */
export function storedShape(table: TableMeta): TableMeta {
  let t = storedShapes.get(table);
  if (!t) {
    const columns = standbyColumns(table).map((c) => {
      const m = /^n?(?:var)?(?:char|binary)\((\d+)\)$/.exec(c.sourceType);
      if (!m || (c.type.kind !== 'string' && c.type.kind !== 'bytes')) return c;
      return { ...c, type: { ...c.type, maxLength: Number(m[1]) } };
    });
    t = { ...table, columns };
    storedShapes.set(table, t);
  }
  return t;
}

/** How to fix a SQL Server standby column whose read-back differed (write-shape.ts). */
export const SQLSERVER_CHECK_HINT: CheckHint = (table, column, why) =>
  why === 'generated'
    ? `Make it a plain column on the standby (drop the computed column ${quoteIdent(column)} of ${objectName(table)} and add it with its type) or give it the source's expression, then restart the applier`
    : `SQL Server cannot update an IDENTITY column: make ${quoteIdent(column)} of ${objectName(table)} a plain column on the standby and restart the applier`;

/**
 * One apply transaction. The first statement on a table reads its columns (the write shape,
 * write-shape.ts) and refuses it when a trigger or foreign key would act (see the file header).
 * IDENTITY_INSERT is session state that outlives the transaction: a table whose upsert batch
 * failed between ON and OFF has it turned off before the transaction ends, and when that cannot be
 * done (the server aborted the transaction, the statement failed) the connection is closed instead
 * of going back to the pool with it on.
 */
export class SqlServerTransaction extends SqlTransaction {
  /** mssql ends the transaction itself when the server rolled it back (deadlock victim, XACT_ABORT). */
  private abortedByServer = false;
  /** the tedious connection mssql lent the transaction (an mssql internal), to close it when its state is unknown */
  private readonly connection: { close(): void } | null;
  /** the standby columns of each table written in this transaction, by table name */
  private readonly prepared = new Map<string, StandbyColumn[]>();
  /** tables (quoted names) whose IDENTITY_INSERT may still be on: an upsert batch that set it failed */
  private readonly identityInsertOn = new Set<string>();

  constructor(
    private readonly dialect: SqlServerDialect,
    private readonly tx: sql.Transaction,
    private readonly stateSchema: string,
  ) {
    super(dialect.where);
    tx.on('rollback', (aborted: boolean) => {
      if (aborted) this.abortedByServer = true;
    });
    this.connection = (tx as unknown as { _acquiredConnection?: { close(): void } | null })._acquiredConnection ?? null;
  }

  private send(st: Statement, doing: string): Promise<Rec[]> {
    return this.run(() => this.dialect.execute(this.tx, st), (err) => this.dialect.fail(err, doing));
  }

  /** Loads rows (only `columns` of them) into a fresh temp table, chunk by chunk. */
  private async stage(temp: string, table: TableMeta, columns: string[], rows: Row[], doing: string): Promise<void> {
    await this.send(T.createTempStatement(temp, table, columns), doing);
    const per = T.rowsPerStatement(columns.length);
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      let st: Statement;
      try {
        st = T.insertTempStatement(temp, table, columns, chunk);
      } catch (err) {
        const bad = chunk.find((r) => {
          try {
            T.insertTempStatement(temp, table, columns, [r]);
            return false;
          } catch {
            return true;
          }
        });
        throw new StandbyError(`${doing}: row ${bad ? describeKey(table, bad) : '?'} has a value that is not canonical: ${(err as Error).message}`);
      }
      await this.send(st, `${doing} (rows ${i + 1}..${i + chunk.length}, first key ${describeKey(table, chunk[0])})`);
    }
  }

  async ensureTable(table: TableMeta): Promise<void> {
    // a refusal poisons the transaction like a failed statement
    await this.run(
      () => this.dialect.ensureOn(table, (st, doing) => this.send(st, doing)),
      (err) => this.dialect.fail(err, `cannot create or alter table ${tableName(table)}`),
    );
    this.prepared.delete(tableName(table));
  }

  /** The first statements on `table` in this transaction (see the class comment); its columns. */
  private async columnsOf(table: TableMeta): Promise<StandbyColumn[]> {
    const name = tableName(table);
    const known = this.prepared.get(name);
    if (known) return known;
    const doing = `cannot write table ${name}`;
    const columns = T.standbyColumnsOf(await this.send(T.existingColumnsStatement(table), doing));
    const blockers = await this.send(T.replicaBlockersStatement(table), doing);
    const refused = T.replicaBlockersError(this.dialect.where, table, blockers);
    if (refused) throw this.poison(refused);
    this.prepared.set(name, columns);
    return columns;
  }

  private async shapeOf(table: TableMeta): Promise<WriteShape> {
    const columns = await this.columnsOf(table);
    return this.run(async () => writeShape(table, columns, true, 'SQL Server'), (err) => this.dialect.fail(err, `cannot write table ${tableName(table)}`));
  }

  async upsert(table: TableMeta, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    // CAST to the column type would round decimals and fractional seconds and cut strings silently
    await this.run(async () => checkRowsFit(storedShape(table), rows, 'SQL Server', 'utf16'), (err) => this.dialect.fail(err, 'cannot check the rows'));
    const shape = await this.shapeOf(table);
    const doing = `cannot upsert ${rows.length} rows into ${tableName(table)}`;
    const unique = dedupeLastByKey(table, rows);
    await this.stage(T.ROWS_TEMP, table, table.columns.map((c) => c.name), unique, doing);
    const check = shape.checked.length > 0;
    const identityTable = shape.overridden.length > 0 ? objectName(table) : null;
    // marked before the batch is sent, cleared when it succeeded (it turns IDENTITY_INSERT off itself)
    if (identityTable) this.identityInsertOn.add(identityTable);
    await this.send(T.upsertFromTempStatement(table, shape, check), doing);
    if (identityTable) this.identityInsertOn.delete(identityTable);
    if (check) await this.compareReadBack(table, shape, unique);
  }

  /** The columns the standby computes (or cannot update) of `rows`, read back and compared exactly with them. */
  private async compareReadBack(table: TableMeta, shape: WriteShape, rows: Row[]): Promise<void> {
    const recs = await this.send(T.readBackStatement(table, shape), `cannot read back the computed columns of ${tableName(table)}`);
    const cols = [...table.key.map((k) => table.columns.find((c) => c.name === k)!), ...shape.checked.map((c) => c.column)];
    const readBack = await this.run(
      async () =>
        recs.map((rec) => {
          const row: Row = {};
          cols.forEach((c, i) => (row[c.name] = fromDriver(c.type, rec[`c${i}`])));
          return row;
        }),
      (err) => this.dialect.fail(err, `cannot read back the computed columns of ${tableName(table)}`),
    );
    const mismatch = checkReadBack(table, shape, rows, readBack, 'SQL Server', SQLSERVER_CHECK_HINT);
    if (mismatch) throw this.poison(mismatch);
  }

  async delete(table: TableMeta, keys: Row[]): Promise<void> {
    if (keys.length === 0) return;
    await this.columnsOf(table);
    // a key CAST to a shorter key column would be cut, and could delete another row
    await this.run(async () => checkRowsFit(storedShape({ ...table, columns: table.columns.filter((c) => table.key.includes(c.name)) }), keys, 'SQL Server', 'utf16'), (err) => this.dialect.fail(err, 'cannot check the keys'));
    const doing = `cannot delete ${keys.length} keys from ${tableName(table)}`;
    await this.stage(T.KEYS_TEMP, table, table.key, dedupeLastByKey(table, keys), doing);
    await this.send(T.deleteFromTempStatement(table), doing);
  }

  async deleteAll(table: TableMeta): Promise<void> {
    await this.columnsOf(table);
    await this.send(T.deleteAllStatement(table), `cannot empty ${tableName(table)} for a re-snapshot`);
  }

  async writeState(state: ApplyState): Promise<void> {
    const [res] = await this.send(T.writeStateStatement(this.stateSchema, state), `cannot write apply state for source ${state.sourceId}`);
    if (Number(res?.rows_written ?? 0) === 0) {
      throw this.poison(
        new ConcurrentApplierError(
          `ctrelay_state on ${this.where} is already at or past batch ${state.batchSeq} of source ${state.sourceId}: another applier writes this standby; this one stops`,
        ),
      );
    }
  }

  protected classify(err: unknown, doing: string): StandbyError {
    return this.dialect.fail(err, doing);
  }

  protected async endOnServer(commit: boolean): Promise<string | null> {
    const identityLeftOn = await this.turnIdentityInsertOff();
    if (this.abortedByServer) {
      if (identityLeftOn) this.destroyConnection();
      return commit ? 'the server rolled the transaction back, nothing was applied' : null;
    }
    await (commit ? this.tx.commit() : this.tx.rollback());
    // mssql has handed the connection back: closed, the pool replaces it instead of lending it out with IDENTITY_INSERT on
    if (identityLeftOn) this.destroyConnection();
    return null;
  }

  /** Turns IDENTITY_INSERT off where a failed batch may have left it on; true when that could not be done. */
  private async turnIdentityInsertOff(): Promise<boolean> {
    if (this.identityInsertOn.size === 0) return false;
    if (this.abortedByServer) return true;
    try {
      await this.dialect.execute(this.tx, T.identityInsertOffStatement([...this.identityInsertOn]));
      this.identityInsertOn.clear();
      return false;
    } catch {
      return true;
    }
  }

  /** mssql hands the connection back to its pool itself when the transaction ends. */
  protected releaseConnection(): void {}

  protected destroyConnection(): void {
    // mssql has already handed it back; a closed connection fails the pool's validation and is
    // replaced instead of lent out with a transaction nobody will end
    try {
      this.connection?.close();
    } catch {
      // already closed
    }
  }
}
