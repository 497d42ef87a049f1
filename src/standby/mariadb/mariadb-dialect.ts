// MariaDB (and MySQL) standby. Upserts are multi-row INSERT ... ON DUPLICATE KEY UPDATE with
// escaped literals, chunked below max_allowed_packet; deletes are key lists.
//
// Every session runs with time_zone +00:00, STRICT_ALL_TABLES and PAD_CHAR_TO_FULL_LENGTH: a value
// that does not fit is an error that stops the applier, never a silent truncation; what MariaDB
// still only notes (a DECIMAL rounded, trailing spaces cut) is turned into an error by the
// transaction, which checks the warning count of every write.
//
// DDL: MariaDB commits the open transaction on every DDL statement, so tables are created, extended
// and widened (ensureTable) on a connection of their own just before the apply transaction that
// needs them (transactionalDdl = false). A widening that committed before a transaction that then
// failed stays: a wider column holds the same values.
//
// The TableMeta schema is the MariaDB database. The state table `ctrelay_state` lives in the
// database named in the URL, or in a database `ctrelay` when the URL names none.
import mysql from 'mysql2/promise';
import type { Row, TableMeta, TableRef } from '../../core/model.ts';
import { StandbyError } from '../../core/errors.ts';
import { silentLogger, type ApplyState, type DialectLogger, type StandbyColumn, type StandbyDialect, type StandbyTransaction } from '../dialect.ts';
import { isEmptyChange, logTableChange, planTableChange, temporalTextCannotWiden, type ColumnRules } from '../column-change.ts';
import { temporalTextWidth } from '../temporal-text.ts';
import { standbyFailure } from '../driver-errors.ts';
import { connectionFrom, unlessMissing, withPooledConnection } from '../pooled-connection.ts';
import { tableName } from '../messages.ts';
import { keyColumns, rowFrom } from '../table-shape.ts';
import { redactUrl } from '../../core/redact.ts';
import { ddlType, fromMaria, parseMariaType, quoteIdent } from './mariadb-types.ts';
import { qualified, scanStatement } from './mariadb-statements.ts';
import { MariaTransaction } from './mariadb-transaction.ts';
import { isMissingTable, isTransientMaria } from './mariadb-errors.ts';

export interface MariaDbDialectOptions {
  /** database holding ctrelay_state; default: the URL's database, else `ctrelay` */
  stateDatabase?: string;
  logger?: DialectLogger;
  /** default 4 */
  poolSize?: number;
}

const SESSION_SQL =
  "SET SESSION time_zone = '+00:00', " +
  "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO,PAD_CHAR_TO_FULL_LENGTH', " +
  // DDL waiting on a metadata lock (e.g. the applier's own open transaction) fails instead of
  // waiting a year, the server default.
  'lock_wait_timeout = 60';
const MARIADB_MAX_IDENTIFIER_CHARS = 64;

export class MariaDbDialect implements StandbyDialect {
  readonly kind = 'mariadb';
  /** every DDL statement commits the open transaction: tables change just before the transaction */
  readonly transactionalDdl = false;
  readonly server: string;
  /** `MariaDB standby host:port/db`, for messages */
  readonly where: string;
  readonly stateTable: string;
  readonly logger: DialectLogger;
  /** bytes per statement, set from max_allowed_packet on connect */
  maxStatementBytes = 4 << 20;
  private pool: mysql.Pool | null = null;
  private readonly initialised = new WeakSet<object>();
  private readonly stateDatabase: string;

  constructor(
    private readonly url: string,
    private readonly options: MariaDbDialectOptions = {},
  ) {
    this.server = redactUrl(url);
    this.where = `MariaDB standby ${this.server}`;
    let fromUrl = '';
    try {
      fromUrl = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    } catch {
      // an unparsable URL fails in connect() with a clear message
    }
    this.stateDatabase = options.stateDatabase ?? (fromUrl || 'ctrelay');
    this.stateTable = `${quoteIdent(this.stateDatabase)}.ctrelay_state`;
    this.logger = options.logger ?? silentLogger;
  }

