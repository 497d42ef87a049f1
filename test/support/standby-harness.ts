// StandbyHarness: what the standby-dialect conformance suite (test/conformance/) needs from a
// standby engine, so that ONE set of tests runs against every StandbyDialect
// (src/standby/dialect.ts). An implementation knows its engine's admin SQL (throwaway databases
// and logins, killing sessions, narrowing a column); the tests only speak TableMeta, canonical
// values (src/core/model.ts) and the dialect contract.
//
// Implementations: standby-harness-postgres.ts, standby-harness-mariadb.ts (run by
// test/integration/standby-conformance.test.ts) and standby-harness-sqlserver.ts (run by
// test/conformance/sqlserver/standby-sqlserver.mssql-test.ts).
import type { TableRef } from '../../src/core/model.ts';
import type { StandbyDialect } from '../../src/standby/dialect.ts';

/** What an engine cannot do that the contract's tests would otherwise assume. */
export interface StandbyLimits {
  /** doubles below 2.2250738585072014e-308 round-trip (SQL Server's float has no subnormals) */
  subnormalFloats: boolean;
  /**
   * keys that differ only in trailing spaces (strings) or trailing zero bytes (binary) are two rows;
   * false: the second such key is refused naming table, column and both keys (SQL Server compares
   * both padded, under every collation)
   */
  trailingSpaceKeys: boolean;
  /**
   * a row the server refuses inside a set-based write is named by its key; false: the message
   * names the table only (the SQL Server dialect does not locate the row yet)
   */
  namesRefusedKey: boolean;
  /**
   * the engine cannot keep a trigger from firing in the applier's session (MariaDB, SQL Server): a
   * replicated table with one is refused, naming it; false: apply runs as a replica and triggers
   * do not fire (PostgreSQL)
   */
  refusesTriggers: boolean;
  /**
   * the engine cannot keep an enabled foreign key from being checked and acting in the applier's
   * session (SQL Server): a table with one on it or to it is refused, naming it
   */
  refusesForeignKeys: boolean;
  /** an identity column outside the key can be updated (MariaDB AUTO_INCREMENT); false: GENERATED ALWAYS / IDENTITY */
  updatesIdentity: boolean;
  /**
   * a login needs a grant to run apply transactions as a replica (PostgreSQL: SET on
   * session_replication_role); the database then offers noReplicaModeUrl
   */
  replicaModeGrant: boolean;
}

/**
 * Tables made the way an operator pre-creates a standby schema (pg_dump -s, mysqldump --no-data,
 * SSMS scripts), in the database's `schema`, with the engine's types for what ctrelay maps the
 * listed kinds to:
 * - pc_items, columns IN THIS ORDER: total decimal(20,2) computed as qty * price (stored), site
 *   string(20) NOT NULL DEFAULT 'standby' (a standby-only column), price decimal(10,2) NOT NULL, id
 *   int64 identity (PostgreSQL GENERATED ALWAYS, MariaDB AUTO_INCREMENT, SQL Server IDENTITY)
 *   PRIMARY KEY, qty int32 NOT NULL CHECK (qty > 0), name string(50) NULL; plus an index on name.
 * - pc_seq: id int32 PRIMARY KEY, seq int64 NOT NULL identity outside the key (MariaDB: with a
 *   unique key of its own), v string(20) NULL.
 * - pc_parent (id int32 PRIMARY KEY, name string(20) NULL) and pc_child (id int32 PRIMARY KEY,
 *   parent_id int32 NOT NULL, v string(20) NULL) with the foreign key pc_child_parent (parent_id) ->
 *   pc_parent (id) ON DELETE CASCADE.
 * - pc_audit (n int64 identity PRIMARY KEY, what string(100) NULL) and pc_trig (id int32 PRIMARY KEY,
 *   v string(20) NULL) with trigger(s) whose names start with pc_trig_audit, AFTER INSERT and
 *   AFTER DELETE at least, each inserting a row into pc_audit.
 */
export interface PrecreatedTables {
  /** the statements that create them, one per exec */
  create: string[];
  /** statements that keep pc_trig's triggers from firing (dropped or disabled): what an operator does where refusesTriggers */
  disableTrigger: string[];
  /** statements that disable pc_child_parent: what an operator does where refusesForeignKeys */
  disableForeignKey: string[];
}

/** One throwaway database on the engine under test. */
export interface StandbyDatabase {
  readonly name: string;
  /** the URL a dialect connects with, allowed everything in this database */
  readonly url: string;
  /** where the suite's tables go: a schema of the database (PostgreSQL, SQL Server) or the database itself (MariaDB) */
  readonly schema: string;
  /** a place for tables with a hostile name; `schema` itself where places are databases */
  readonly hostileSchema: string;
  /** A dialect of this kind on `url` (default: this database's); the caller connects and closes it. */
  createDialect(url?: string): StandbyDialect;
  /** Runs one statement in this database on a connection of the harness's own. */
  exec(statement: string): Promise<void>;
  /** The statement that narrows a string column to `length` characters (staying nullable). */
  narrowColumnSql(table: TableRef, column: string, length: number): string;
  /**
   * Kills every session a dialect holds on this database (never the harness's own), waits until
   * the server has closed them, and resolves to how many there were.
   */
  killDialectSessions(): Promise<number>;
  /** A URL for a throwaway login that may connect and read `schema` but not write. Call once its tables exist. */
  readOnlyUrl(): Promise<string>;
  /**
   * A URL for this database that the server refuses at login, carrying `password`: a wrong
   * password, or, where the server trusts every password (the local PostgreSQL), a login that does not exist.
   */
  refusedLoginUrl(password: string): string;
  /** The pre-created tables (PrecreatedTables) of this engine, for `schema`. */
  precreated(): PrecreatedTables;
  /**
   * Where limits.replicaModeGrant: a URL for a throwaway login that may read and write every table
   * of `schema` but lacks the grant apply transactions need to run as a replica.
   */
  noReplicaModeUrl?(): Promise<string>;
  /** Drops the database and every login made for it. */
  drop(): Promise<void>;
}

export interface StandbyHarness {
  /** the standby kind, as in standby.kind of the config */
  readonly kind: string;
  readonly limits: StandbyLimits;
  createDatabase(prefix: string): Promise<StandbyDatabase>;
  /** A URL of this kind for a port nothing listens on, logging in with `password`. */
  unreachableUrl(password: string): string;
  /** releases what the harness itself holds (not the databases: drop those) */
  close(): Promise<void>;
}

/** The URL with the user, password and database replaced (any of them). */
export function withLogin(url: string, change: { user?: string; password?: string; database?: string }): string {
  const u = new URL(url);
  if (change.user !== undefined) u.username = encodeURIComponent(change.user);
  if (change.password !== undefined) u.password = encodeURIComponent(change.password);
  if (change.database !== undefined) u.pathname = `/${encodeURIComponent(change.database)}`;
  return u.toString();
}

/** Polls `count` until it is 0 (sessions the server has not closed yet), for at most `ms`. */
export async function waitUntilGone(count: () => Promise<number>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const left = await count();
    if (left === 0) return;
    if (Date.now() > end) throw new Error(`${left} ${what} still open after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
