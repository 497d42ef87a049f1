// PostgreSQL standby. Rows travel as one array parameter per column and are expanded server-side
// with unnest(): one round trip and one parameter per column for thousands of rows, no 65535
// parameter limit, no COPY protocol handling. Upserts use ON CONFLICT on the primary key.
//
// The state table is `ctrelay.ctrelay_state` (schema configurable) in the standby database, so it
// never collides with a replicated table and commits atomically with the data.
import pg from 'pg';
import type { Row, TableMeta } from '../../core/model.ts';
import { StandbyError } from '../../core/errors.ts';
import type { ApplyState, StandbyDialect, StandbyTransaction } from '../dialect.ts';
import { driverMessage, silentLogger, tableName, type DialectLogger } from '../canonical-values.ts';
import { redact, redactUrl } from '../../core/redact.ts';
import { ddlType, fromPgText, quoteIdent, toPgText } from './pg-types.ts';
import { locateBadRow } from './locate-bad-row.ts';
import { columnOf, qualified, scanStatement } from './pg-statements.ts';
import { PgTransaction } from './pg-transaction.ts';
import { ignoreConcurrentCreate, isConcurrentCreate, isMissingRelation } from './pg-errors.ts';

export interface PostgresDialectOptions {
  /** schema holding ctrelay_state; default `ctrelay` */
  stateSchema?: string;
  logger?: DialectLogger;
  /** connections: one per open transaction plus one for DDL, scans and state reads; default 4 */
  poolSize?: number;
}

const PG_MAX_IDENTIFIER_BYTES = 63;

// Every value is read as the server's text and converted per ColumnType: pg's default parsers
// would turn int8 into a lossy number, timestamps into millisecond Dates, and so on.
const RAW_TYPES = { getTypeParser: () => (v: string) => v };

export class PostgresDialect implements StandbyDialect {
  readonly kind = 'postgres';
  private pool: pg.Pool | null = null;
  readonly server: string;
  readonly stateTable: string;
  readonly logger: DialectLogger;

  constructor(
    private readonly url: string,
    private readonly options: PostgresDialectOptions = {},
  ) {
    this.server = redactUrl(url);
    this.stateTable = `${quoteIdent(options.stateSchema ?? 'ctrelay')}.ctrelay_state`;
    this.logger = options.logger ?? silentLogger;
  }

