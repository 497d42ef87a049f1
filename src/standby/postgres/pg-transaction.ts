// One standby transaction on one pooled PostgreSQL connection (lifecycle: ../sql-transaction.ts).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Row, TableMeta } from '../../core/model.ts';
import { ConcurrentApplierError, StandbyError } from '../../core/errors.ts';
import type { ApplyState, BulkLoad } from '../dialect.ts';
import { classified } from '../driver-errors.ts';
import { describeKey, driverMessage, tableName } from '../messages.ts';
import { dedupeLastByKey } from '../row-keys.ts';
import { SqlTransaction } from '../sql-transaction.ts';
import { checkRowsFit } from '../value-fit.ts';
import { keyColumns } from '../table-shape.ts';
import type { StandbyColumn } from '../dialect.ts';
import { checkReadBack, writeShape, type WriteShape } from '../write-shape.ts';
import { columnArrays, deleteStatement, qualified, readBackStatement, upsertStatement } from './pg-statements.ts';
import { concurrentCreate, PG_CHECK_HINT, RAW_TYPES, type PostgresDialect } from './postgres-dialect.ts';
import { isDataError, isTransientPg } from './pg-errors.ts';
import { readPromotionOn } from './pg-promotion.ts';
import { PromotedError } from '../promotion.ts';
import { fromPgText } from './pg-types.ts';
import { copyErrorRow, copyRows } from './pg-copy.ts';

/** Rows per statement: large enough to amortise the round trip, small enough to bound memory. */
const MAX_ROWS_PER_STATEMENT = 10_000;
/** Bytes of array text per statement, so rows with large values still go in bounded statements. */
const MAX_BYTES_PER_STATEMENT = 16 << 20;

/**
 * One apply transaction, begun as a replica by PostgresDialect.begin(). The first statement on a
 * table locks it and reads its catalog (PostgresDialect.prepareWrite): the columns decide the write
 * shape (src/standby/write-shape.ts: generated columns left out and read back, identity columns
 * written with OVERRIDING SYSTEM VALUE), kept for the transaction until ensureTable changes the table.
 */
export class PgTransaction extends SqlTransaction implements BulkLoad {
  /** tables this transaction created or altered: another session cannot read them until it ends */
  private readonly changed = new Set<string>();
  /** the standby columns of each table written in this transaction, by table name */
  private readonly prepared = new Map<string, StandbyColumn[]>();

  constructor(
    private readonly dialect: PostgresDialect,
    private readonly client: pg.PoolClient,
  ) {
    super(dialect.where);
  }

