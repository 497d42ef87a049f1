// PostgreSQL standby. Rows travel as one array parameter per column and are expanded server-side
// with unnest(): one round trip and one parameter per column for thousands of rows, no 65535
// parameter limit, no COPY protocol handling. Upserts use ON CONFLICT on the primary key.
//
// The state table is `ctrelay.ctrelay_state` (schema configurable) in the standby database, so it
// never collides with a replicated table and commits atomically with the data.
//
// Replica mode: every apply transaction starts with `SET LOCAL session_replication_role = replica`,
// as PostgreSQL's own logical replication workers run: ordinary triggers and the foreign-key
// triggers (checks and ON DELETE/UPDATE actions) of the standby do not fire, so the order of the
// changes inside a transaction never matters and a cascade at the source (which change tracking
// records as explicit deletes of the child rows) is not done a second time by the standby. The
// setting is superuser-only: since PostgreSQL 15 `GRANT SET ON PARAMETER session_replication_role
// TO <applier role>` allows it. A login that may not set it is refused when the applier starts
// (ensureStateTable) and at every begin(), naming the setting and that grant; there is no fallback
// that would let standby triggers act on replicated changes. Triggers enabled ALWAYS or REPLICA
// still fire: a BEFORE ROW one (it could change or skip the row written) is refused naming it, the
// others are logged once per table (ctrelay's own change-tracking triggers, on a standby that is
// also a ctrelay source, are such AFTER triggers).
//
// Failover (pg-promotion.ts): protect() makes the DATABASE default to read-only transactions for
// every new session (ALTER DATABASE … SET default_transaction_read_only = on, which needs the
// database's owner or a superuser); the applier's sessions start with it off (connect()), so apply
// transactions, DDL and markPromoted write as before. Once markPromoted committed for a source,
// writeState of that source refuses with a PromotedError (pg-transaction.ts).
import pg from 'pg';
import type { Row, TableMeta, TableRef } from '../../core/model.ts';
import { StandbyError, StandbyUnavailableError } from '../../core/errors.ts';
import { silentLogger, type ApplyState, type DialectLogger, type StandbyColumn, type StandbyDialect, type StandbyTransaction } from '../dialect.ts';
import { isEmptyChange, logTableChange, planTableChange, temporalTextCannotWiden, type ColumnRules } from '../column-change.ts';
import { temporalTextWidth } from '../temporal-text.ts';
import { standbyFailure } from '../driver-errors.ts';
import { connectionFrom, unlessMissing, withPooledConnection } from '../pooled-connection.ts';
import { driverMessage, tableName } from '../messages.ts';
import { keyColumns, rowFrom } from '../table-shape.ts';
import type { CheckHint, WriteShape } from '../write-shape.ts';
import { redact, redactUrl } from '../../core/redact.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { ddlType, fromPgText, parsePgType, toPgText } from './pg-types.ts';
import { locateBadRow } from './locate-bad-row.ts';
import { qualified, scanStatement } from './pg-statements.ts';
import { PgTransaction } from './pg-transaction.ts';
import { advanceSequencesOn, ensurePromotedColumn, isProtectedOn, markPromotedOn, readPromotionOn, setProtection } from './pg-promotion.ts';
import type { Promotion, SequenceAdvance, StandbyPromotion } from '../promotion.ts';
import { ignoreConcurrentCreate, isConcurrentCreate, isMissingRelation, isTransientPg, sqlState } from './pg-errors.ts';

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
export const RAW_TYPES = { getTypeParser: () => (v: string) => v };

/** What every apply transaction runs first (see the header): standby triggers and FK actions stay still. */
const REPLICA_MODE = 'SET LOCAL session_replication_role = replica';

/** A login that may not set session_replication_role: the applier stops, naming the setting and the grant. */
export class ReplicaModeRefusedError extends StandbyError {}

