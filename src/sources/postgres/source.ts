// The PostgreSQL ChangeSource: reads ctrelay's own change tracking (ct-sql.ts) with the same
// semantics and the same poll pattern as SQL Server CT: one REPEATABLE READ (snapshot) read-only
// transaction per poll, taken as a moment of the source (ct-snapshot.ts), current version, min valid version, net changes joined to the live row.
// Every driver call goes through a PgCall (errors.ts): a lost connection rejects with a transient
// SourceUnavailableError, a refusal (permission, missing table, ...) with a permanent SourceError.
import pg from 'pg';
import type { CatalogWatch, ChangedTables, ChangePosition, ChangeRow, ChangeSource, PollSession, ResetReasons, StartupWarnings } from '../../core/change-source.ts';
import { SourceError, SourceUnavailableError } from '../../core/errors.ts';
import { qualifiedName, type ColumnMeta, type Row, type TableMeta, type TableRef, type Value } from '../../core/model.ts';
import { redactUrl } from '../../core/redact.ts';
import { notTrackedFix } from '../source-errors.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { isPgConnectionLost, pgCaller, type PgCall } from './errors.ts';
import { eventTriggerProblems, eventTriggerWarning } from './ct-health.ts';
import { TRACKING_STATE_SQL } from './ct-sql.ts';
import { beginVersionSnapshot } from './ct-snapshot.ts';
import { pgColumnType, textConverter, toPgText, type TextConverter } from './types.ts';

const POOL_SIZE = 4;
/** tables per changedTables() statement: a long UNION ALL costs planning time on every poll */
const CHANGED_TABLES_PER_STATEMENT = 250;

// Every value arrives as the server's text so that nothing is parsed lossily on the way.
const rawText = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

/** application_name of the source's sessions (pg_stat_activity), unless the URL sets one. */
export const APPLICATION_NAME = 'ctrelay';

interface Compiled {
  meta: TableMeta;
  side: string;
  keySqlTypes: string[];
  convert: TextConverter[];
  keyConvert: TextConverter[];
  changesSql: string;
  changesAfterSql: string;
  chunkSql: string;
  chunkAfterSql: string;
}

/** What each state of a tracking trigger (TRACKING_STATE_SQL) means for the operator. */
const TRIGGER_STATES: Record<string, string> = {
  missing: 'is missing (dropped)',
  function: 'calls another function than ctrelay\'s',
  D: 'is disabled (ALTER TABLE ... DISABLE TRIGGER)',
  O: 'is not ENABLE ALWAYS (skipped under session_replication_role = replica)',
  R: 'fires only under session_replication_role = replica',
};

/** The permanent error for a table whose tracking is off: names the table, what is wrong and the way out. */
function trackingOffError(name: string, problems: { op: string | null; state: string }[]): SourceError {
  if (problems.some((p) => p.op === null)) return new SourceError(`source table ${name} is no longer change-tracked; ${notTrackedFix(name)}`);
  const what = problems.map((p) => `trigger ctrelay_ct_${p.op} ${TRIGGER_STATES[p.state] ?? `has state ${p.state}`}`).join(', ');
  return new SourceError(
    `source table ${name}: change tracking is off: ${what}; changes made while tracking is off are unknown: ` +
      `run \`ctrelay ct enable ${name}\` (the table is then re-snapshotted), then restart capture`,
  );
}

export class PostgresSource implements ChangeSource, CatalogWatch, StartupWarnings {
  readonly kind = 'postgres';
  private pool: pg.Pool;
  private compiled = new Map<string, Compiled>();
  private readonly call: PgCall;
  /** the server for messages (scheme, host, port, database; no credentials) */
  readonly server: string;

  constructor(url: string) {
    this.call = pgCaller(url);
    this.server = redactUrl(url);
    // session settings travel in the startup packet, so every pooled connection has them from
    // its first query: one exact text form per type (see types.ts)
    this.pool = new pg.Pool({
      connectionString: url,
      max: POOL_SIZE,
      types: rawText,
      connectionTimeoutMillis: 10_000,
      application_name: APPLICATION_NAME,
      options: '-c TimeZone=UTC -c DateStyle=ISO,YMD -c bytea_output=hex -c extra_float_digits=3',
    });
    // idle-client errors (server restart) must not crash the process; the next query reports them
    this.pool.on('error', () => undefined);
  }

