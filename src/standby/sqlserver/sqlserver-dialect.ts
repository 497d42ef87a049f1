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
// Failover (sqlserver-promotion.ts, NOT RUN either): protect() puts Row-Level Security BLOCK
// predicates of one security policy (<state schema>.ctrelay_protect) on every user table of the
// database outside the state schema, letting only sessions marked as the applier's
// (SESSION_CONTEXT(N'ctrelay_applier') = 1, set at the start of every apply transaction) write them;
// tables ensureTable creates later get them too. unprotect() turns the policy off. Once
// markPromoted committed for a source, writeState of that source refuses with a PromotedError.
//
// NOT RUN YET against a SQL Server (none where it was written): its statements are unit-tested;
// the standby conformance suite (test/conformance/sqlserver/standby-sqlserver.mssql-test.ts) is
// its first real test.
import type sql from 'mssql';
import { mssql } from '../../drivers/sqlserver/mssql.ts';
import { StandbyError } from '../../core/errors.ts';
import type { Row, TableMeta, TableRef } from '../../core/model.ts';
import { execute, type Statement } from '../../drivers/sqlserver/params.ts';
import { parseSqlServerUrl } from '../../drivers/sqlserver/url.ts';
import { objectName } from '../../drivers/sqlserver/quote.ts';
import { fromDriver, ValueConversionError } from '../../drivers/sqlserver/values.ts';
import { isEmptyChange, logTableChange } from '../column-change.ts';
import { silentLogger, type ApplyState, type DialectLogger, type StandbyColumn, type StandbyDialect, type StandbyTransaction } from '../dialect.ts';
import { standbyFailure } from '../driver-errors.ts';
import { tableName } from '../messages.ts';
import { isTransientSqlServer } from './sqlserver-errors.ts';
import * as T from './sqlserver-statements.ts';
import { SqlServerTransaction } from './sqlserver-transaction.ts';
import { standbyColumns } from './sqlserver-types.ts';
import * as P from './sqlserver-promotion.ts';
import { nothingToPromote, ProtectRefusedError, type Promotion, type SequenceAdvance, type StandbyPromotion } from '../promotion.ts';

/** Permission errors of protect(): 229/230 permission denied on an object, 262 in the database, 15247 no permission. */
const PERMISSION_ERRORS = new Set([229, 230, 262, 15247]);

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

export class SqlServerDialect implements StandbyDialect, StandbyPromotion {
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
    return execute(new (mssql().Request)(runner as sql.ConnectionPool), st);
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
      this.pool = await new (mssql().ConnectionPool)({ ...this.config, pool: { min: 0, max: this.options.poolSize ?? 4 } }).connect();
    } catch (err) {
      throw this.fail(err, 'cannot connect');
    }
  }

  async ensureStateTable(): Promise<void> {
    const pool = this.requirePool();
    await this.run(pool, T.ensureSchemaStatement(this.stateSchema), `cannot create schema ${this.stateSchema}`);
    await this.run(pool, T.createStateTableStatement(this.stateSchema), 'cannot create ctrelay_state');
    await this.run(pool, P.ensurePromotedColumnStatement(this.stateSchema), 'cannot add ctrelay_state.promoted_at');
  }

  async protect(): Promise<void> {
    const pool = this.requirePool();
    const doing = 'cannot protect the standby (row-level security policy)';
    try {
      await this.execute(pool, T.ensureSchemaStatement(this.stateSchema));
      await this.execute(pool, P.predicateFunctionStatement(this.stateSchema));
      for (const t of await this.execute(pool, P.userTablesStatement(this.stateSchema))) {
        await this.execute(pool, P.protectTableStatement(this.stateSchema, t.name as string));
      }
      await this.execute(pool, P.policyStateStatement(this.stateSchema, true));
    } catch (err) {
      const n = (err as { number?: unknown }).number;
      if (typeof n === 'number' && PERMISSION_ERRORS.has(n)) {
        throw new ProtectRefusedError(
          this.where,
          `CREATE FUNCTION and ALTER ANY SECURITY POLICY in the database, ALTER on schema ${this.stateSchema} and ALTER and REFERENCES on every table (db_owner has them)`,
          err,
        );
      }
      throw this.fail(err, doing);
    }
  }

  async unprotect(): Promise<void> {
    await this.run(this.requirePool(), P.policyStateStatement(this.stateSchema, false), 'cannot turn the protection policy off');
  }

  async isProtected(): Promise<boolean> {
    const [r] = await this.run(this.requirePool(), P.isProtectedStatement(this.stateSchema), 'cannot read the protection policy');
    return r?.is_enabled === true;
  }

  async markPromoted(sourceId: string): Promise<Promotion> {
    const pool = this.requirePool();
    await this.run(pool, P.ensurePromotedColumnStatement(this.stateSchema), 'cannot add ctrelay_state.promoted_at');
    const [r] = await this.run(pool, P.markPromotedStatement(this.stateSchema, sourceId), `cannot mark the standby promoted for source ${sourceId}`);
    if (!r) throw nothingToPromote(this.where, sourceId);
    return { at: r.promoted_at as Date, version: BigInt(r.version as string), batchSeq: BigInt(r.batch_seq as string) };
  }

  async readPromotion(sourceId: string): Promise<Promotion | null> {
    const s = await this.readState(sourceId);
    return s?.promotedAt ? { at: s.promotedAt, version: s.version, batchSeq: s.batchSeq } : null;
  }

  async advanceSequences(tables: TableRef[], floors: ReadonlyMap<string, bigint>): Promise<SequenceAdvance[]> {
    const pool = this.requirePool();
    const out: SequenceAdvance[] = [];
    for (const t of tables) {
      const doing = `cannot advance the identity and sequences of ${tableName(t)}`;
      const counters = (await this.run(pool, P.countersStatement(t), doing)) as unknown as P.CounterRow[];
      const maxes = new Map<string, bigint | null>();
      for (const c of counters) {
        const [m] = await this.run(pool, P.columnMaxStatement(t, c.column_name), doing);
        maxes.set(c.column_name, m?.m == null ? null : BigInt(m.m as string));
      }
      const plan = P.counterPlan(t, counters, maxes, floors);
      for (const st of plan.statements) await this.run(pool, st, doing);
      out.push(...plan.advances);
    }
    return out;
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
      promotedAt: r.promoted_at instanceof Date ? r.promoted_at : null,
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
      // a protected standby protects the new table too (nothing when protect() never ran)
      await send(P.protectTableStatement(this.stateSchema, objectName(table)), `cannot protect table ${name}`);
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
    const tx = new (mssql().Transaction)(this.requirePool());
    try {
      await tx.begin(mssql().ISOLATION_LEVEL.READ_COMMITTED);
      // the session may write a protected standby's tables (see the header)
      await this.execute(tx, P.applierSessionStatement());
    } catch (err) {
      await tx.rollback().catch(() => undefined);
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
