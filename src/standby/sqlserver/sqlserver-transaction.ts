// One apply transaction on the SQL Server standby (SqlServerDialect.begin): rows are staged in a
// session temp table (sqlserver-staging.ts), checked, and applied set-based.
//
// Before anything is sent, every value is checked against the standby column's type (value-fit,
// against storedShape): a decimal or a fractional second the column would round, a string or binary
// value longer than its column (an unbounded source key is nvarchar(450) here) is refused naming
// table, column, key and both lengths. Staging itself never cuts either: strings and binary are
// inserted as they are, so a column narrowed behind ctrelay's back makes the INSERT fail (2628/8152,
// ANSI_WARNINGS ON), never store a shorter value.
//
// Keys (sqlserver-keys.ts): the first statement on a table in a transaction refuses a string key
// column with a non-binary collation, and a staged key SQL Server would take for another one
// (trailing spaces, trailing zero bytes) is refused before the upsert touches anything.
import { PromotedError } from '../promotion.ts';
import type sql from 'mssql';
import { ConcurrentApplierError, StandbyError } from '../../core/errors.ts';
import type { Row, TableMeta } from '../../core/model.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { objectName, quoteIdent } from '../../drivers/sqlserver/quote.ts';
import { fromDriver } from '../../drivers/sqlserver/values.ts';
import type { ApplyState, StandbyColumn } from '../dialect.ts';
import { describeKey, tableName } from '../messages.ts';
import { dedupeLastByKey } from '../row-keys.ts';
import { SqlTransaction } from '../sql-transaction.ts';
import { checkRowsFit } from '../value-fit.ts';
import { checkReadBack, writeShape, type CheckHint, type WriteShape } from '../write-shape.ts';
import type { SqlServerDialect } from './sqlserver-dialect.ts';
import * as T from './sqlserver-statements.ts';
import { isShortenedKey, standbyColumns } from './sqlserver-types.ts';

type Rec = Record<string, unknown>;

const storedShapes = new WeakMap<TableMeta, TableMeta>();

/**
 * `table` with each string and binary column's length as the standby column has it (an unbounded
 * key is nvarchar(450) / varbinary(900) here, and says why in its type text), so that value-fit
 * refuses what the standby column cannot hold, naming both lengths.
 */