function replicaModeRefused(where: string, role: string | null, err: unknown): ReplicaModeRefusedError {
  const who = role === null ? 'the applier\'s role' : quoteIdent(role);
  return new ReplicaModeRefusedError(
    `${where}: the login ${role === null ? '' : `${who} `}may not set session_replication_role, which every apply transaction sets to replica ` +
      'so that the standby\'s triggers and foreign-key checks and actions do not fire for changes that arrive from the source ' +
      '(a cascaded delete at the source arrives as explicit deletes). ' +
      `Run GRANT SET ON PARAMETER session_replication_role TO ${who} (PostgreSQL 15 and later; before 15 only a superuser may set it) and restart the applier ` +
      `(${driverMessage(err)})`,
    { cause: err },
  );
}

export class PostgresDialect implements StandbyDialect, StandbyPromotion {
  readonly kind = 'postgres';
  /** PostgreSQL DDL is transactional: a table changes in the transaction that first needs it */
  readonly transactionalDdl = true;
  private pool: pg.Pool | null = null;
  readonly server: string;
  /** `PostgreSQL standby host:port/db`, for messages */
  readonly where: string;
  readonly stateTable: string;
  readonly logger: DialectLogger;
  /**
   * Hears a connection die, idle in the pool (the pool then replaces it) or checked out (its next
   * query then fails, transient). pg emits 'error' for both, and an 'error' event nobody listens
   * to would crash the process: the pool's own listener is detached while a client is out.
   */
  private readonly onConnectionLost = (err: unknown): void => {
    this.logger.warn({ server: this.server, err: redact(driverMessage(err)) }, 'standby connection lost');
  };

  /** tables whose triggers enabled ALWAYS / REPLICA were logged already */
  private readonly warnedTriggers = new Set<string>();

  constructor(
    private readonly url: string,
    private readonly options: PostgresDialectOptions = {},
  ) {
    this.server = redactUrl(url);
    this.where = `PostgreSQL standby ${this.server}`;
    this.stateTable = `${quoteIdent(options.stateSchema ?? 'ctrelay')}.ctrelay_state`;
    this.logger = options.logger ?? silentLogger;
  }

