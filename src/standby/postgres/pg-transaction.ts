// One standby transaction on one pooled PostgreSQL connection.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Row, TableMeta } from '../../core/model.ts';
import { ConcurrentApplierError, StandbyError } from '../../core/errors.ts';
import type { ApplyState, StandbyTransaction } from '../dialect.ts';
import { dedupeLastByKey, describeKey, driverMessage, tableName } from '../canonical-values.ts';
import { redact } from '../../core/redact.ts';
import { columnArrays, deleteStatement, qualified, upsertStatement } from './pg-statements.ts';
import type { PostgresDialect } from './postgres-dialect.ts';
import { isConnectionError, isDataError } from './pg-errors.ts';

/** Rows per statement: large enough to amortise the round trip, small enough to bound memory. */
const MAX_ROWS_PER_STATEMENT = 10_000;
/** Bytes of array text per statement, so rows with large values still go in bounded statements. */
const MAX_BYTES_PER_STATEMENT = 16 << 20;

export class PgTransaction implements StandbyTransaction {
  private done = false;
  /** PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not an error: remember. */
  private failure: unknown = null;

  constructor(
    private readonly dialect: PostgresDialect,
    private readonly client: pg.PoolClient,
  ) {}

  private async run(sql: string, values: (string | null)[]): Promise<number> {
    if (this.done) throw new StandbyError(`PostgreSQL standby ${this.dialect.server}: transaction already finished`);
    const name = `ctr_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    try {
      return (await this.client.query({ name, text: sql, values })).rowCount ?? 0;
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
  }

  async upsert(table: TableMeta, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    const unique = dedupeLastByKey(table, rows);
    const sql = upsertStatement(table);
    for (const chunk of chunks(table, unique)) {
      try {
        await this.run(sql, columnArrays(table, table.columns.map((c) => c.name), chunk));
      } catch (err) {
        throw await this.writeError('upsert', table, chunk, err);
      }
    }
  }

  async delete(table: TableMeta, keys: Row[]): Promise<void> {
    if (keys.length === 0) return;
    const sql = deleteStatement(table);
    for (let i = 0; i < keys.length; i += MAX_ROWS_PER_STATEMENT) {
      const chunk = keys.slice(i, i + MAX_ROWS_PER_STATEMENT);
      try {
        await this.run(sql, columnArrays(table, table.key, chunk));
      } catch (err) {
        throw await this.writeError('delete', table, chunk, err);
      }
    }
  }

  async deleteAll(table: TableMeta): Promise<void> {
    try {
      await this.run(`DELETE FROM ${qualified(table)}`, []);
    } catch (err) {
      throw await this.writeError('delete', table, [], err);
    }
  }

  async writeState(state: ApplyState): Promise<void> {
    const sql =
      `INSERT INTO ${this.dialect.stateTable} (source_id, batch_seq, version, batch_offset, applied_at)` +
      ` VALUES ($1, $2::bigint, $3::bigint, $4::bigint, clock_timestamp())` +
      ` ON CONFLICT (source_id) DO UPDATE SET batch_seq = EXCLUDED.batch_seq, version = EXCLUDED.version,` +
      ` batch_offset = EXCLUDED.batch_offset, applied_at = EXCLUDED.applied_at` +
      ` WHERE ${this.dialect.stateTable}.batch_seq < EXCLUDED.batch_seq`;
    let written: number;
    try {
      written = await this.run(sql, [state.sourceId, String(state.batchSeq), String(state.version), String(state.batchOffset)]);
    } catch (err) {
      throw new StandbyError(
        `cannot write apply state for source ${state.sourceId} on PostgreSQL standby ${this.dialect.server}: ${driverMessage(err)}`,
        { cause: err },
      );
    }
    if (written === 0) {
      throw new ConcurrentApplierError(
        `ctrelay_state on PostgreSQL standby ${this.dialect.server} is already at or past batch ${state.batchSeq} of source ${state.sourceId}: another applier writes this standby; this one stops`,
      );
    }
  }

  private async writeError(op: string, table: TableMeta, rows: Row[], err: unknown): Promise<StandbyError> {
    if (isConnectionError(err)) return this.dialect.connectionError(err);
    let where = '';
    if (op === 'upsert' && isDataError(err)) {
      const bad = await this.dialect.findBadRow(table, rows);
      if (bad) where = ` at key (${describeKey(table, bad)})`;
    }
    return new StandbyError(
      `cannot ${op} ${rows.length} row(s) in table ${tableName(table)}${where}: ${driverMessage(err)}`,
      { cause: err },
    );
  }

  async commit(): Promise<void> {
    if (this.done) throw new StandbyError(`PostgreSQL standby ${this.dialect.server}: transaction already finished`);
    this.done = true;
    if (this.failure !== null) {
      await this.finish('ROLLBACK');
      throw new StandbyError(
        `PostgreSQL standby ${this.dialect.server}: transaction rolled back, a statement in it failed: ${driverMessage(this.failure)}`,
        { cause: this.failure },
      );
    }
    const tag = await this.finish('COMMIT');
    if (tag !== 'COMMIT') {
      throw new StandbyError(`PostgreSQL standby ${this.dialect.server}: COMMIT answered ${tag}, nothing was applied`);
    }
  }

  async rollback(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.finish('ROLLBACK');
  }

  private async finish(sql: 'COMMIT' | 'ROLLBACK'): Promise<string> {
    try {
      const r = await this.client.query(sql);
      this.client.release();
      return r.command;
    } catch (err) {
      // The connection is in an unknown state: destroy it rather than return it to the pool.
      this.client.release(true);
      throw new StandbyError(
        `${sql} failed on PostgreSQL standby ${this.dialect.server}: ${redact(driverMessage(err))}`,
        { cause: err },
      );
    }
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