  async connect(): Promise<void> {
    if (this.pool) return;
    let pool: mysql.Pool;
    try {
      pool = mysql.createPool({
        uri: this.url,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        decimalNumbers: false,
        charset: 'utf8mb4',
        multipleStatements: false,
        connectionLimit: this.options.poolSize ?? 4,
      });
    } catch (err) {
      throw this.fail(err, 'cannot connect');
    }
    this.pool = pool;
    try {
      const packet = await this.withConnection('cannot read max_allowed_packet', async (c) => {
        const [rows] = await c.query('SELECT @@max_allowed_packet AS p');
        return Number((rows as { p: string }[])[0].p);
      });
      // Leave room for the statement head and protocol overhead; larger statements gain nothing.
      this.maxStatementBytes = Math.max(64 << 10, Math.min(packet - (64 << 10), 8 << 20));
    } catch (err) {
      this.pool = null;
      await pool.end().catch(() => {});
      throw err;
    }
  }

  /** The classified StandbyError for a driver error: `MariaDB standby …: ${doing}: <message>`. */
  fail(err: unknown, doing: string): StandbyError {
    return standbyFailure(err, `${this.where}: ${doing}`, isTransientMaria);
  }

  /** A pooled connection with ctrelay's session settings applied (once per physical connection). */
  async acquire(): Promise<mysql.PoolConnection> {
    const c = await connectionFrom(this.pool, this.where, (pool) => pool.getConnection(), (err, doing) => this.fail(err, doing));
    const core = (c as unknown as { connection: object }).connection;
    if (!this.initialised.has(core)) {
      try {
        await c.query(SESSION_SQL);
      } catch (err) {
        c.destroy();
        throw this.fail(err, 'cannot set up the session');
      }
      this.initialised.add(core);
    }
    return c;
  }

  /** Runs `fn` on a pooled connection; a connection that saw a failure is not pooled again. */
  private withConnection<T>(doing: string, fn: (c: mysql.PoolConnection) => Promise<T>): Promise<T> {
    return withPooledConnection(
      { take: () => this.acquire(), give: (c, destroy) => (destroy ? c.destroy() : c.release()), fail: (err, what) => this.fail(err, what) },
      doing,
      fn,
    );
  }

  async ensureStateTable(): Promise<void> {
    await this.withConnection('cannot create the state table', async (c) => {
      await c.query(
        `CREATE DATABASE IF NOT EXISTS ${quoteIdent(this.stateDatabase)} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin`,
      );
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${this.stateTable} (
           source_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL PRIMARY KEY,
           batch_seq BIGINT NOT NULL,
           version BIGINT NOT NULL,
           batch_offset BIGINT NOT NULL,
           applied_at DATETIME(6) NOT NULL
         ) ENGINE=InnoDB`,
      );
    });
  }

  async readState(sourceId: string): Promise<ApplyState | null> {
    return this.withConnection('cannot read the apply state', (c) => unlessMissing(async () => {
      const [rows] = await c.query(
        `SELECT batch_seq AS b, version AS v, batch_offset AS o, applied_at AS a FROM ${this.stateTable} WHERE source_id = ?`,
        [sourceId],
      );
      const row = (rows as { b: string; v: string; o: string; a: string }[])[0];
      if (!row) return null;
      return {
        sourceId,
        batchSeq: BigInt(row.b),
        version: BigInt(row.v),
        batchOffset: BigInt(row.o),
        appliedAt: new Date(`${row.a.replace(' ', 'T')}Z`),
      };
    }, isMissingTable, null));
  }

  async describeTable(table: TableRef): Promise<StandbyColumn[] | null> {
    return this.withConnection(`cannot read the columns of table ${tableName(table)}`, (c) => describeOn(c, table));
  }

  async ensureTable(table: TableMeta): Promise<void> {
    const defs = columnDefinitions(table);
    await this.withConnection(`cannot create or alter table ${tableName(table)}`, async (c) => {
      const existing = await describeOn(c, table);
      if (existing === null) {
        await c.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(table.schema)} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin`);
        const body = [...defs.values(), `PRIMARY KEY (${table.key.map(quoteIdent).join(', ')})`];
        await c.query(
          `CREATE TABLE IF NOT EXISTS ${qualified(table)} (\n  ${body.join(',\n  ')}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin`,
        );
        this.logger.info({ table: tableName(table) }, 'created standby table');
        return;
      }
      const change = planTableChange(table, existing, MARIA_RULES);
      if (isEmptyChange(change)) return;
      const relax = new Set(change.dropNotNull.map((col) => col.name));
      const widened = new Set(change.widen.map((w) => w.existing.name));
      const nullity = (col: StandbyColumn) => (col.nullable || relax.has(col.name) ? 'NULL' : 'NOT NULL');
      const parts = [
        // Added columns are nullable: rows already in the standby have no value for them.
        ...change.add.map((col) => `ADD COLUMN IF NOT EXISTS ${defs.get(col.name)!.replace(/ NOT NULL$/, ' NULL')}`),
        // MODIFY restates the whole column: type, character set and collation, nullability
        ...change.widen.map((w) => `MODIFY COLUMN ${quoteIdent(w.existing.name)} ${w.to.text} ${nullity(w.existing)}`),
        ...change.dropNotNull.filter((col) => !widened.has(col.name)).map((col) => `MODIFY COLUMN ${quoteIdent(col.name)} ${col.nativeType} NULL`),
      ];
      await c.query(`ALTER TABLE ${qualified(table)} ${parts.join(', ')}`);
      logTableChange(this.logger, table, change);
    });
  }

  async scan(table: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]> {
    return this.withConnection(`cannot read table ${tableName(table)}`, (c) => unlessMissing(async () => {
      const [rows] = await c.query({ sql: scanStatement(table, afterKey, limit), rowsAsArray: true });
      return (rows as unknown[][]).map((values) => rowFrom(table, values, fromMaria));
    }, isMissingTable, []));
  }

  async begin(): Promise<StandbyTransaction> {
    const c = await this.acquire();
    try {
      await c.query('START TRANSACTION');
    } catch (err) {
      c.destroy();
      throw this.fail(err, 'cannot begin a transaction');
    }
    return new MariaTransaction(this, c);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }
}