  async connect(): Promise<void> {
    if (this.pool) return;
    const u = new URL(this.url);
    // Session settings as startup options: they hold from the first statement on every pooled
    // connection, with no race against a 'connect' handler. A startup option wins over the
    // database's own settings: the applier writes a standby protected by protect().
    const own = '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 -c client_encoding=UTF8 -c default_transaction_read_only=off';
    const given = u.searchParams.get('options');
    u.searchParams.delete('options');
    const pool = new pg.Pool({
      connectionString: u.toString(),
      options: given ? `${given} ${own}` : own,
      application_name: 'ctrelay-applier',
      max: this.options.poolSize ?? 4,
    });
    pool.on('error', this.onConnectionLost);
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => {});
      throw this.fail(err, 'cannot connect');
    }
    this.pool = pool;
  }

  /** The classified StandbyError for a driver error: `PostgreSQL standby …: ${doing}: <message>`. */
  fail(err: unknown, doing: string): StandbyError {
    return standbyFailure(err, `${this.where}: ${doing}`, isTransientPg);
  }

  /** A pooled client, listened to while it is out (see onConnectionLost); give it back with checkin. */
  async checkout(): Promise<pg.PoolClient> {
    const client = await connectionFrom(this.pool, this.where, (pool) => pool.connect(), (err, doing) => this.fail(err, doing));
    client.on('error', this.onConnectionLost);
    return client;
  }

  /** Returns a client to the pool, or closes it for good when its state is unknown (`destroy`). */
  checkin(client: pg.PoolClient, destroy: boolean): void {
    // a destroyed client keeps the listener: closing it may still report errors
    if (!destroy) client.removeListener('error', this.onConnectionLost);
    client.release(destroy || undefined);
  }

  /** Runs `fn` on a pooled client; a client that saw a failure is not pooled again. */
  private withClient<T>(doing: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return withPooledConnection(
      { take: () => this.checkout(), give: (c, destroy) => this.checkin(c, destroy), fail: (err, what) => this.fail(err, what) },
      doing,
      fn,
    );
  }

  async ensureStateTable(): Promise<void> {
    const schema = this.options.stateSchema ?? 'ctrelay';
    // the applier calls this at start: a login that may not run apply transactions as a replica stops it here
    await this.withClient('cannot check that apply transactions may run as a replica', async (c) => {
      const role = (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
      try {
        await c.query(`BEGIN; ${REPLICA_MODE}`);
      } catch (err) {
        throw sqlState(err) === '42501' ? replicaModeRefused(this.where, role, err) : err;
      }
      await c.query('ROLLBACK');
    });
    await this.withClient('cannot create the state table', async (c) => {
      await ensureSchema(c, schema);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${this.stateTable} (
           source_id text PRIMARY KEY,
           batch_seq bigint NOT NULL,
           version bigint NOT NULL,
           batch_offset bigint NOT NULL,
           applied_at timestamptz NOT NULL,
           promoted_at timestamptz)`,
      ).catch(ignoreConcurrentCreate);
      await ensurePromotedColumn(c, this.stateTable).catch(ignoreConcurrentCreate);
    });
  }

  async readState(sourceId: string): Promise<ApplyState | null> {
    return this.withClient('cannot read the apply state', (c) => unlessMissing(async () => {
      // promoted_at through to_jsonb: a state table from before it existed reads as not promoted
      const r = await c.query<{ b: string; v: string; o: string; a: Date; p: Date | null }>(
        `SELECT batch_seq::text AS b, version::text AS v, batch_offset::text AS o, applied_at AS a,
                (to_jsonb(s) ->> 'promoted_at')::timestamptz AS p
           FROM ${this.stateTable} s WHERE source_id = $1`,
        [sourceId],
      );
      const row = r.rows[0];
      if (!row) return null;
      return { sourceId, batchSeq: BigInt(row.b), version: BigInt(row.v), batchOffset: BigInt(row.o), appliedAt: row.a, promotedAt: row.p };
    }, isMissingRelation, null));
  }

  async protect(): Promise<void> {
    await this.withClient('cannot protect the standby', (c) => setProtection(c, this.where, true));
  }

  async unprotect(): Promise<void> {
    await this.withClient('cannot lift the standby\'s protection', (c) => setProtection(c, this.where, false));
  }

  isProtected(): Promise<boolean> {
    return this.withClient('cannot read the database\'s default_transaction_read_only', isProtectedOn);
  }

  markPromoted(sourceId: string): Promise<Promotion> {
    return this.withClient(`cannot mark the standby promoted for source ${sourceId}`, (c) => markPromotedOn(c, this.where, this.stateTable, sourceId));
  }

  readPromotion(sourceId: string): Promise<Promotion | null> {
    return this.withClient('cannot read the promotion', (c) => readPromotionOn(c, this.stateTable, sourceId));
  }

  advanceSequences(tables: TableRef[], floors: ReadonlyMap<string, bigint>): Promise<SequenceAdvance[]> {
    return this.withClient('cannot advance the sequences', (c) => advanceSequencesOn(c, tables, floors));
  }

  async describeTable(table: TableRef): Promise<StandbyColumn[] | null> {
    return this.withClient(`cannot read the columns of table ${tableName(table)}`, (c) => describeOn(c, table));
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
        await this.ensureOn(c, table);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  /**
   * ensureTable's work on `c`, inside the transaction open there (the caller's own, or an apply
   * transaction): create, add, widen, or a ColumnChangeRefusedError. Returns whether it changed
   * anything. Refusals are thrown before any DDL, so nothing is half done; `beforeDdl` runs once
   * before the first DDL statement, when there is one.
   */
  async ensureOn(c: pg.PoolClient, table: TableMeta, beforeDdl: () => Promise<unknown> = async () => undefined): Promise<boolean> {
    validateTable(table);
    const existing = await describeOn(c, table);
    const q = qualified(table);
    if (existing === null) {
      await beforeDdl();
      if ((await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [table.schema])).rowCount === 0) {
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(table.schema)}`);
      }
      const cols = table.columns.map(
        (col) => `${quoteIdent(col.name)} ${ddlType(col.type)}${col.nullable && !table.key.includes(col.name) ? '' : ' NOT NULL'}`,
      );
      cols.push(`PRIMARY KEY (${table.key.map(quoteIdent).join(', ')})`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${q} (\n  ${cols.join(',\n  ')}\n)`);
      this.logger.info({ table: tableName(table) }, 'created standby table');
      return true;
    }
    const change = planTableChange(table, existing, PG_RULES);
    if (isEmptyChange(change)) return false;
    await beforeDdl();
    const parts = [
      // Added columns stay nullable: rows already in the standby have no value for them.
      ...change.add.map((col) => `ADD COLUMN IF NOT EXISTS ${quoteIdent(col.name)} ${ddlType(col.type)}`),
      // every widening has an assignment cast that keeps the value (int2 -> int4, float4 -> float8, ...)
      ...change.widen.map((w) => `ALTER COLUMN ${quoteIdent(w.existing.name)} TYPE ${w.to.text}`),
      ...change.dropNotNull.map((col) => `ALTER COLUMN ${quoteIdent(col.name)} DROP NOT NULL`),
    ];
    await c.query(`ALTER TABLE ${q} ${parts.join(', ')}`);
    logTableChange(this.logger, table, change);
    return true;
  }

  async scan(table: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]> {
    const params = afterKey ? keyColumns(table).map((col) => toPgText(col, afterKey[col.name])) : [];
    return this.withClient(`cannot read table ${tableName(table)}`, async (c) => {
      params.push(String(Math.max(0, Math.floor(limit))));
      const sql = scanStatement(table, afterKey !== null);
      return unlessMissing(async () => {
        const r = await c.query<unknown[]>({ text: sql, values: params, rowMode: 'array', types: RAW_TYPES });
        return r.rows.map((values) => rowFrom(table, values, (type, v) => fromPgText(type, v as string | null)));
      }, isMissingRelation, []);
    });
  }

  async begin(): Promise<StandbyTransaction> {
    const client = await this.checkout();
    try {
      // one round trip: the transaction is a replica from its first statement on
      await client.query(`BEGIN; ${REPLICA_MODE}`);
    } catch (err) {
      throw await this.beginFailed(client, err);
    }
    return new PgTransaction(this, client);
  }

  /** BEGIN or the replica setting failed on `client`: it is given back (rolled back) or destroyed. */
  private async beginFailed(client: pg.PoolClient, err: unknown): Promise<StandbyError> {
    if (sqlState(err) !== '42501') {
      this.checkin(client, true);
      return this.fail(err, 'cannot begin a transaction');
    }
    try {
      await client.query('ROLLBACK');
      const role = (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
      this.checkin(client, false);
      return replicaModeRefused(this.where, role, err);
    } catch {
      this.checkin(client, true);
      return replicaModeRefused(this.where, null, err);
    }
  }

  /**
   * The first statements on `table` in the apply transaction open on `c`: a ROW EXCLUSIVE lock (a
   * concurrent CREATE TRIGGER or ALTER TABLE then waits for the transaction, so what is read next
   * holds until it ends), the table's columns, and its triggers that fire in replica mode: a BEFORE
   * ROW one is refused naming it, the others are logged once. Returns the columns (a missing
   * table fails the LOCK, 42P01).
   */
  async prepareWrite(c: pg.PoolClient, table: TableMeta): Promise<StandbyColumn[] | null> {
    await c.query(`LOCK TABLE ONLY ${qualified(table)} IN ROW EXCLUSIVE MODE`);
    const columns = await describeOn(c, table);
    if (columns === null) return null;
    const r = await c.query<{ name: string; enabled: string; before_row: boolean }>(
      `SELECT t.tgname AS name, t.tgenabled AS enabled, (t.tgtype & 3) = 3 AS before_row
         FROM pg_trigger t
         JOIN pg_class c ON c.oid = t.tgrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND NOT t.tgisinternal AND t.tgenabled IN ('A', 'R')
        ORDER BY t.tgname`,
      [table.schema, table.table],
    );
    const name = tableName(table);
    const before = r.rows.filter((t) => t.before_row);
    if (before.length > 0) {
      throw new StandbyError(
        `${this.where}: table ${name} has BEFORE ROW trigger(s) enabled ALWAYS or REPLICA (${before.map((t) => quoteIdent(t.name)).join(', ')}), ` +
          'which fire during apply and can change or skip the rows ctrelay writes, so the standby would differ from the source. ' +
          `Let them fire outside replication only (${before.map((t) => `ALTER TABLE ${qualified(table)} ENABLE TRIGGER ${quoteIdent(t.name)}`).join('; ')}) ` +
          'or drop them, and restart the applier',
      );
    }
    if (r.rows.length > 0 && !this.warnedTriggers.has(name)) {
      this.warnedTriggers.add(name);
      this.logger.warn(
        { table: name, triggers: r.rows.map((t) => t.name) },
        'standby triggers enabled ALWAYS or REPLICA fire during apply (AFTER or per statement: they see the rows ctrelay writes)',
      );
    }
    return columns;
  }

  /** Bisects a failed upsert on a separate connection to name the row the server refused. */
  async findBadRow(table: TableMeta, shape: WriteShape, rows: Row[]): Promise<Row | null> {
    try {
      return await this.withClient('cannot locate the refused row', (c) => locateBadRow(c, table, shape, rows));
    } catch (err) {
      this.logger.warn({ table: tableName(table), err: redact(driverMessage(err)) }, 'could not locate the failing row');
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
  keyColumns(table);
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

/**
 * The table's columns as the catalog describes them (format_type's spelling; attgenerated,
 * attidentity, atthasdef), null when it does not exist.
 */
async function describeOn(c: pg.PoolClient, t: TableRef): Promise<StandbyColumn[] | null> {
  const r = await c.query<{ name: string; type: string; nullable: boolean; in_key: boolean; generated: boolean; identity: string; has_default: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
            COALESCE(a.attnum = ANY (i.indkey), false) AS in_key,
            a.attgenerated <> '' AS generated, a.attidentity::text AS identity,
            a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' AS has_default
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
      ORDER BY a.attnum`,
    [t.schema, t.table],
  );
  if (r.rowCount === 0) return null;
  return r.rows.map((row) => ({
    name: row.name,
    nativeType: row.type,
    nullable: row.nullable,
    inKey: row.in_key,
    generated: row.generated,
    identity: row.identity === 'a' ? 'always' : row.identity === 'd' ? 'default' : null,
    hasDefault: row.has_default,
  }));
}

/** How to fix a PostgreSQL standby column whose read-back differed (write-shape.ts). */
export const PG_CHECK_HINT: CheckHint = (table, column, why) =>
  why === 'generated'
    ? `Make it a plain column on the standby (ALTER TABLE ${qualified(table)} ALTER COLUMN ${quoteIdent(column)} DROP EXPRESSION) or give it the source's expression, then restart the applier`
    : `Let ctrelay write it (ALTER TABLE ${qualified(table)} ALTER COLUMN ${quoteIdent(column)} SET GENERATED BY DEFAULT) and restart the applier`;

/** How PostgreSQL spells and widens column types (src/standby/column-change.ts). */
export const PG_RULES: ColumnRules = {
  engine: 'PostgreSQL',
  caseInsensitive: false,
  wanted: (_table, col) => parsePgType(ddlType(col.type)),
  parse: parsePgType,
  alterHint: (table, column, to) => `ALTER TABLE ${qualified(table)} ALTER COLUMN ${quoteIdent(column)} TYPE ${to.text}`,
  cannotWiden: temporalTextCannotWiden((t) => temporalTextWidth(t, 6) !== null),
};

/** A concurrent CREATE inside an apply transaction: the transaction is lost, a retry sees the object. */
export function concurrentCreate(err: unknown, table: TableMeta): StandbyUnavailableError | null {
  if (!isConcurrentCreate(err)) return null;
  return new StandbyUnavailableError(`table ${tableName(table)} was created or altered by another session at the same time; retrying`, { cause: err });
}
