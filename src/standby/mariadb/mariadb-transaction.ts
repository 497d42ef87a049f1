// One standby transaction on one pooled MariaDB connection.
import type mysql from 'mysql2/promise';
import type { Row, TableMeta } from '../../core/model.ts';
import { ConcurrentApplierError, StandbyError } from '../../core/errors.ts';
import type { ApplyState, StandbyTransaction } from '../dialect.ts';
import { dedupeLastByKey, describeKey, driverMessage, tableName } from '../canonical-values.ts';
import { redact } from '../../core/redact.ts';
import { deleteStatement, qualified, rowTuple, upsertParts } from './mariadb-statements.ts';
import type { MariaDbDialect } from './mariadb-dialect.ts';
import { isConnectionError } from './mariadb-errors.ts';

/** Keys per DELETE: bounded so the IN list stays well inside the packet and the optimiser's range limits. */
const DELETE_CHUNK = 5_000;

export class MariaTransaction implements StandbyTransaction {
  private done = false;
  /** A failed statement may have rolled back the whole transaction (deadlock): never commit after one. */
  private failure: unknown = null;

  constructor(
    private readonly dialect: MariaDbDialect,
    private readonly conn: mysql.PoolConnection,
  ) {}

  private async run(sql: string): Promise<void> {
    if (this.done) throw new StandbyError(`MariaDB standby ${this.dialect.server}: transaction already finished`);
    try {
      await this.conn.query(sql);
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
  }

  async upsert(table: TableMeta, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    const unique = dedupeLastByKey(table, rows);
    const { head, tail } = upsertParts(table);
    const budget = this.dialect.maxStatementBytes - Buffer.byteLength(head) - Buffer.byteLength(tail);
    let tuples: string[] = [];
    let chunkRows: Row[] = [];
    let bytes = 0;
    const flush = async () => {
      if (tuples.length === 0) return;
      try {
        await this.run(head + tuples.join(',') + tail);
      } catch (err) {
        throw this.writeError('upsert', table, chunkRows, err);
      }
      tuples = [];
      chunkRows = [];
      bytes = 0;
    };
    for (const row of unique) {
      const tuple = rowTuple(table, table.columns, row);
      // Bytes, not characters: max_allowed_packet counts UTF-8 bytes, up to 3 per UTF-16 unit.
      const size = Buffer.byteLength(tuple) + 1;
      if (bytes + size > budget) await flush();
      tuples.push(tuple);
      chunkRows.push(row);
      bytes += size;
    }
    await flush();
  }

  async delete(table: TableMeta, keys: Row[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
      const chunk = keys.slice(i, i + DELETE_CHUNK);
      try {
        await this.run(deleteStatement(table, chunk));
      } catch (err) {
        throw this.writeError('delete', table, chunk, err);
      }
    }
  }

  async deleteAll(table: TableMeta): Promise<void> {
    try {
      await this.run(`DELETE FROM ${qualified(table)}`);
    } catch (err) {
      throw this.writeError('delete', table, [], err);
    }
  }

  async writeState(state: ApplyState): Promise<void> {
    if (this.done) throw new StandbyError(`MariaDB standby ${this.dialect.server}: transaction already finished`);
    // forward only: read the stored position under a lock first (a locking read sees the newest
    // committed row, and a concurrent applier waits here); mysql2's FOUND_ROWS flag makes the
    // upsert's affectedRows useless for telling "unchanged" apart
    let affected = 1; // 0 = the stored batch is already at or past ours
    try {
      const [rows] = await this.conn.query(`SELECT CAST(batch_seq AS CHAR) AS s FROM ${this.dialect.stateTable} WHERE source_id = ? FOR UPDATE`, [state.sourceId]);
      const stored = (rows as { s: string }[])[0]?.s;
      if (stored !== undefined && BigInt(stored) >= state.batchSeq) affected = 0;
      else {
        await this.conn.query(
          `INSERT INTO ${this.dialect.stateTable} (source_id, batch_seq, version, batch_offset, applied_at)
           VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))
           ON DUPLICATE KEY UPDATE batch_seq = VALUES(batch_seq), version = VALUES(version),
             batch_offset = VALUES(batch_offset), applied_at = VALUES(applied_at)`,
          [state.sourceId, String(state.batchSeq), String(state.version), String(state.batchOffset)],
        );
      }
    } catch (err) {
      this.failure ??= err;
      throw new StandbyError(
        `cannot write apply state for source ${state.sourceId} on MariaDB standby ${this.dialect.server}: ${driverMessage(err)}`,
        { cause: err },
      );
    }
    if (affected === 0) {
      throw new ConcurrentApplierError(
        `ctrelay_state on MariaDB standby ${this.dialect.server} is already at or past batch ${state.batchSeq} of source ${state.sourceId}: another applier writes this standby; this one stops`,
      );
    }
  }

  private writeError(op: string, table: TableMeta, rows: Row[], err: unknown): StandbyError {
    if (err instanceof StandbyError) return err;
    if (isConnectionError(err)) return this.dialect.connectionError(err);
    // MariaDB names the row ("... at row 7") counting the statement's VALUES tuples from 1.
    const msg = err instanceof Error ? err.message : String(err);
    const at = /at row (\d+)/.exec(msg);
    const row = at ? rows[Number(at[1]) - 1] : undefined;
    const where = row ? ` at key (${describeKey(table, row)})` : '';
    return new StandbyError(`cannot ${op} ${rows.length} row(s) in table ${tableName(table)}${where}: ${driverMessage(err)}`, {
      cause: err,
    });
  }

  async commit(): Promise<void> {
    if (this.done) throw new StandbyError(`MariaDB standby ${this.dialect.server}: transaction already finished`);
    this.done = true;
    if (this.failure !== null) {
      await this.finish('ROLLBACK');
      throw new StandbyError(
        `MariaDB standby ${this.dialect.server}: transaction rolled back, a statement in it failed: ${driverMessage(this.failure)}`,
        { cause: this.failure },
      );
    }
    await this.finish('COMMIT');
  }

  async rollback(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.finish('ROLLBACK');
  }

  private async finish(sql: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    try {
      await this.conn.query(sql);
      this.conn.release();
    } catch (err) {
      // Unknown connection state: never hand it back to the pool.
      this.conn.destroy();
      throw new StandbyError(`${sql} failed on MariaDB standby ${this.dialect.server}: ${redact(driverMessage(err))}`, {
        cause: err,
      });
    }
  }
}
