// SqlServerDialect: a SQL Server standby. Rows are staged in a session temp table with
// parameterised multi-row INSERTs (chunks under the 2100-parameter and 1000-row limits), then
// applied set-based (UPDATE ... FROM + INSERT ... WHERE NOT EXISTS; see sqlserver-statements.ts for
// why not MERGE). mssql's bulk load is not used: it sends decimals through JS numbers.
import sql from 'mssql';
import { ConcurrentApplierError, CtrelayError, StandbyError } from '../../core/errors.ts';
import type { Row, TableMeta } from '../../core/model.ts';
import { execute } from '../../sources/sqlserver/mssql-params.ts';
import { quoteQualified } from '../../sources/sqlserver/quote.ts';
import type { Statement } from '../../sources/sqlserver/sql.ts';
import { scrubSecret } from '../../core/redact.ts';
import { parseSqlServerUrl } from '../../sources/sqlserver/url.ts';
import { fromDriver, ValueConversionError } from '../../sources/sqlserver/values.ts';
import { dedupeLastByKey, describeKey, driverMessage, tableName } from '../canonical-values.ts';
import type { ApplyState, StandbyDialect, StandbyTransaction } from '../dialect.ts';
import {
  addColumnsSql,
  createStateTableSql,
  createTableSql,
  createTempSql,
  deleteFromTempSql,
  ENSURE_SCHEMA_SQL,
  EXISTING_COLUMNS_SQL,
  insertTempStatement,
  KEYS_TEMP,
  OBJECT_ID_SQL,
  readStateSql,
  ROWS_TEMP,
  rowsPerStatement,
  scanStatement,
  stateTableName,
  upsertFromTempSql,
  writeStateSql,
} from './sqlserver-statements.ts';
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

const nv = (value: string) => ({ sqlType: 'nvarchar' as const, value });

export class SqlServerDialect implements StandbyDialect {
  readonly kind = 'sqlserver';
  readonly label: string;
  private readonly config: sql.config;
  private readonly stateSchema: string;
  private pool: sql.ConnectionPool | null = null;
  /** identity column per table (null: none), learned in ensureTable or on first upsert */
  private readonly identity = new Map<string, string | null>();

  constructor(private readonly options: SqlServerDialectOptions) {
    const parsed = parseSqlServerUrl(options.url);
    this.config = parsed.config;
    this.label = parsed.label;
    this.stateSchema = options.stateSchema ?? 'ctrelay';
  }

  wrap(err: unknown, doing: string): CtrelayError {
    if (err instanceof CtrelayError) return err;
    return new StandbyError(`SQL Server standby ${this.label}: ${doing} failed: ${scrubSecret(driverMessage(err), this.config.password)}`);
  }

  async run(runner: Runner, st: Statement, doing: string): Promise<Rec[]> {
    try {
      return await execute(new sql.Request(runner as sql.ConnectionPool), st);
    } catch (err) {
      throw this.wrap(err, doing);
    }
  }

  private requirePool(): sql.ConnectionPool {
    if (!this.pool) throw new StandbyError(`SQL Server standby ${this.label}: not connected`);
    return this.pool;
  }

  async connect(): Promise<void> {
    if (this.pool) return;
    try {
      this.pool = await new sql.ConnectionPool({ ...this.config, pool: { min: 0, max: this.options.poolSize ?? 4 } }).connect();
    } catch (err) {
      throw this.wrap(err, 'connecting');
    }
  }

  async ensureStateTable(): Promise<void> {
    const pool = this.requirePool();
    await this.run(pool, { sql: ENSURE_SCHEMA_SQL, params: { schema: nv(this.stateSchema) } }, `creating schema ${this.stateSchema}`);
    await this.run(pool, { sql: createStateTableSql(this.stateSchema), params: { qualifiedName: nv(stateTableName(this.stateSchema)) } }, 'creating ctrelay_state');
  }

  async readState(sourceId: string): Promise<ApplyState | null> {
    const [r] = await this.run(this.requirePool(), { sql: readStateSql(this.stateSchema), params: { sourceId: nv(sourceId) } }, 'reading ctrelay_state');
    if (!r) return null;
    return {
      sourceId,
      batchSeq: BigInt(r.batch_seq as string),
      version: BigInt(r.version as string),
      batchOffset: BigInt(r.batch_offset as string),
      appliedAt: r.applied_at instanceof Date ? r.applied_at : undefined,
    };
  }

  async ensureTable(table: TableMeta): Promise<void> {
    const pool = this.requirePool();
    const name = tableName(table);
    const qn = { qualifiedName: nv(quoteQualified(table.schema, table.table)) };
    await this.run(pool, { sql: ENSURE_SCHEMA_SQL, params: { schema: nv(table.schema) } }, `creating schema ${table.schema}`);
    await this.run(pool, { sql: createTableSql(table), params: qn }, `creating table ${name}`);
    const existing = await this.run(pool, { sql: EXISTING_COLUMNS_SQL, params: qn }, `reading the columns of ${name}`);
    // identifiers compare case-insensitively under the usual collations: never add "Name" next to "name"
    const have = new Set(existing.map((r) => String(r.name).toLowerCase()));
    const missing = table.columns.filter((c) => !have.has(c.name.toLowerCase())).map((c) => c.name);
    if (missing.length > 0) await this.run(pool, { sql: addColumnsSql(table, missing), params: {} }, `adding columns ${missing.join(', ')} to ${name}`);
    const id = existing.find((r) => r.is_identity === true || r.is_identity === 1);
    this.identity.set(name, id ? String(id.name) : null);
  }

