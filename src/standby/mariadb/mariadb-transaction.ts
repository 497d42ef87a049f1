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
import { checkReadBack, writeShape, type WriteShape } from '../write-shape.ts';
import type { StandbyColumn } from '../dialect.ts';
import { keyColumns } from '../table-shape.ts';
import { deleteStatement, qualified, readBackStatement, rowTuple, upsertParts } from './mariadb-statements.ts';
import { describeOn, MARIA_CHECK_HINT, triggersOn, type MariaDbDialect } from './mariadb-dialect.ts';
import { isTransientMaria } from './mariadb-errors.ts';
import { fromMaria, quoteIdent } from './mariadb-types.ts';
import { lockedState, promotionOf } from './mariadb-promotion.ts';
import { PromotedError } from '../promotion.ts';

/** Keys per DELETE: bounded so the IN list stays well inside the packet and the optimiser's range limits. */
const DELETE_CHUNK = 5_000;

/**
 * One apply transaction on a session with foreign_key_checks = 0 (mariadb-dialect.ts). The first
 * statement on a table takes its metadata lock (a concurrent CREATE TRIGGER or ALTER TABLE then
 * waits for the transaction to end), reads its columns, and refuses it when it has a trigger:
 * MariaDB cannot keep one from firing in this session. The columns decide the write shape
 * (src/standby/write-shape.ts): generated columns are left out and read back after each upsert.
 */
export class MariaTransaction extends SqlTransaction {
  /** the standby columns of each table written in this transaction, by table name */
  private readonly prepared = new Map<string, StandbyColumn[]>();

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

  /** The first statements on `table` in this transaction (see the class comment); its columns. */
  private async columnsOf(table: TableMeta): Promise<StandbyColumn[]> {
    const name = tableName(table);
    const known = this.prepared.get(name);
    if (known) return known;
    const columns = await this.run(
      async () => {
        // opening the table takes its metadata lock, held until the transaction ends
        await this.conn.query(`SELECT 1 FROM ${qualified(table)} LIMIT 0`);
        const triggers = await triggersOn(this.conn, table);
        if (triggers.length > 0) {
          throw new StandbyError(
            `${this.where}: table ${name} has trigger(s) ${triggers.map((t) => `${quoteIdent(t.name)} (${t.timing} ${t.event})`).join(', ')}: ` +
              'MariaDB cannot keep a trigger from firing in the applier\'s session, so it would fire a second time for changes whose effects ' +
              'already arrive from the source (or change the rows ctrelay writes), and the standby would differ from the source. ' +
              `Drop them on the standby while it replicates (${triggers.map((t) => `DROP TRIGGER ${quoteIdent(table.schema)}.${quoteIdent(t.name)}`).join('; ')}; ` +
              'keep their definitions from SHOW CREATE TRIGGER to re-create them when the standby is promoted) and restart the applier',
          );
        }
        return (await describeOn(this.conn, table)) ?? [];
      },
      (err) => this.classify(err, `cannot write table ${name}`),
    );
    this.prepared.set(name, columns);
    return columns;
  }

  private async shapeOf(table: TableMeta): Promise<WriteShape> {
    const columns = await this.columnsOf(table);
    return this.run(async () => writeShape(table, columns, true, 'MariaDB'), (err) => this.classify(err, `cannot write table ${tableName(table)}`));
  }

