// One standby transaction on one pooled MariaDB connection (lifecycle: ../sql-transaction.ts).
import type mysql from 'mysql2/promise';
import type { Row, TableMeta } from '../../core/model.ts';
import { ConcurrentApplierError, type StandbyError } from '../../core/errors.ts';
import type { ApplyState } from '../dialect.ts';
import { classified } from '../driver-errors.ts';
import { describeKey, driverMessage, tableName } from '../messages.ts';
import { dedupeLastByKey } from '../row-keys.ts';
import { SqlTransaction } from '../sql-transaction.ts';
import { deleteStatement, qualified, rowTuple, upsertParts } from './mariadb-statements.ts';
import type { MariaDbDialect } from './mariadb-dialect.ts';
import { isTransientMaria } from './mariadb-errors.ts';

/** Keys per DELETE: bounded so the IN list stays well inside the packet and the optimiser's range limits. */
const DELETE_CHUNK = 5_000;

export class MariaTransaction extends SqlTransaction {
  constructor(
    private readonly dialect: MariaDbDialect,
    private readonly conn: mysql.PoolConnection,
  ) {
    super(dialect.where);
  }

  private async send(table: TableMeta, op: string, rows: Row[], sql: string): Promise<void> {
    await this.run(() => this.conn.query(sql), (err) => this.writeError(op, table, rows, err));
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
      await this.send(table, 'upsert', chunkRows, head + tuples.join(',') + tail);
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
      await this.send(table, 'delete', chunk, deleteStatement(table, chunk));
    }
  }

  async deleteAll(table: TableMeta): Promise<void> {
    await this.send(table, 'delete', [], `DELETE FROM ${qualified(table)}`);
  }

  async writeState(state: ApplyState): Promise<void> {
    // forward only: read the stored position under a lock first (a locking read sees the newest
    // committed row, and a concurrent applier waits here); mysql2's FOUND_ROWS flag makes the
    // upsert's affectedRows useless for telling "unchanged" apart
    const written = await this.run(
      async () => {
        const [rows] = await this.conn.query(
          `SELECT CAST(batch_seq AS CHAR) AS s FROM ${this.dialect.stateTable} WHERE source_id = ? FOR UPDATE`,
          [state.sourceId],
        );
        const stored = (rows as { s: string }[])[0]?.s;
        if (stored !== undefined && BigInt(stored) >= state.batchSeq) return false;
        await this.conn.query(
          `INSERT INTO ${this.dialect.stateTable} (source_id, batch_seq, version, batch_offset, applied_at)
           VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))
           ON DUPLICATE KEY UPDATE batch_seq = VALUES(batch_seq), version = VALUES(version),
             batch_offset = VALUES(batch_offset), applied_at = VALUES(applied_at)`,
          [state.sourceId, String(state.batchSeq), String(state.version), String(state.batchOffset)],
        );
        return true;
      },
      (err) => this.classify(err, `cannot write apply state for source ${state.sourceId}`),
    );
    if (!written) {
      throw this.poison(
        new ConcurrentApplierError(
          `ctrelay_state on ${this.where} is already at or past batch ${state.batchSeq} of source ${state.sourceId}: another applier writes this standby; this one stops`,
        ),
      );
    }
  }

  private writeError(op: string, table: TableMeta, rows: Row[], err: unknown): StandbyError {
    // MariaDB names the row ("... at row 7") counting the statement's VALUES tuples from 1.
    const msg = err instanceof Error ? err.message : String(err);
    const at = /at row (\d+)/.exec(msg);
    const row = at ? rows[Number(at[1]) - 1] : undefined;
    const where = row ? ` at key (${describeKey(table, row)})` : '';
    return classified(`cannot ${op} ${rows.length} row(s) in table ${tableName(table)}${where}: ${driverMessage(err)}`, isTransientMaria(err), err);
  }

  protected classify(err: unknown, doing: string): StandbyError {
    return this.dialect.fail(err, doing);
  }

  protected async endOnServer(commit: boolean): Promise<string | null> {
    await this.conn.query(commit ? 'COMMIT' : 'ROLLBACK');
    return null;
  }

  protected releaseConnection(): void {
    this.conn.release();
  }

  protected destroyConnection(): void {
    this.conn.destroy();
  }
}
