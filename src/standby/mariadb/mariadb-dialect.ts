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
//
// Pre-created tables (src/standby/write-shape.ts): written by column name; generated columns
// (`AS (…) STORED|VIRTUAL`) never written and compared after each upsert; AUTO_INCREMENT columns take
// the source's values as they are (NO_AUTO_VALUE_ON_ZERO keeps a 0 a 0; the counter moves past the
// largest value written). A string key column must compare bytes exactly and keep trailing spaces
// (a `_nopad_bin` collation, as ctrelay creates them): under a case-insensitive or PAD SPACE
// collation two source keys would be one standby row, so such a table is refused naming the column.
//
// Replica mode: every session runs with foreign_key_checks = 0 (no privilege needed), under which
// InnoDB neither checks foreign keys nor performs their ON DELETE/UPDATE actions: the order inside a
// transaction never matters, and a cascade at the source arrives as the explicit deletes change
// tracking recorded. MariaDB has no way to keep a trigger from firing in one session, so a
// replicated table with a trigger is refused by the first statement on it in each transaction
// (mariadb-transaction.ts), naming the trigger: it would fire a second time for changes whose
// effects already arrive from the source. Drop standby triggers while the standby replicates and
// re-create them when it is promoted.
//
// Failover (mariadb-promotion.ts): protect() sets the SERVER's read_only = ON, which is the WHOLE
// server, every database on it, not only this standby's: every login without READ_ONLY ADMIN can no
// longer write anywhere on it. The applier's login needs READ_ONLY ADMIN (checked by protect()).
// On a server shared with other applications set `standby.protect: false`. Once markPromoted
// committed for a source, writeState of that source refuses with a PromotedError.
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
import type { CheckHint } from '../write-shape.ts';
import { redactUrl } from '../../core/redact.ts';
import { ddlType, fromMaria, parseMariaType, quoteIdent } from './mariadb-types.ts';
import { qualified, scanStatement } from './mariadb-statements.ts';
import { MariaTransaction } from './mariadb-transaction.ts';
import { advanceAutoIncrements, ensurePromotedColumn, isReadOnly, lockedState, markPromotedOn, promotionOf, protectOn, unprotectOn } from './mariadb-promotion.ts';
import type { Promotion, SequenceAdvance, StandbyPromotion } from '../promotion.ts';
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
  'lock_wait_timeout = 60, ' +
  // replica mode (see the header): no foreign-key checks, no cascades from the standby's own keys
  'foreign_key_checks = 0';
const MARIADB_MAX_IDENTIFIER_CHARS = 64;