  async connect(): Promise<void> {
    if (this.pool) return;
    const u = new URL(this.url);
    // Session settings as startup options: they hold from the first statement on every pooled
    // connection, with no race against a 'connect' handler.
    const own = '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 -c client_encoding=UTF8';
    const given = u.searchParams.get('options');
    u.searchParams.delete('options');
    const pool = new pg.Pool({
      connectionString: u.toString(),
      options: given ? `${given} ${own}` : own,
      application_name: 'ctrelay-applier',
      max: this.options.poolSize ?? 4,
    });
    pool.on('error', (err) => {
      // An idle connection died (server restart); the pool replaces it. Without a listener the
      // process would crash.
      this.logger.warn({ server: this.server, err: redact(driverMessage(err)) }, 'standby connection lost');
    });
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => {});
      throw this.connectionError(err);
    }
    this.pool = pool;
  }

  connectionError(err: unknown): StandbyError {
    return new StandbyError(
      `cannot reach PostgreSQL standby ${this.server}: ${redact(driverMessage(err))}`,
      { cause: err },
    );
  }

  private requirePool(): pg.Pool {
    if (!this.pool) throw new StandbyError(`PostgreSQL standby ${this.server}: connect() was not called`);
    return this.pool;
  }

  private async withClient<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.requirePool().connect();
    } catch (err) {
      throw this.connectionError(err);
    }
    try {
      return await fn(client);
    } catch (err) {
      if (err instanceof StandbyError) throw err;
      throw new StandbyError(`${what} on PostgreSQL standby ${this.server}: ${redact(driverMessage(err))}`, {
        cause: err,
      });
    } finally {
      client.release();
    }
  }

  async ensureStateTable(): Promise<void> {
    const schema = this.options.stateSchema ?? 'ctrelay';
    await this.withClient('cannot create the state table', async (c) => {
      await ensureSchema(c, schema);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${this.stateTable} (
           source_id text PRIMARY KEY,
           batch_seq bigint NOT NULL,
           version bigint NOT NULL,
           batch_offset bigint NOT NULL,
           applied_at timestamptz NOT NULL)`,
      ).catch(ignoreConcurrentCreate);
    });
  }

  async readState(sourceId: string): Promise<ApplyState | null> {
    return this.withClient('cannot read the apply state', async (c) => {
      try {
        const r = await c.query<{ b: string; v: string; o: string; a: Date }>(
          `SELECT batch_seq::text AS b, version::text AS v, batch_offset::text AS o, applied_at AS a
             FROM ${this.stateTable} WHERE source_id = $1`,
          [sourceId],
        );
        const row = r.rows[0];
        if (!row) return null;
        return { sourceId, batchSeq: BigInt(row.b), version: BigInt(row.v), batchOffset: BigInt(row.o), appliedAt: row.a };
      } catch (err) {
        if (isMissingRelation(err)) return null;
        throw err;
      }
    });
  }

  async ensureTable(table: TableMeta): Promise<void> {
    validateTable(table);
    // Two appliers may create the same table at once; the loser retries and then sees it.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ensureTableOnce(table);
      } catch (err) {
        if (attempt >= 3 || !isConcurrentCreate(err instanceof StandbyError ? err.cause : err)) throw err;
      }
    }
  }

  private async ensureTableOnce(table: TableMeta): Promise<void> {
    await this.withClient(`cannot create or alter table ${tableName(table)}`, async (c) => {
      await ensureSchema(c, table.schema);
      await c.query('BEGIN');
      try {
        // The applier must call this outside its own open transaction; if it does not, or another
        // session holds the table, fail instead of waiting for ever.
        await c.query(`SET LOCAL lock_timeout = '30s'`);
        const existing = await existingColumns(c, table.schema, table.table);
        const q = qualified(table);
        if (existing === null) {
          const cols = table.columns.map(
            (col) => `${quoteIdent(col.name)} ${ddlType(col.type)}${col.nullable && !table.key.includes(col.name) ? '' : ' NOT NULL'}`,
          );
          cols.push(`PRIMARY KEY (${table.key.map(quoteIdent).join(', ')})`);
          await c.query(`CREATE TABLE IF NOT EXISTS ${q} (\n  ${cols.join(',\n  ')}\n)`);
          this.logger.info({ table: tableName(table) }, 'created standby table');
        } else {
          const missing = table.columns.filter((col) => !existing.has(col.name));
          if (missing.length > 0) {
            // Added columns stay nullable: rows already in the standby have no value for them.
            const adds = missing.map((col) => `ADD COLUMN IF NOT EXISTS ${quoteIdent(col.name)} ${ddlType(col.type)}`);
            await c.query(`ALTER TABLE ${q} ${adds.join(', ')}`);
            this.logger.info({ table: tableName(table), columns: missing.map((m) => m.name) }, 'added standby columns');
          }
        }
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  async scan(table: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]> {
    return this.withClient(`cannot read table ${tableName(table)}`, async (c) => {
      const params = afterKey ? table.key.map((k) => toPgText(columnOf(table, k), afterKey[k])) : [];
      params.push(String(Math.max(0, Math.floor(limit))));
      const sql = scanStatement(table, afterKey !== null);
      try {
        const r = await c.query<unknown[]>({ text: sql, values: params, rowMode: 'array', types: RAW_TYPES });
        return r.rows.map((values) => {
          const row: Row = {};
          table.columns.forEach((col, i) => {
            row[col.name] = fromPgText(col.type, values[i] as string | null);
          });
          return row;
        });
      } catch (err) {
        if (isMissingRelation(err)) return [];
        throw err;
      }
    });
  }

  async begin(): Promise<StandbyTransaction> {
    let client: pg.PoolClient;
    try {
      client = await this.requirePool().connect();
    } catch (err) {
      throw this.connectionError(err);
    }
    try {
      await client.query('BEGIN');
    } catch (err) {
      client.release(true);
      throw this.connectionError(err);
    }
    return new PgTransaction(this, client);
  }

  /** Bisects a failed upsert on a separate connection to name the row the server refused. */
  async findBadRow(table: TableMeta, rows: Row[]): Promise<Row | null> {
    if (!this.pool) return null;
    try {
      return await locateBadRow(this.pool, table, rows);
    } catch (err) {
      this.logger.warn({ table: tableName(table), err: driverMessage(err) }, 'could not locate the failing row');
      return null;
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }
}

function validateTable(table: TableMeta): void {
  if (table.key.length === 0) throw new StandbyError(`table ${tableName(table)} has no primary key; ctrelay needs one`);
  for (const k of table.key) columnOf(table, k);
  for (const name of [table.schema, table.table, ...table.columns.map((c) => c.name)]) {
    // PostgreSQL silently truncates longer identifiers, which could merge two distinct columns.
    if (Buffer.byteLength(name) > PG_MAX_IDENTIFIER_BYTES || name.includes('\0') || name === '') {
      throw new StandbyError(
        `table ${tableName(table)}: identifier "${name}" cannot be used on PostgreSQL (empty, NUL, or longer than ${PG_MAX_IDENTIFIER_BYTES} bytes)`,
      );
    }
  }
}

async function ensureSchema(c: pg.PoolClient, schema: string): Promise<void> {
  // Look first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when it exists.
  const r = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (r.rowCount === 0) await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`).catch(ignoreConcurrentCreate);
}

async function existingColumns(c: pg.PoolClient, schema: string, table: string): Promise<Set<string> | null> {
  const rel = await c.query<{ oid: number }>(
    `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [schema, table],
  );
  if (rel.rowCount === 0) return null;
  const cols = await c.query<{ attname: string }>(
    'SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped',
    [rel.rows[0].oid],
  );
  return new Set(cols.rows.map((r) => r.attname));
}
