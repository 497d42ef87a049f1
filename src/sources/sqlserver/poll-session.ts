// One poll of the SQL Server source: ONE snapshot transaction on the session connection, whose
// snapshot is pinned at its version V (beginPollSql), and whose change reads go through one window
// table per table (window-sql.ts). Written against a `run` function rather than a connection, so
// that poll-session.test.ts drives it with a fake that answers like the server would.
import type { ChangePosition, ChangeRow, PollSession, SourceIdentity } from '../../core/change-source.ts';
import { keyId } from '../../core/batch.ts';
import { SourceError, SourceUnavailableError } from '../../core/errors.ts';
import { qualifiedName, type Row, type TableMeta, type TableRef } from '../../core/model.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import { notTrackedFix } from '../source-errors.ts';
import { decodeChangeRow, decodeRow, versionOrNull, type TrackingInfo } from './rows.ts';
import { ABORT_POLL_SQL, beginPollSql, lateSnapshotPinSql, MIN_VALID_VERSION_SQL, objectName, snapshotChunkStatement, type CommitTimeMode } from './sql.ts';
import { createWindowTableSql, fillWindowStatement, windowPageStatement, windowTableName, type WindowPosition } from './window-sql.ts';

type Rec = Record<string, unknown>;

/** What a poll needs from its source: the session connection and the catalog it described. */
export interface PollContext {
  /** the server, for messages (never with credentials) */
  readonly label: string;
  readonly snapshot: boolean;
  readonly commitTime: CommitTimeMode;
  /** Runs a statement on the poll's connection; failures come back classified, naming `doing` and the table. */
  run(st: Statement, doing: string, table?: string): Promise<Rec[]>;
  trackingInfo(table: TableMeta): Promise<TrackingInfo>;
  /** Ends the transaction (commit or roll back), drops the window tables and frees the session. */
  finish(commit: boolean, tempTables: string[]): Promise<void>;
}

/**
 * How often beginPoll takes the snapshot again when a change-tracked transaction committed between
 * reading V and the read that started the snapshot. The two reads are one round trip apart, so a
 * second attempt almost always agrees; five in a row failing means a source too busy to pin, which
 * is a transient failure (capture backs off and tries again).
 */
export const PIN_ATTEMPTS = 5;

function nullMinValid(name: string, label: string): SourceError {
  return new SourceError(
    `CHANGE_TRACKING_MIN_VALID_VERSION is NULL for ${name} on ${label}: change tracking is off for the table or the login lacks VIEW CHANGE TRACKING; ${notTrackedFix(name)}`,
  );
}

/** Begins a poll whose snapshot is the database at its version (see beginPollSql). */
export async function openPoll(ctx: PollContext, pin: TableRef | null, attempts = PIN_ATTEMPTS): Promise<SqlServerPollSession> {
  const pinName = pin ? qualifiedName(pin) : undefined;
  for (let attempt = 1; ; attempt++) {
    const [rec] = await ctx.run({ sql: beginPollSql(ctx.snapshot, pin), params: {} }, 'beginning the poll transaction', pinName);
    const v = versionOrNull(rec?.current_version, 'CHANGE_TRACKING_CURRENT_VERSION()');
    if (v === null) throw new SourceError(`CHANGE_TRACKING_CURRENT_VERSION() is NULL on ${ctx.label}: change tracking was disabled`);
    const before = versionOrNull(rec?.version_before, 'CHANGE_TRACKING_CURRENT_VERSION()');
    const identity = typeof rec?.source_identity === 'string' ? rec.source_identity : null;
    const pinned = !ctx.snapshot || pin !== null;
    if (!ctx.snapshot || pin === null || before === v) return new SqlServerPollSession(ctx, v, identity, pinned);
    await ctx.run({ sql: ABORT_POLL_SQL, params: {} }, 'rolling back a poll whose snapshot started after its version was read');
    if (attempt >= attempts) {
      throw new SourceUnavailableError(
        `SQL Server source ${ctx.label}: beginning a poll: the change tracking version moved between reading it and starting the snapshot ` +
          `(${before} -> ${v}, reading ${pinName}) in ${attempts} attempts in a row; the poll is retried`,
      );
    }
  }
}

/** One table's window in this session: its #temp table and where the last page ended. */
interface Window {
  name: string;
  since: bigint;
  last: { version: bigint; keyId: string; rn: bigint } | null;
}

export class SqlServerPollSession implements PollSession, SourceIdentity {
  private ended = false;
  private readonly windows = new Map<string, Window>();
  private readonly tempTables: string[] = [];
  /** the first min valid version this session saw of each table: a later rise means cleanup during the poll */
  private readonly minSeen = new Map<string, bigint>();

  constructor(
    private readonly ctx: PollContext,
    readonly currentVersion: bigint,
    readonly sourceIdentity: string | null,
    /** whether the snapshot is known to be at currentVersion (else the first table read pins it) */
    private pinned: boolean,
  ) {}

  private live(): void {
    if (this.ended) throw new SourceError('the poll session has ended');
  }