  async upsert(table: TableMeta, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    // a value the column would round or cut: refused before anything is sent (a StandbyError poisons as it is)
    await this.run(async () => checkRowsFit(table, rows, 'MariaDB'), (err) => this.classify(err, 'cannot check the rows'));
    const shape = await this.shapeOf(table);
    const unique = dedupeLastByKey(table, rows);
    const { head, tail } = upsertParts(table, shape);
    const budget = this.dialect.maxStatementBytes - Buffer.byteLength(head) - Buffer.byteLength(tail);
    let tuples: string[] = [];
    let chunkRows: Row[] = [];
    let bytes = 0;
    const flush = async () => {
      if (tuples.length === 0) return;
      await this.send(table, 'upsert', chunkRows, head + tuples.join(',') + tail);
      if (shape.checked.length > 0) await this.compareReadBack(table, shape, chunkRows);
      tuples = [];
      chunkRows = [];
      bytes = 0;
    };
    for (const row of unique) {
      // a value MariaDB cannot store (NaN, -0, ...) poisons the transaction like a refused statement
      const tuple = await this.run(async () => rowTuple(table, shape.written, row), (err) => this.classify(err, 'cannot build the statement'));
      // Bytes, not characters: max_allowed_packet counts UTF-8 bytes, up to 3 per UTF-16 unit.
      const size = Buffer.byteLength(tuple) + 1;
      // a row no statement can carry: the server would drop the connection (which reads as an
      // outage and would be retried for ever); say what it is and what to change instead
      const statementBytes = size + this.dialect.maxStatementBytes - budget; // head + this tuple + tail
      if (statementBytes + 1024 > this.dialect.maxPacketBytes) throw this.poison(this.rowTooLarge(table, row, statementBytes));
      if (bytes + size > budget) await flush();
      tuples.push(tuple);
      chunkRows.push(row);
      bytes += size;
    }
    await flush();
  }

  /** The error for a row larger than max_allowed_packet: table, key, its largest column and the sizes. */
  private rowTooLarge(table: TableMeta, row: Row, size: number): StandbyError {
    let largest = '';
    let largestBytes = -1;
    for (const c of table.columns) {
      const v = row[c.name];
      const n = typeof v === 'string' ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 0;
      if (n > largestBytes) [largest, largestBytes] = [c.name, n];
    }
    return new StandbyError(
      `${this.where}: the row of table ${tableName(table)} at key (${describeKey(table, row)}) needs a statement of ${size} bytes ` +
        `(column ${largest}: ${largestBytes} bytes), more than the server's max_allowed_packet of ${this.dialect.maxPacketBytes} bytes: ` +
        `raise max_allowed_packet on the standby (SET GLOBAL max_allowed_packet = ..., and in its configuration) to at least twice the largest value, then restart the applier`,
    );
  }

  /** The columns the standby computes of `rows`, read back and compared exactly with them. */
  private async compareReadBack(table: TableMeta, shape: WriteShape, rows: Row[]): Promise<void> {
    const cols = [...keyColumns(table), ...shape.checked.map((c) => c.column)];
    const readBack = await this.run(
      async () => {
        const [list] = await this.conn.query({ sql: readBackStatement(table, shape, rows), rowsAsArray: true });
        return (list as unknown[][]).map((values) => {
          const row: Row = {};
          cols.forEach((c, i) => (row[c.name] = fromMaria(c.type, values[i])));
          return row;
        });
      },
      (err) => this.classify(err, `cannot read back the computed columns of table ${tableName(table)}`),
    );
    const mismatch = checkReadBack(table, shape, rows, readBack, 'MariaDB', MARIA_CHECK_HINT);
    if (mismatch) throw this.poison(mismatch);
  }

  async delete(table: TableMeta, keys: Row[]): Promise<void> {
    if (keys.length === 0) return;
    await this.columnsOf(table);
    for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
      const chunk = keys.slice(i, i + DELETE_CHUNK);
      await this.send(table, 'delete', chunk, deleteStatement(table, chunk));
    }
  }

  async deleteAll(table: TableMeta): Promise<void> {
    await this.columnsOf(table);
    await this.send(table, 'delete', [], `DELETE FROM ${qualified(table)}`);
  }

  async writeState(state: ApplyState): Promise<void> {
    // forward only: read the stored position under a lock first (a locking read sees the newest
    // committed row, and a concurrent applier waits here); mysql2's FOUND_ROWS flag makes the
    // upsert's affectedRows useless for telling "unchanged" apart. A markPromoted that committed
    // meanwhile is seen here (it holds the same row lock while it promotes).
    const written = await this.run(
      async () => {
        const stored = await lockedState(this.conn, this.dialect.stateTable, state.sourceId, true);
        const promotion = promotionOf(stored);
        if (promotion) throw new PromotedError(this.where, state.sourceId, promotion);
        if (stored !== undefined && BigInt(stored.b) >= state.batchSeq) return false;
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