/** `name -> "`name` TYPE [NOT NULL]"`, validating what MariaDB cannot hold, naming the column. */
function columnDefinitions(table: TableMeta): Map<string, string> {
  keyColumns(table);
  const defs = new Map<string, string>();
  for (const name of [table.schema, table.table]) checkIdentifier(table, name);
  for (const col of table.columns) {
    checkIdentifier(table, col.name);
    const inKey = table.key.includes(col.name);
    let type: string;
    try {
      type = ddlType(col.type, inKey);
    } catch (err) {
      throw new StandbyError(`table ${tableName(table)} column ${col.name} (${col.sourceType}): ${(err as Error).message}`);
    }
    defs.set(col.name, `${quoteIdent(col.name)} ${type}${col.nullable && !inKey ? ' NULL' : ' NOT NULL'}`);
  }
  return defs;
}

/** The table's columns from information_schema, null when it does not exist. */
async function describeOn(c: mysql.PoolConnection, t: TableRef): Promise<StandbyColumn[] | null> {
  const [rows] = await c.query(
    `SELECT column_name AS n, column_type AS t, character_set_name AS cs, collation_name AS co, is_nullable AS nl, column_key AS k
       FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
    [t.schema, t.table],
  );
  const cols = rows as { n: string; t: string; cs: string | null; co: string | null; nl: string; k: string }[];
  if (cols.length === 0) return null;
  return cols.map((r) => ({
    name: r.n,
    // everything MODIFY must restate to keep the column as it is
    nativeType: `${r.t}${r.cs ? ` CHARACTER SET ${r.cs}` : ''}${r.co ? ` COLLATE ${r.co}` : ''}`,
    nullable: r.nl === 'YES',
    inKey: r.k === 'PRI',
  }));
}

/** How MariaDB spells and widens column types (src/standby/column-change.ts). */
export const MARIA_RULES: ColumnRules = {
  engine: 'MariaDB',
  caseInsensitive: true,
  wanted: (table, col) => {
    try {
      return parseMariaType(ddlType(col.type, table.key.includes(col.name)));
    } catch (err) {
      throw new StandbyError(`table ${tableName(table)} column ${col.name} (${col.sourceType}): ${(err as Error).message}`);
    }
  },
  parse: parseMariaType,
  alterHint: (table, column, to) => `ALTER TABLE ${qualified(table)} MODIFY COLUMN ${quoteIdent(column)} ${to.text}`,
  cannotWiden: temporalTextCannotWiden((t) => temporalTextWidth(t, 6) !== null),
};

function checkIdentifier(table: TableMeta, name: string): void {
  // MariaDB refuses longer names and trailing spaces; say which one instead of a bare syntax error.
  if (name === '' || [...name].length > MARIADB_MAX_IDENTIFIER_CHARS || name.endsWith(' ') || name.includes('\0')) {
    throw new StandbyError(
      `table ${tableName(table)}: identifier "${name}" cannot be used on MariaDB (empty, NUL, trailing space, or longer than ${MARIADB_MAX_IDENTIFIER_CHARS} characters)`,
    );
  }
}
