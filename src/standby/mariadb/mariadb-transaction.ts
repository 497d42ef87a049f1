// One standby transaction on one pooled MariaDB connection (lifecycle: ../sql-transaction.ts).
import type mysql from 'mysql2/promise';
import type { Row, TableMeta } from '../../core/model.ts';
import { ConcurrentApplierError, StandbyError } from '../../core/errors.ts';
import type { ApplyState } from '../dialect.ts';
import { classified } from '../driver-errors.ts';
import { describeKey, driverMessage, tableName } from '../messages.ts';
import { dedupeLastByKey } from '../row-keys.ts';
import { SqlTransaction } from '../sql-transaction.ts';
import { checkRowsFit } from '../value-fit.ts';
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

  /**
   * Sends one write. MariaDB only NOTES some changes to a value even in strict mode (a DECIMAL
   * rounded to the column's scale, trailing spaces cut): any warning or note on a write is an
   * error here, naming what the server said and the row it counted.
   */
  private async send(table: TableMeta, op: string, rows: Row[], sql: string): Promise<void> {
    await this.run(
      async () => {
        const [res] = await this.conn.query(sql);
        if (((res as { warningStatus?: number }).warningStatus ?? 0) > 0) await this.refuseWarnings(table, op, rows);
      },
      (err) => this.writeError(op, table, rows, err),
    );
  }

  private async refuseWarnings(table: TableMeta, op: string, rows: Row[]): Promise<never> {
    const [list] = await this.conn.query('SHOW WARNINGS');
    const warnings = list as { Level: string; Code: number; Message: string }[];
    const first = warnings[0];
    const at = first ? /at row (\d+)/.exec(first.Message) : null;
    const row = at ? rows[Number(at[1]) - 1] : undefined;
    const said = warnings.map((w) => `${w.Level} ${w.Code}: ${w.Message}`).join('; ') || 'a warning it no longer lists';
    throw new StandbyError(
      `${this.where}: ${op} of ${rows.length} row(s) in table ${tableName(table)}${row ? ` at key (${describeKey(table, row)})` : ''} changed a value instead of storing it as it is (MariaDB said: ${said}); ` +
        'the transaction is rolled back. The standby column no longer has the type ctrelay gave it (changed by hand?): ALTER it back to the source\'s type, ' +
        'or drop the standby table and let capture re-snapshot the source table (`ctrelay ct disable` then `ctrelay ct enable` for it)',
    );
  }

  async ensureTable(table: TableMeta): Promise<void> {
    // MariaDB commits the open transaction on DDL: the applier changes tables before begin()
    await this.run(
      async () => {
        throw new StandbyError(`${this.where}: table ${tableName(table)} cannot be changed inside a transaction on MariaDB (DDL commits it); call ensureTable before begin()`);
      },
      (err) => this.classify(err, 'ensureTable'),
    );
  }

  async upsert(table: TableMeta, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    // a value the column would round or cut: refused before anything is sent (a StandbyError poisons as it is)
    await this.run(async () => checkRowsFit(table, rows, 'MariaDB'), (err) => this.classify(err, 'cannot check the rows'));
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
      // a value MariaDB cannot store (NaN, -0, ...) poisons the transaction like a refused statement
      const tuple = await this.run(async () => rowTuple(table, table.columns, row), (err) => this.classify(err, 'cannot build the statement'));
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