  private query(sql: string, values: (string | null)[]): Promise<number> {
    const name = `ctr_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    return this.client.query({ name, text: sql, values }).then((r) => r.rowCount ?? 0);
  }

  async ensureTable(table: TableMeta): Promise<void> {
    await this.run(
      async () => {
        // a standby reader holding the table must not make the applier wait for ever on DDL
        let limited = false;
        const limit = async () => {
          limited = true;
          await this.client.query(`SET LOCAL lock_timeout = '30s'`);
        };
        if (await this.dialect.ensureOn(this.client, table, limit)) {
          this.changed.add(tableName(table));
          this.prepared.delete(tableName(table));
        }
        if (limited) await this.client.query('SET LOCAL lock_timeout TO DEFAULT');
      },
      (err) => concurrentCreate(err, table) ?? this.classify(err, `cannot create or alter table ${tableName(table)}`),
    );
  }

  /** The standby's columns of `table`, read (under a lock) by the first statement on it in this transaction. */
  private async columnsOf(table: TableMeta): Promise<StandbyColumn[]> {
    const name = tableName(table);
    let columns = this.prepared.get(name);
    if (!columns) {
      columns = (await this.run(() => this.dialect.prepareWrite(this.client, table), (err) => this.classify(err, `cannot write table ${name}`))) ?? [];
      this.prepared.set(name, columns);
    }
    return columns;
  }

  private async shapeOf(table: TableMeta): Promise<WriteShape> {
    const columns = await this.columnsOf(table);
    return this.run(async () => writeShape(table, columns, false, 'PostgreSQL'), (err) => this.classify(err, `cannot write table ${tableName(table)}`));
  }

  async upsert(table: TableMeta, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    // a value the column would round or cut: refused before anything is sent (a StandbyError poisons as it is)
    await this.run(async () => checkRowsFit(table, rows, 'PostgreSQL'), (err) => this.classify(err, 'cannot check the rows'));
    const shape = await this.shapeOf(table);
    const unique = dedupeLastByKey(table, rows);
    const sql = upsertStatement(table, shape);
    const names = shape.written.map((c) => c.name);
    for (const chunk of chunks(table, unique)) {
      const values = columnArrays(table, names, chunk);
      await this.run(() => this.query(sql, values), (err) => this.writeError('upsert', table, shape, chunk, err));
      if (shape.checked.length > 0) await this.compareReadBack(table, shape, chunk);
    }
  }

  async load(table: TableMeta, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    const shape = await this.shapeOf(table);
    if (shape.checked.length > 0) return this.upsert(table, rows); // columns the standby computes are read back there
    await this.run(async () => checkRowsFit(table, rows, 'PostgreSQL'), (err) => this.classify(err, 'cannot check the rows'));
    const names = shape.written.map((c) => c.name);
    await this.run(
      () => copyRows(this.client, table, names, rows),
      (err) => {
        const bad = copyErrorRow(err, rows);
        return classified(`cannot load ${rows.length} row(s) into table ${tableName(table)}${bad ? ` at key (${describeKey(table, bad)})` : ''}: ${driverMessage(err)}`, isTransientPg(err), err);
      },
    );
  }

  /** The columns the standby computes (or cannot update) of `rows`, read back and compared exactly with them. */
  private async compareReadBack(table: TableMeta, shape: WriteShape, rows: Row[]): Promise<void> {
    const sql = readBackStatement(table, shape);
    const cols = [...keyColumns(table), ...shape.checked.map((c) => c.column)];
    const readBack = await this.run(
      async () => {
        const name = `ctr_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
        const r = await this.client.query<unknown[]>({ name, text: sql, values: columnArrays(table, table.key, rows), rowMode: 'array', types: RAW_TYPES });
        return r.rows.map((values) => {
          const row: Row = {};
          cols.forEach((c, i) => (row[c.name] = fromPgText(c.type, values[i] as string | null)));
          return row;
        });
      },
      (err) => this.classify(err, `cannot read back the computed columns of table ${tableName(table)}`),
    );
    const mismatch = checkReadBack(table, shape, rows, readBack, 'PostgreSQL', PG_CHECK_HINT);
    if (mismatch) throw this.poison(mismatch);
  }

  async delete(table: TableMeta, keys: Row[]): Promise<void> {
    if (keys.length === 0) return;
    await this.columnsOf(table);
    const sql = deleteStatement(table);
    for (let i = 0; i < keys.length; i += MAX_ROWS_PER_STATEMENT) {
      const chunk = keys.slice(i, i + MAX_ROWS_PER_STATEMENT);
      const values = columnArrays(table, table.key, chunk);
      await this.run(() => this.query(sql, values), (err) => this.writeError('delete', table, null, chunk, err));
    }
  }

  async deleteAll(table: TableMeta): Promise<void> {
    await this.columnsOf(table);
    await this.run(() => this.query(`DELETE FROM ${qualified(table)}`, []), (err) => this.writeError('delete', table, null, [], err));
  }

  async writeState(state: ApplyState): Promise<void> {
    const sql =
      `INSERT INTO ${this.dialect.stateTable} (source_id, batch_seq, version, batch_offset, applied_at)` +
      ` VALUES ($1, $2::bigint, $3::bigint, $4::bigint, clock_timestamp())` +
      ` ON CONFLICT (source_id) DO UPDATE SET batch_seq = EXCLUDED.batch_seq, version = EXCLUDED.version,` +
      ` batch_offset = EXCLUDED.batch_offset, applied_at = EXCLUDED.applied_at` +
      ` WHERE ${this.dialect.stateTable}.batch_seq < EXCLUDED.batch_seq AND ${this.dialect.stateTable}.promoted_at IS NULL`;
    const doing = `cannot write apply state for source ${state.sourceId}`;
    const written = await this.run(
      () => this.query(sql, [state.sourceId, String(state.batchSeq), String(state.version), String(state.batchOffset)]),
      (err) => this.classify(err, doing),
    );
    if (written === 0) {
      // the row waited for (a markPromoted that committed meanwhile) is read as committed now
      const promotion = await this.run(() => readPromotionOn(this.client, this.dialect.stateTable, state.sourceId), (err) => this.classify(err, doing));
      if (promotion) throw this.poison(new PromotedError(this.where, state.sourceId, promotion));
      throw this.poison(
        new ConcurrentApplierError(
          `ctrelay_state on ${this.where} is already at or past batch ${state.batchSeq} of source ${state.sourceId}: another applier writes this standby; this one stops`,
        ),
      );
    }
  }

  private async writeError(op: string, table: TableMeta, shape: WriteShape | null, rows: Row[], err: unknown): Promise<StandbyError> {
    const transient = isTransientPg(err);
    let where = '';
    // PostgreSQL says what was wrong with a set-based write, not which row: find it (not in a
    // table this transaction changed: the probe's session would wait for its lock)
    if (!transient && shape && isDataError(err) && !this.changed.has(tableName(table))) {
      const bad = await this.dialect.findBadRow(table, shape, rows);
      if (bad) where = ` at key (${describeKey(table, bad)})`;
    }
    return classified(`cannot ${op} ${rows.length} row(s) in table ${tableName(table)}${where}: ${driverMessage(err)}`, transient, err);
  }

  protected classify(err: unknown, doing: string): StandbyError {
    return this.dialect.fail(err, doing);
  }

  protected async endOnServer(commit: boolean): Promise<string | null> {
    const r = await this.client.query(commit ? 'COMMIT' : 'ROLLBACK');
    // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not with an error.
    return commit && r.command !== 'COMMIT' ? `COMMIT answered ${r.command}, nothing was applied` : null;
  }

  protected releaseConnection(): void {
    this.dialect.checkin(this.client, false);
  }

  protected destroyConnection(): void {
    this.dialect.checkin(this.client, true);
  }
}

function* chunks(table: TableMeta, rows: Row[]): Generator<Row[]> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    bytes += approximateSize(table, rows[i]);
    if (i + 1 - start >= MAX_ROWS_PER_STATEMENT || bytes >= MAX_BYTES_PER_STATEMENT) {
      yield rows.slice(start, i + 1);
      start = i + 1;
      bytes = 0;
    }
  }
  if (start < rows.length) yield rows.slice(start);
}

function approximateSize(table: TableMeta, row: Row): number {
  let n = 0;
  for (const col of table.columns) {
    const v = row[col.name];
    n += typeof v === 'string' ? v.length : Buffer.isBuffer(v) ? v.length * 2 : 8;
  }
  return n;
}