export class MariaDbDialect implements StandbyDialect, StandbyPromotion {
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
  /** the server's max_allowed_packet: no statement, and so no single row, can be larger */
  maxPacketBytes = 16 << 20;
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
      this.maxPacketBytes = packet;
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
           applied_at DATETIME(6) NOT NULL,
           promoted_at DATETIME(6) NULL
         ) ENGINE=InnoDB`,
      );
      await ensurePromotedColumn(c, this.stateDatabase, this.stateTable);
    });
  }

  async readState(sourceId: string): Promise<ApplyState | null> {
    return this.withConnection('cannot read the apply state', (c) => unlessMissing(async () => {
      // every column: a state table from before promoted_at existed reads as not promoted
      const [rows] = await c.query(`SELECT * FROM ${this.stateTable} WHERE source_id = ?`, [sourceId]);
      const row = (rows as { batch_seq: string; version: string; batch_offset: string; applied_at: string; promoted_at?: string | null }[])[0];
      if (!row) return null;
      return {
        sourceId,
        batchSeq: BigInt(row.batch_seq),
        version: BigInt(row.version),
        batchOffset: BigInt(row.batch_offset),
        appliedAt: new Date(`${row.applied_at.replace(' ', 'T')}Z`),
        promotedAt: promotionOf({ at: row.promoted_at ?? null, v: row.version, b: row.batch_seq })?.at ?? null,
      };
    }, isMissingTable, null));
  }

  async protect(): Promise<void> {
    await this.withConnection('cannot protect the standby (SET GLOBAL read_only = ON)', (c) => protectOn(c, this.where, this.stateTable));
  }

  async unprotect(): Promise<void> {
    await this.withConnection('cannot lift the standby\'s protection (SET GLOBAL read_only = OFF)', (c) => unprotectOn(c, this.where));
  }

  isProtected(): Promise<boolean> {
    return this.withConnection('cannot read @@global.read_only', isReadOnly);
  }

  markPromoted(sourceId: string): Promise<Promotion> {
    return this.withConnection(`cannot mark the standby promoted for source ${sourceId}`, async (c) => {
      await ensurePromotedColumn(c, this.stateDatabase, this.stateTable);
      return markPromotedOn(c, this.where, this.stateTable, sourceId);
    });
  }

  readPromotion(sourceId: string): Promise<Promotion | null> {
    return this.readState(sourceId).then((s) => (s?.promotedAt ? { at: s.promotedAt, version: s.version, batchSeq: s.batchSeq } : null));
  }

  advanceSequences(tables: TableRef[], floors: ReadonlyMap<string, bigint>): Promise<SequenceAdvance[]> {
    return this.withConnection('cannot advance the AUTO_INCREMENT counters', (c) => advanceAutoIncrements(c, tables, floors));
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
      checkKeyCollations(table, existing);
      const change = planTableChange(table, existing, MARIA_RULES);
      if (isEmptyChange(change)) return;
      const relax = new Set(change.dropNotNull.map((col) => col.name));
      const widened = new Set(change.widen.map((w) => w.existing.name));
      const nullity = (col: StandbyColumn) => (col.nullable || relax.has(col.name) ? 'NULL' : 'NOT NULL');
      // MODIFY restates the whole column: what it does not repeat (a default, ON UPDATE, AUTO_INCREMENT) is lost
      // (a temporal column widened to more fractional digits takes current_timestamp at its new precision: MariaDB refuses another)
      const keep = (col: StandbyColumn, digits?: number) => {
        const m = col as MariaColumn;
        const at = (e: string) => (digits === undefined ? e : e.replace(/^current_timestamp(\(\d*\))?$/i, `current_timestamp(${digits})`));
        return `${m.defaultText !== null ? ` DEFAULT ${at(m.defaultText)}` : ''}${m.onUpdate !== null ? ` ON UPDATE ${at(m.onUpdate)}` : ''}${m.identity ? ' AUTO_INCREMENT' : ''}`;
      };
      const temporal = (to: { family: string; size?: number }) => (['datetime', 'timestamp', 'time'].includes(to.family) ? to.size : undefined);
      const parts = [
        // Added columns are nullable: rows already in the standby have no value for them.
        ...change.add.map((col) => `ADD COLUMN IF NOT EXISTS ${defs.get(col.name)!.replace(/ NOT NULL$/, ' NULL')}`),
        // type, character set and collation, nullability, default and AUTO_INCREMENT
        ...change.widen.map((w) => `MODIFY COLUMN ${quoteIdent(w.existing.name)} ${w.to.text} ${nullity(w.existing)}${keep(w.existing, temporal(w.to))}`),
        ...change.dropNotNull.filter((col) => !widened.has(col.name)).map((col) => `MODIFY COLUMN ${quoteIdent(col.name)} ${col.nativeType} NULL${keep(col)}`),
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

/** A MariaDB column with what MODIFY must restate beyond its type, and its collation. */
export interface MariaColumn extends StandbyColumn {
  /** COLLATION_NAME (null: not a character column) */
  collation: string | null;
  /** the default as information_schema spells it (an expression: `'x'`, `0`, `current_timestamp()`); null: none */
  defaultText: string | null;
  /** the ON UPDATE expression (EXTRA `on update current_timestamp()`); null: none */
  onUpdate: string | null;
}

/** The table's columns from information_schema, null when it does not exist. */
export async function describeOn(c: mysql.PoolConnection, t: TableRef): Promise<MariaColumn[] | null> {
  const [rows] = await c.query(
    `SELECT column_name AS n, column_type AS t, character_set_name AS cs, collation_name AS co, is_nullable AS nl, column_key AS k,
            extra AS x, is_generated AS g, column_default AS d
       FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
    [t.schema, t.table],
  );
  const cols = rows as { n: string; t: string; cs: string | null; co: string | null; nl: string; k: string; x: string; g: string; d: string | null }[];
  if (cols.length === 0) return null;
  return cols.map((r) => {
    const extra = (r.x ?? '').toLowerCase();
    const generated = r.g === 'ALWAYS' || /\b(stored|virtual|persistent) generated\b/.test(extra);
    const autoIncrement = extra.includes('auto_increment');
    // a nullable column without a default reads 'NULL' here: the same as DEFAULT NULL
    const defaultText = generated || r.d === null || (r.d === 'NULL' && r.nl === 'YES') ? null : r.d;
    return {
      name: r.n,
      // everything MODIFY must restate to keep the column's type as it is
      nativeType: `${r.t}${r.cs ? ` CHARACTER SET ${r.cs}` : ''}${r.co ? ` COLLATE ${r.co}` : ''}`,
      nullable: r.nl === 'YES',
      inKey: r.k === 'PRI',
      generated,
      identity: autoIncrement ? 'default' : null,
      hasDefault: generated || autoIncrement || r.d !== null,
      collation: r.co,
      defaultText,
      onUpdate: /\bon update (\S+)/i.exec(r.x ?? '')?.[1] ?? null,
    };
  });
}