  /**
   * Starts the snapshot with a read of `table` when beginPoll had no table to do it with, and
   * checks that the version did not move meanwhile; if it did, the session's reads would show rows
   * newer than its version, so the poll must be retried.
   */
  private async pin(table: TableMeta): Promise<void> {
    if (this.pinned) return;
    const name = qualifiedName(table);
    const [rec] = await this.ctx.run({ sql: lateSnapshotPinSql(table), params: {} }, `starting the poll's snapshot with a read of ${name}`, name);
    this.pinned = true;
    const now = versionOrNull(rec?.current_version, 'CHANGE_TRACKING_CURRENT_VERSION()');
    if (now !== this.currentVersion) {
      throw new SourceUnavailableError(
        `SQL Server source ${this.ctx.label}: reading ${name}: the change tracking version moved from ${this.currentVersion} to ${now} before the poll's snapshot started; the poll is retried`,
      );
    }
  }

  async minValidVersion(table: TableMeta): Promise<bigint> {
    this.live();
    const name = qualifiedName(table);
    await this.pin(table);
    const [rec] = await this.ctx.run(
      { sql: MIN_VALID_VERSION_SQL, params: { qualifiedName: { sqlType: 'nvarchar', value: objectName(table) } } },
      `reading the min valid version of ${name}`,
      name,
    );
    const v = versionOrNull(rec?.min_valid_version, 'CHANGE_TRACKING_MIN_VALID_VERSION');
    if (v === null) throw nullMinValid(name, this.ctx.label);
    if (!this.minSeen.has(name)) this.minSeen.set(name, v);
    return v;
  }

  async changes(table: TableMeta, since: bigint, after: ChangePosition | null, limit: number): Promise<ChangeRow[]> {
    this.live();
    const name = qualifiedName(table);
    const info = await this.ctx.trackingInfo(table);
    await this.pin(table);
    let w = this.windows.get(name);
    if (!w || w.since !== since) w = await this.readWindow(table, info, since);
    // the position the previous page ended at is a seek on the row number; any other is compared by (version, key)
    const position: WindowPosition = after === null
      ? { rn: 0n }
      : w.last && after.version === w.last.version && keyId(after.key, table.key) === w.last.keyId
        ? { rn: w.last.rn }
        : { version: after.version, key: after.key };
    const st = windowPageStatement(table, w.name, { position, limit, columnIds: info.columnIds, commitTime: this.ctx.commitTime });
    const recs = await this.ctx.run(st, `reading the changes of ${name}`, name);
    const rows = recs.map((r) => decodeChangeRow(table, info, r));
    if (rows.length > 0) {
      const last = rows[rows.length - 1];
      const rn = versionOrNull(recs[recs.length - 1].ct_rn, 'window row number');
      w.last = rn === null ? null : { version: last.version, keyId: keyId(last.key, table.key), rn };
    }
    return rows;
  }

  /**
   * Reads the table's window (since, V] once into a window table, then checks that the table's min
   * valid version did not rise past `since` during the poll (retention cleanup deleting changes
   * while they were read, which a snapshot does not hide: the min valid version is metadata). A
   * `since` the session already knew to be below the min valid version is the caller's choice
   * (capture re-snapshots instead of reading it) and reads what CHANGETABLE still returns.
   */
  private async readWindow(table: TableMeta, info: TrackingInfo, since: bigint): Promise<Window> {
    const name = qualifiedName(table);
    const temp = windowTableName(this.tempTables.length);
    this.tempTables.push(temp);
    await this.ctx.run({ sql: createWindowTableSql(table, temp, info.keyCollations), params: {} }, `creating the change window of ${name} in tempdb`, name);
    const st = fillWindowStatement(table, temp, since, this.currentVersion, info.keyCollations);
    const [rec] = await this.ctx.run(st, `reading the changes of ${name} since version ${since}`, name);
    const before = versionOrNull(rec?.min_valid_before, 'CHANGE_TRACKING_MIN_VALID_VERSION');
    const afterRead = versionOrNull(rec?.min_valid_after, 'CHANGE_TRACKING_MIN_VALID_VERSION');
    if (before === null || afterRead === null) throw nullMinValid(name, this.ctx.label);
    const seen = this.minSeen.get(name) ?? before;
    if (!this.minSeen.has(name)) this.minSeen.set(name, seen);
    if (since >= seen && since < afterRead) {
      throw new SourceUnavailableError(
        `SQL Server source ${this.ctx.label}: changes of ${name} since version ${since} were cleaned up while the poll read them ` +
          `(min valid version rose from ${seen} to ${afterRead}); the poll is retried and re-snapshots the table`,
      );
    }
    const w: Window = { name: temp, since, last: null };
    this.windows.set(name, w);
    return w;
  }

  async snapshotChunk(table: TableMeta, afterKey: Row | null, limit: number): Promise<Row[]> {
    this.live();
    const name = qualifiedName(table);
    await this.pin(table);
    const recs = await this.ctx.run(snapshotChunkStatement(table, afterKey, limit), `reading a snapshot chunk of ${name}`, name);
    return recs.map((r) => decodeRow(table, r));
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.ctx.finish(true, this.tempTables);
  }
}