export function storedShape(table: TableMeta): TableMeta {
  let t = storedShapes.get(table);
  if (!t) {
    const keys = new Set(table.key);
    const columns = standbyColumns(table).map((c) => {
      const m = /^n?(?:var)?(?:char|binary)\((\d+)\)$/.exec(c.sourceType);
      if (!m || (c.type.kind !== 'string' && c.type.kind !== 'bytes')) return c;
      const shortened = isShortenedKey(table.columns.find((o) => o.name === c.name)!.type, keys.has(c.name));
      const sourceType = shortened ? `${c.sourceType}, the longest key SQL Server indexes (900 bytes); the source's key column is longer` : c.sourceType;
      return { ...c, sourceType, type: { ...c.type, maxLength: Number(m[1]) } };
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

/** What the first statements on a table in a transaction learnt about it. */
interface Prepared {
  columns: StandbyColumn[];
  /** the collation of each string key column, for the staging table */
  keyCollations: Map<string, string>;
}

/**
 * One apply transaction. The first statement on a table reads its columns (the write shape,
 * write-shape.ts), refuses it when a trigger or foreign key would act (sqlserver-dialect.ts header)
 * or a string key column does not compare binary. IDENTITY_INSERT is session state that outlives
 * the transaction: a table whose upsert batch failed between ON and OFF has it turned off before
 * the transaction ends, and when that cannot be done (the server aborted the transaction, the
 * statement failed) the connection is closed instead of going back to the pool with it on (where
 * the next identity table's ON would fail with 8107).
 */
export class SqlServerTransaction extends SqlTransaction {
  /** mssql ends the transaction itself when the server rolled it back (deadlock victim, XACT_ABORT). */
  private abortedByServer = false;
  /** the tedious connection mssql lent the transaction (an mssql internal), to close it when its state is unknown */
  private readonly connection: { close(): void } | null;
  /** what the first statements learnt about each table written in this transaction, by table name */
  private readonly prepared = new Map<string, Prepared>();
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

  /** Runs a check on the client; what it throws poisons the transaction, classified. */
  private check<T>(f: () => T, doing: string): Promise<T> {
    return this.run(async () => f(), (err) => this.dialect.fail(err, doing));
  }

  /** Loads rows (only `columns` of them) into a fresh temp table, chunk by chunk. */
  private async stage(temp: string, table: TableMeta, columns: string[], rows: Row[], doing: string, keyCollations: Map<string, string>): Promise<void> {
    await this.send(T.createTempStatement(temp, table, columns, keyCollations), doing);
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
        throw this.poison(new StandbyError(`${doing}: row ${bad ? describeKey(table, bad) : '?'} has a value that is not canonical: ${(err as Error).message}`));
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

  /** The first statements on `table` in this transaction (see the class comment). */
  private async prepare(table: TableMeta): Promise<Prepared> {
    const name = tableName(table);
    const known = this.prepared.get(name);
    if (known) return known;
    const doing = `cannot write table ${name}`;
    const rows = await this.send(T.existingColumnsStatement(table), doing);
    const refused = T.keyCollationError(this.dialect.where, table, rows) ?? T.replicaBlockersError(this.dialect.where, table, await this.send(T.replicaBlockersStatement(table), doing));
    if (refused) throw this.poison(refused);
    const prepared = { columns: T.standbyColumnsOf(rows), keyCollations: T.stagingCollations(table, rows) };
    this.prepared.set(name, prepared);
    return prepared;
  }

  async upsert(table: TableMeta, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    // CAST to the column type would round decimals and fractional seconds; a string or binary value
    // longer than its column is refused here, naming table, column and key, before the server refuses it
    await this.check(() => checkRowsFit(storedShape(table), rows, 'SQL Server', 'utf16'), 'cannot check the rows');
    const { columns, keyCollations } = await this.prepare(table);
    const shape = await this.check(() => writeShape(table, columns, true, 'SQL Server'), `cannot write table ${tableName(table)}`);
    const doing = `cannot upsert ${rows.length} rows into ${tableName(table)}`;
    const unique = dedupeLastByKey(table, rows);
    await this.stage(T.ROWS_TEMP, table, table.columns.map((c) => c.name), unique, doing, keyCollations);
    const clash = T.keyClashStatement(table, T.ROWS_TEMP);
    if (clash) {
      const [rec] = await this.send(clash, doing);
      if (rec) throw this.poison(await this.check(() => T.keyClashError(this.dialect.where, table, rec), doing));
    }
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
    const doing = `cannot read back the computed columns of ${tableName(table)}`;
    const recs = await this.send(T.readBackStatement(table, shape), doing);
    const cols = [...table.key.map((k) => table.columns.find((c) => c.name === k)!), ...shape.checked.map((c) => c.column)];
    const readBack = await this.check(
      () =>
        recs.map((rec) => {
          const row: Row = {};
          cols.forEach((c, i) => (row[c.name] = fromDriver(c.type, rec[`c${i}`])));
          return row;
        }),
      doing,
    );
    const mismatch = checkReadBack(table, shape, rows, readBack, 'SQL Server', SQLSERVER_CHECK_HINT);
    if (mismatch) throw this.poison(mismatch);
  }

  async delete(table: TableMeta, keys: Row[]): Promise<void> {
    if (keys.length === 0) return;
    const { keyCollations } = await this.prepare(table);
    // a key longer than its key column cannot be on the standby: refused rather than staged
    const keyTable = { ...table, columns: table.columns.filter((c) => table.key.includes(c.name)) };
    await this.check(() => checkRowsFit(storedShape(keyTable), keys, 'SQL Server', 'utf16'), 'cannot check the keys');
    const doing = `cannot delete ${keys.length} keys from ${tableName(table)}`;
    await this.stage(T.KEYS_TEMP, table, table.key, dedupeLastByKey(table, keys), doing, keyCollations);
    await this.send(T.deleteFromTempStatement(table), doing);
  }

  async deleteAll(table: TableMeta): Promise<void> {
    await this.prepare(table);
    await this.send(T.deleteAllStatement(table), `cannot empty ${tableName(table)} for a re-snapshot`);
  }

  async writeState(state: ApplyState): Promise<void> {
    const [res] = await this.send(T.writeStateStatement(this.stateSchema, state), `cannot write apply state for source ${state.sourceId}`);
    if (res?.promoted_at instanceof Date) {
      const p = { at: res.promoted_at, version: BigInt(res.promoted_version as string), batchSeq: BigInt(res.promoted_seq as string) };
      throw this.poison(new PromotedError(this.where, state.sourceId, p));
    }
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