/**
 * A string key column of a pre-created table must compare as the source does: bytes exactly,
 * trailing spaces kept (a `_nopad_bin` collation). Throws a StandbyError naming the columns.
 */
function checkKeyCollations(table: TableMeta, existing: MariaColumn[]): void {
  const byName = new Map(existing.map((c) => [c.name.toLowerCase(), c]));
  const bad = table.key
    .map((k) => table.columns.find((c) => c.name === k)!)
    .filter((col) => col.type.kind === 'string')
    .map((col) => byName.get(col.name.toLowerCase()))
    .filter((sb): sb is MariaColumn => sb !== undefined && sb.collation !== null && !/_nopad_bin$/i.test(sb.collation));
  if (bad.length === 0) return;
  throw new StandbyError(
    `MariaDB standby table ${tableName(table)}: key column(s) ${bad.map((c) => `${c.name} (collation ${c.collation})`).join(', ')} ` +
      'compare case-insensitively or ignore trailing spaces, so keys the source keeps apart would be one standby row. ' +
      `Give them a binary NO PAD collation (${bad.map((c) => `ALTER TABLE ${qualified(table)} MODIFY COLUMN ${quoteIdent(c.name)} ${c.nativeType.replace(/ COLLATE \S+$/i, '')} COLLATE utf8mb4_nopad_bin NOT NULL`).join('; ')}) and restart the applier`,
  );
}

/** The triggers on a table (information_schema.TRIGGERS): name, timing and event. */
export async function triggersOn(c: mysql.PoolConnection, t: TableRef): Promise<{ name: string; timing: string; event: string }[]> {
  const [rows] = await c.query(
    `SELECT trigger_name AS n, action_timing AS tm, event_manipulation AS ev FROM information_schema.triggers
      WHERE event_object_schema = ? AND event_object_table = ? ORDER BY trigger_name`,
    [t.schema, t.table],
  );
  return (rows as { n: string; tm: string; ev: string }[]).map((r) => ({ name: r.n, timing: r.tm, event: r.ev }));
}

/** How to fix a MariaDB standby column whose read-back differed (write-shape.ts). */
export const MARIA_CHECK_HINT: CheckHint = (table, column) =>
  `Make it a plain column on the standby (ALTER TABLE ${qualified(table)} MODIFY COLUMN ${quoteIdent(column)} with its type and no AS (…)) or give it the source's expression, then restart the applier`;

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
