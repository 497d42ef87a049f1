// A mixed insert/update/delete workload on a PostgreSQL table `(id bigint primary key, ...)`,
// in small transactions, until stopped. Used while capture snapshots, streams or gets killed.
import pg from 'pg';

export interface Workload {
  stop(): Promise<{ transactions: number }>;
}

export interface WorkloadOptions {
  /** SQL that inserts one row for id $1 */
  insert: string;
  /** SQL that updates the row with id $1 */
  update: string;
  /** largest id the table started with; new ids are allocated above it */
  maxId: number;
  /** table name (default items) */
  table?: string;
  rowsPerTransaction?: number;
  pauseMs?: number;
}

export function startWorkload(url: string, opts: WorkloadOptions): Workload {
  const client = new pg.Client({ connectionString: url });
  let stopping = false;
  let transactions = 0;
  let nextId = opts.maxId + 1;
  const rows = opts.rowsPerTransaction ?? 5;
  const loop = (async () => {
    await client.connect();
    while (!stopping) {
      await client.query('BEGIN');
      for (let i = 0; i < rows; i++) {
        const r = Math.random();
        const id = 1 + Math.floor(Math.random() * (nextId - 1));
        if (r < 0.4) await client.query(opts.insert, [nextId++]);
        else if (r < 0.8) await client.query(opts.update, [id]);
        else await client.query(`DELETE FROM ${opts.table ?? 'items'} WHERE id = $1`, [id]);
      }
      await client.query('COMMIT');
      transactions++;
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await client.end();
      return { transactions };
    },
  };
}