  async connect(): Promise<void> {
    const r = await this.call('connecting', () => this.pool.query(`SELECT to_regclass('ctrelay.tables') IS NOT NULL AS ok`));
    if (r.rows[0].ok !== 't') {
      throw new SourceError(`PostgreSQL source ${this.server}: change tracking is not installed (run \`ctrelay ct enable\` for the tables)`);
    }
  }

  async describe(tables: TableRef[], exclude = new Map<string, Set<string>>()): Promise<TableMeta[]> {
    const out: TableMeta[] = [];
    // every problem of every table, reported at once: an operator fixes them all in one go
    const problems: string[] = [];
    const compiled: [string, Compiled][] = [];
    for (const t of tables) {
      const name = qualifiedName(t);
      const regclass = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
      const what = `describing ${name}`;
      const exists = await this.call(what, () => this.pool.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [regclass]), name);
      if (exists.rows[0].ok !== 't') {
        problems.push(`source table ${name} does not exist`);
        continue;
      }
      const tracked = await this.call(what, () => this.pool.query(
        `SELECT side_table FROM ctrelay.tables WHERE schema_name = $1 AND table_name = $2`, [t.schema, t.table]), name);
      // has_default: a default expression, an identity, or a "missing value" that rows older than
      // the column read (ADD COLUMN ... DEFAULT with a constant, also after DROP DEFAULT): each fills
      // existing rows when the column is added; generated: stored generated columns (whose expression
      // pg_attrdef holds too, so atthasdef alone is not a default)
      const cols = await this.call(what, () => this.pool.query(
        `SELECT a.attname, t.typname, a.atttypmod, a.attnotnull, format_type(a.atttypid, a.atttypmod) AS fmt,
                (a.atthasdef AND a.attgenerated = '') OR a.atthasmissing OR a.attidentity <> '' AS has_default,
                a.attgenerated <> '' AS generated,
                (SELECT k.ord FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                  WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.attnum = a.attnum) AS key_ord
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum`, [regclass]), name);
      const before = problems.length;
      const keyed = cols.rows.filter((c) => c.key_ord !== null).sort((a, b) => Number(a.key_ord) - Number(b.key_ord));
      if (keyed.length === 0) problems.push(`source table ${name} has no primary key: ctrelay needs one to key its events`);
      if (tracked.rows.length === 0) problems.push(`source table ${name} is not change-tracked (run \`ctrelay ct enable ${name}\`)`);
      const skip = exclude.get(name) ?? new Set<string>();
      // a misspelt exclusion too: otherwise the column it meant to skip is reported as unsupported
      for (const s of skip) {
        if (!cols.rows.some((c) => c.attname === s)) problems.push(`source.tables: ${name}: excluded column "${s}" does not exist`);
      }
      const columns: ColumnMeta[] = [];
      const keySqlTypes: string[] = [];
      for (const c of cols.rows) {
        const isKey = c.key_ord !== null;
        if (skip.has(c.attname)) {
          if (isKey) problems.push(`source.tables: ${name}: key column "${c.attname}" cannot be excluded`);
          continue;
        }
        const type = pgColumnType(c.typname, Number(c.atttypmod));
        if (!type) {
          problems.push(`source table ${name}, column "${c.attname}": type ${c.fmt} is not supported` +
            (isKey ? '' : ` (list it under source.tables[].excludeColumns to skip it)`));
          continue;
        }
        columns.push({ name: c.attname, type, nullable: c.attnotnull !== 't', sourceType: c.fmt, hasDefault: c.has_default === 't', generated: c.generated === 't' });
      }
      if (problems.length > before) continue;
      for (const k of keyed) keySqlTypes.push(k.fmt);
      const meta: TableMeta = { schema: t.schema, table: t.table, columns, key: keyed.map((k) => k.attname) };
      compiled.push([name, compile(meta, tracked.rows[0].side_table, keySqlTypes)]);
      out.push(meta);
    }
    if (problems.length === 1) throw new SourceError(problems[0]);
    if (problems.length > 1) throw new SourceError(`${problems.length} problems with the source tables: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}`);
    for (const [name, c] of compiled) this.compiled.set(name, c);
    return out;
  }

  private table(meta: TableMeta): Compiled {
    const c = this.compiled.get(qualifiedName(meta));
    if (!c) throw new Error(`table ${qualifiedName(meta)} was not described`);
    return c;
  }

  async beginPoll(): Promise<PollSession> {
    // A pooled connection can have died while idle (server restart, pg_terminate_backend, a
    // firewall): the pool finds out only when it is used. Such a failure is retried on another
    // connection, at most once per pooled connection, before it is reported.
    for (let attempt = 1; ; attempt++) {
      const conn = new PollConnection(await this.call('connecting for a poll', () => this.pool.connect()));
      try {
        const { version, off, minValid } = await this.call('starting a poll transaction', async () => {
          const version = await beginVersionSnapshot(conn.client);
          return { version, ...(await this.trackingState(conn.client)) };
        });
        return new PgPoll(conn, version, (m) => this.table(m), this.call, off, minValid);
      } catch (err) {
        conn.release(true);
        if (attempt <= POOL_SIZE && err instanceof SourceUnavailableError && isPgConnectionLost(err.cause)) continue;
        throw err;
      }
    }
  }

  /**
   * The described tables whose tracking is off in the poll's snapshot (not in ctrelay.tables, or a
   * tracking trigger missing, disabled or not ENABLE ALWAYS), each with the error its reads raise.
   * Checked in every poll: changes written while a trigger is off are never tracked. A table
   * disabled and enabled again since it was described has a new side table: it is read from now
   * on (its min valid version was raised by the enabling, so capture re-snapshots it). Also each
   * tracked table's min valid version, from the same row: one query per poll, not one per table.
   */
  private async trackingState(client: pg.PoolClient): Promise<{ off: Map<string, SourceError>; minValid: Map<string, bigint> }> {
    const off = new Map<string, SourceError>();
    const minValid = new Map<string, bigint>();
    const tables = [...this.compiled.entries()];
    if (tables.length === 0) return { off, minValid };
    const r = await client.query(TRACKING_STATE_SQL, [tables.map(([, c]) => c.meta.schema), tables.map(([, c]) => c.meta.table)]);
    const byTable = new Map<number, { side: string | null; problems: { op: string | null; state: string }[] }>();
    for (const row of r.rows) {
      const i = Number(row.i) - 1;
      if (row.min_valid !== null) minValid.set(tables[i][0], BigInt(row.min_valid));
      const entry = byTable.get(i) ?? { side: row.side as string | null, problems: [] as { op: string | null; state: string }[] };
      if (row.side === null) entry.problems.push({ op: null, state: 'untracked' });
      else if (row.op !== null) entry.problems.push({ op: row.op, state: row.state });
      byTable.set(i, entry);
    }
    for (const [i, { side, problems }] of byTable) {
      const [name, c] = tables[i];
      if (problems.length > 0) off.set(name, trackingOffError(name, problems));
      else if (side !== null && side !== c.side) this.compiled.set(name, compile(c.meta, side, c.keySqlTypes));
    }
    return { off, minValid };
  }

  /** What capture should log at start: ctrelay's event triggers missing (see ct-admin.ts). */
  async startupWarnings(): Promise<string[]> {
    const missing = await this.call('checking the event triggers', () => eventTriggerProblems(this.pool));
    return missing.length === 0 ? [] : [`PostgreSQL source ${this.server}: ${eventTriggerWarning(missing)}`];
  }

  async catalogSignature(tables: TableRef[]): Promise<string> {
    const r = await this.call('reading the catalog signature', () => this.pool.query(
      `SELECT md5(coalesce(string_agg(c.relname || '/' || a.attnum || '/' || a.attname || '/' || a.atttypid || '/' || a.atttypmod || '/' || a.attnotnull
                                      || '/' || a.atthasdef || '/' || a.atthasmissing || '/' || a.attgenerated::text,
                                      ',' ORDER BY c.oid, a.attnum), '')) AS sig
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.oid = ANY (SELECT to_regclass(x) FROM unnest($1::text[]) x) AND a.attnum > 0 AND NOT a.attisdropped`,
      [tables.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`)],
    ));
    return r.rows[0].sig;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * A pooled connection checked out for one poll. node-postgres emits 'error' on a client whose
 * server ends the session between two queries, and the pool listens only to idle clients: without
 * the listener here a pg_terminate_backend during a poll would crash the process. The next query
 * on the client then fails ("not queryable"), which is classified as connection lost.
 */
class PollConnection {
  private readonly onError = () => undefined;
  private released = false;
  constructor(readonly client: pg.PoolClient) {
    client.on('error', this.onError);
  }
  release(destroy = false): void {
    if (this.released) return;
    this.released = true;
    this.client.removeListener('error', this.onError);
    this.client.release(destroy);
  }
}

class PgPoll implements PollSession, ResetReasons, ChangedTables {
  private readonly client: pg.PoolClient;
  private ended = false;

  constructor(
    private readonly conn: PollConnection,
    readonly currentVersion: bigint,
    private readonly table: (m: TableMeta) => Compiled,
    private readonly call: PgCall,
    /** tables whose tracking is off in this snapshot: their change reads fail with the error */
    private readonly off: Map<string, SourceError>,
    /** tables' min valid versions in this snapshot, read with the tracking state */
    private readonly minValid: Map<string, bigint>,
  ) {
    this.client = conn.client;
  }

  private checkTracked(name: string): void {
    const err = this.off.get(name);
    if (err) throw err;
  }

  async minValidVersion(meta: TableMeta): Promise<bigint> {
    const name = qualifiedName(meta);
    this.checkTracked(name);
    const known = this.minValid.get(name);
    if (known !== undefined) return known;
    const r = await this.call(`reading the min valid version of ${name}`,
      () => this.client.query(`SELECT ctrelay.min_valid_version($1, $2)::text AS v`, [meta.schema, meta.table]), name);
    if (r.rows[0].v === null) throw new SourceError(`source table ${name} is no longer change-tracked; ${notTrackedFix(name)}`);
    return BigInt(r.rows[0].v);
  }

  async resetReason(meta: TableMeta): Promise<string | null> {
    const name = qualifiedName(meta);
    // to_jsonb: reset_reason is missing on installations older than it (then: no reason known)
    const r = await this.call(`reading why the min valid version of ${name} was raised`, () => this.client.query(
      `SELECT to_jsonb(t) ->> 'reset_reason' AS reason FROM ctrelay.tables t WHERE schema_name = $1 AND table_name = $2`, [meta.schema, meta.table]), name);
    return r.rows[0]?.reason ?? null;
  }

  /**
   * One statement for all tables: an EXISTS per side table over the transactions after `since`
   * (few, through txn's version index) joined by the side table's last_xid index. With a
   * thousand tracked tables this replaces a thousand change queries per window by one.
   */
  async changedTables(metas: TableMeta[], since: bigint): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < metas.length; i += CHANGED_TABLES_PER_STATEMENT) {
      const part = metas.slice(i, i + CHANGED_TABLES_PER_STATEMENT);
      for (const m of part) this.checkTracked(qualifiedName(m));
      const arms = part.map((m, j) =>
        `SELECT ${j} AS i WHERE EXISTS (SELECT 1 FROM ctrelay.txn t JOIN ctrelay.${quoteIdent(this.table(m).side)} s ON s.last_xid = t.xid WHERE t.version > $1::bigint)`);
      const r = await this.call('finding the tables with changes', () => this.client.query(arms.join('\nUNION ALL\n'), [String(since)]));
      for (const row of r.rows) out.add(qualifiedName(part[Number(row.i)]));
    }
    return out;
  }

  async changes(meta: TableMeta, since: bigint, after: ChangePosition | null, limit: number): Promise<ChangeRow[]> {
    this.checkTracked(qualifiedName(meta));
    const c = this.table(meta);
    const params: unknown[] = [String(since), limit];
    if (after) {
      params.push(String(after.version));
      for (let i = 0; i < meta.key.length; i++) params.push(toPgText(keyType(meta, i), after.key[meta.key[i]]));
    }
    const name = qualifiedName(meta);
    const r = await this.call(`reading the changes of ${name}`,
      () => this.client.query({ text: after ? c.changesAfterSql : c.changesSql, values: params, rowMode: 'array' }), name);
    const nk = meta.key.length;
    const out: ChangeRow[] = new Array(r.rows.length);
    for (let i = 0; i < r.rows.length; i++) {
      const a = r.rows[i] as (string | null)[];
      const key: Row = {};
      for (let k = 0; k < nk; k++) key[meta.key[k]] = c.keyConvert[k](a[4 + k] as string);
      const present = a[2] === 'true';
      let row: Row | null = null;
      if (present) row = toRow(meta, c.convert, a, 4 + nk);
      out[i] = {
        op: !present ? 'D' : a[3] === 'true' ? 'I' : 'U',
        version: BigInt(a[0] as string),
        key,
        row,
        changedColumns: null,
        commitTs: a[1] === null ? null : commitTs(a[1]),
      };
    }
    return out;
  }

  async snapshotChunk(meta: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]> {
    const c = this.table(meta);
    const params: unknown[] = [limit];
    if (afterKey) for (let i = 0; i < meta.key.length; i++) params.push(toPgText(keyType(meta, i), afterKey[meta.key[i]]));
    const name = qualifiedName(meta);
    const r = await this.call(`reading a snapshot chunk of ${name}`,
      () => this.client.query({ text: afterKey ? c.chunkAfterSql : c.chunkSql, values: params, rowMode: 'array' }), name);
    const out: Row[] = new Array(r.rows.length);
    for (let i = 0; i < r.rows.length; i++) out[i] = toRow(meta, c.convert, r.rows[i] as (string | null)[], 0);
    return out;
  }

  async end(): Promise<void> {
    // a second end() must not touch a client the pool may have handed to someone else
    if (this.ended) return;
    this.ended = true;
    try {
      await this.call('ending the poll transaction', () => this.client.query('COMMIT'));
      this.conn.release();
    } catch (err) {
      this.conn.release(true);
      throw err;
    }
  }
}

function keyType(meta: TableMeta, i: number) {
  return meta.columns.find((c) => c.name === meta.key[i])!.type;
}

function toRow(meta: TableMeta, convert: TextConverter[], a: (string | null)[], offset: number): Row {
  const row: Row = {};
  const cols = meta.columns;
  for (let j = 0; j < cols.length; j++) {
    const v = a[offset + j];
    row[cols[j].name] = v === null ? null : (convert[j](v) as Value);
  }
  return row;
}

const commitTsConvert = textConverter({ kind: 'timestamptz', precision: 6 });
function commitTs(text: string): string {
  return commitTsConvert(text) as string;
}

function compile(meta: TableMeta, side: string, keySqlTypes: string[]): Compiled {
  const base = `${quoteIdent(meta.schema)}.${quoteIdent(meta.table)}`;
  const sideRef = `ctrelay.${quoteIdent(side)}`;
  const k = meta.key.map(quoteIdent);
  // Columns are read in their type's own text output, which the driver hands over untouched
  // (rawText), never through a cast to text: some casts change the value, e.g. char(n)::text drops
  // the padding ('ab   ' -> 'ab'), bool::text spells 'true' for 't'.
  const cols = meta.columns.map((c) => `b.${quoteIdent(c.name)}`).join(', ');
  const join = k.map((q) => `b.${q} = s.${q}`).join(' AND ');
  const sKeys = k.map((q) => `s.${q}`).join(', ');
  const order = ['t.version', ...k.map((q) => `s.${q}`)].join(', ');
  // $1 = since, $2 = limit, $3 = after version, $4.. = after key
  const afterTuple = `(${['$3::bigint', ...keySqlTypes.map((t, i) => `$${4 + i}::${t}`)].join(', ')})`;
  const changes = (extra: string) => `
    SELECT t.version::text, t.commit_ts::text, (b.${k[0]} IS NOT NULL)::text,
           (c.version IS NOT NULL AND c.version > $1::bigint)::text, ${sKeys}${cols ? ', ' + cols : ''}
      FROM ctrelay.txn t
      JOIN ${sideRef} s ON s.last_xid = t.xid
      LEFT JOIN ctrelay.txn c ON c.xid = s.created_xid
      LEFT JOIN ${base} b ON ${join}
     WHERE t.version > $1::bigint ${extra}
     ORDER BY ${order}
     LIMIT $2`;
  const chunkTuple = `(${keySqlTypes.map((t, i) => `$${2 + i}::${t}`).join(', ')})`;
  const bKeys = k.map((q) => `b.${q}`);
  const chunk = (extra: string) => `SELECT ${cols} FROM ${base} b ${extra} ORDER BY ${bKeys.join(', ')} LIMIT $1`;
  return {
    meta,
    side,
    keySqlTypes,
    convert: meta.columns.map((c) => textConverter(c.type)),
    keyConvert: meta.key.map((name) => textConverter(meta.columns.find((c) => c.name === name)!.type)),
    changesSql: changes(''),
    changesAfterSql: changes(`AND (${order}) > ${afterTuple}`),
    chunkSql: chunk(''),
    chunkAfterSql: chunk(`WHERE (${bKeys.join(', ')}) > ${chunkTuple}`),
  };
}