  async identityColumn(runner: Runner, table: TableMeta): Promise<string | null> {
    const name = tableName(table);
    if (this.identity.has(name)) return this.identity.get(name)!;
    const rows = await this.run(runner, { sql: EXISTING_COLUMNS_SQL, params: { qualifiedName: nv(quoteQualified(table.schema, table.table)) } }, `reading the columns of ${name}`);
    const id = rows.find((r) => r.is_identity === true || r.is_identity === 1);
    this.identity.set(name, id ? String(id.name) : null);
    return this.identity.get(name)!;
  }

  async scan(table: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]> {
    const pool = this.requirePool();
    const [o] = await this.run(pool, { sql: OBJECT_ID_SQL, params: { qualifiedName: nv(quoteQualified(table.schema, table.table)) } }, `looking up ${tableName(table)}`);
    if (!o || o.object_id === null || o.object_id === undefined) return [];
    const recs = await this.run(pool, scanStatement(table, afterKey, limit), `scanning ${tableName(table)}`);
    const cols = standbyColumns(table);
    return recs.map((rec) => {
      const row: Row = {};
      cols.forEach((c, i) => {
        try {
          row[c.name] = fromDriver(c.type, rec[`c${i}`]);
        } catch (err) {
          if (err instanceof ValueConversionError) throw new StandbyError(`SQL Server standby ${this.label}: table ${tableName(table)} column ${c.name}: ${err.message}`);
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
      throw this.wrap(err, 'beginning a transaction');
    }
    return new SqlServerTransaction(this, tx, this.stateSchema);
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.close().catch(() => undefined);
  }
}

class SqlServerTransaction implements StandbyTransaction {
  constructor(
    private readonly dialect: SqlServerDialect,
    private readonly tx: sql.Transaction,
    private readonly stateSchema: string,
  ) {}

  /** Loads rows (only `columns` of them) into a fresh temp table, chunk by chunk. */
  private async stage(temp: string, table: TableMeta, columns: string[], rows: Row[], doing: string): Promise<void> {
    await this.dialect.run(this.tx, { sql: createTempSql(temp, table, columns), params: {} }, doing);
    const per = rowsPerStatement(columns.length);
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      let st: Statement;
      try {
        st = insertTempStatement(temp, table, columns, chunk);
      } catch (err) {
        const bad = chunk.find((r) => {
          try {
            insertTempStatement(temp, table, columns, [r]);
            return false;
          } catch {
            return true;
          }
        });
        throw new StandbyError(`${doing}: row ${bad ? describeKey(table, bad) : '?'} has a value that is not canonical: ${(err as Error).message}`);
      }
      await this.dialect.run(this.tx, st, `${doing} (rows ${i + 1}..${i + chunk.length}, first key ${describeKey(table, chunk[0])})`);
    }
  }

  async upsert(table: TableMeta, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    const doing = `upserting ${rows.length} rows into ${tableName(table)}`;
    const unique = dedupeLastByKey(table, rows);
    await this.stage(ROWS_TEMP, table, table.columns.map((c) => c.name), unique, doing);
    const identity = await this.dialect.identityColumn(this.tx, table);
    await this.dialect.run(this.tx, { sql: upsertFromTempSql(table, identity), params: {} }, doing);
  }

  async delete(table: TableMeta, keys: Row[]): Promise<void> {
    if (keys.length === 0) return;
    const doing = `deleting ${keys.length} keys from ${tableName(table)}`;
    await this.stage(KEYS_TEMP, table, table.key, dedupeLastByKey(table, keys), doing);
    await this.dialect.run(this.tx, { sql: deleteFromTempSql(table), params: {} }, doing);
  }

  async deleteAll(table: TableMeta): Promise<void> {
    await this.dialect.run(this.tx, { sql: `DELETE FROM ${quoteQualified(table.schema, table.table)};`, params: {} }, `emptying ${tableName(table)} for a re-snapshot`);
  }

  async writeState(state: ApplyState): Promise<void> {
    const [res] = await this.dialect.run(
      this.tx,
      {
        sql: writeStateSql(this.stateSchema),
        params: {
          sourceId: nv(state.sourceId),
          batchSeq: { sqlType: 'bigint', value: state.batchSeq },
          version: { sqlType: 'bigint', value: state.version },
          batchOffset: { sqlType: 'bigint', value: state.batchOffset },
        },
      },
      'writing ctrelay_state',
    );
    if (Number(res?.rows_written ?? 0) === 0) {
      throw new ConcurrentApplierError(
        `ctrelay_state on SQL Server standby ${this.dialect.label} is already at or past batch ${state.batchSeq} of source ${state.sourceId}: another applier writes this standby; this one stops`,
      );
    }
  }

  async commit(): Promise<void> {
    try {
      await this.tx.commit();
    } catch (err) {
      throw this.dialect.wrap(err, 'committing');
    }
  }

  async rollback(): Promise<void> {
    try {
      await this.tx.rollback();
    } catch (err) {
      throw this.dialect.wrap(err, 'rolling back');
    }
  }
}
