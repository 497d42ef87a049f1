// PostgreSQL reports WHAT was wrong with a set-based insert (value too long, NOT NULL) but not
// WHICH row. After a failure, this replays the rows into a temporary copy of the table on another
// connection (the caller's `c`, not the failed transaction's), bisecting until one row fails alone,
// so the error can name its key. The copy has no link to the real table, so the probe never waits
// for the failed transaction's locks.
import type pg from 'pg';
import type { Row, TableMeta } from '../../core/model.ts';
import { columnArrays, qualified, upsertStatement } from './pg-statements.ts';
import type { WriteShape } from '../write-shape.ts';

export async function locateBadRow(c: pg.PoolClient, table: TableMeta, shape: WriteShape, rows: Row[]): Promise<Row | null> {
  try {
    await c.query('BEGIN');
    // LIKE reads the real table: never wait long for a lock someone (the failed transaction) holds
    await c.query(`SET LOCAL lock_timeout = '5s'`);
    await c.query(
      `CREATE TEMP TABLE ctrelay_probe (LIKE ${qualified(table)} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING INDEXES) ON COMMIT DROP`,
    );
    const sql = upsertStatement(table, shape, 'pg_temp.ctrelay_probe');
    const names = shape.written.map((col) => col.name);
    const fails = async (part: Row[]): Promise<boolean> => {
      await c.query('SAVEPOINT probe');
      try {
        await c.query(sql, columnArrays(table, names, part));
        return false;
      } catch {
        return true;
      } finally {
        await c.query('ROLLBACK TO SAVEPOINT probe');
      }
    };
    let part = rows;
    if (!(await fails(part))) return null;
    while (part.length > 1) {
      const half = part.slice(0, part.length >> 1);
      part = (await fails(half)) ? half : part.slice(part.length >> 1);
    }
    return (await fails(part)) ? part[0] : null;
  } finally {
    await c.query('ROLLBACK').catch(() => {});
  }
}
