// A restore reuses version numbers: a database restored from a backup continues from the backup's
// version, and after more writes than were lost its version is above an old cursor again, where
// `V < cursor` sees nothing. The source's identity (database and recovery fork) must change, and
// capture must re-snapshot every table. Backup and restore run on the server's own disk; where the
// login may not (or the server cannot, e.g. Azure SQL Database) the case is skipped with the reason.
// NOT RUN YET against a SQL Server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasSourceIdentity, type ChangeSource } from '../../../../src/core/change-source.ts';
import { qualifiedName, type TableMeta } from '../../../../src/core/model.ts';
import { nLiteral, quoteIdent } from '../../../../src/drivers/sqlserver/quote.ts';
import { emptyState, readWindow, type CaptureState, type Page } from '../../../../src/capture/window.ts';
import { withDatabase } from '../../../support/source-harness-sqlserver.ts';
import { inPoll, query, settle, useCaseDatabase, type SqlServerCaseContext } from './support.ts';

const identityOf = (source: ChangeSource) => inPoll(source, async (s) => (hasSourceIdentity(s) ? s.sourceIdentity : null));

/** One capture window of `metas` through capture's own planner; returns its last page. */
async function captureWindow(source: ChangeSource, metas: TableMeta[], state: CaptureState): Promise<Page> {
  return inPoll(source, async (s) => {
    let last: Page | null = null;
    for await (const p of readWindow(s, metas, state, { maxBatchRows: 1000, snapshotChunkRows: 1000, db: 'db', topicOf: (x) => qualifiedName(x) })) last = p;
    return last!;
  });
}

const stateAfter = (p: Page): CaptureState => ({ seq: p.seq, version: p.version, tables: new Map(p.tables.map((x) => [x.table, { ...x, rows: 0 }])) });

export function restoreCases(ctx: () => SqlServerCaseContext): void {
  describe('SQL Server restore', () => {
    const cx = useCaseDatabase(ctx, 'ctr_restore', { kept: 'id int NOT NULL PRIMARY KEY, v int NULL' });
    let backupFile = '';
    let copy = '';
    let skipReason = '';

    beforeAll(async () => {
      const [paths] = await query<{ backup: string | null; data: string | null }>(ctx().url,
        "SELECT CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(400)) AS backup, CAST(SERVERPROPERTY('InstanceDefaultDataPath') AS nvarchar(400)) AS data");
      const dir = paths.backup ?? paths.data;
      if (!dir) skipReason = 'the server names no default backup or data directory (SERVERPROPERTY)';
      const sep = dir?.includes('\\') ? '\\' : '/';
      backupFile = `${dir}${dir?.endsWith(sep) ? '' : sep}${cx.db.name}.bak`;
    });

    // registered after useCaseDatabase's: runs before its drop, while the harness still holds the sources
    afterAll(async () => {
      if (copy) await query(ctx().url, `IF DB_ID(${nLiteral(copy)}) IS NOT NULL BEGIN ALTER DATABASE ${quoteIdent(copy)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteIdent(copy)}; END`).catch(() => undefined);
    });

    it('restored over itself, then written past the old cursor: a new identity, and capture re-snapshots every table', async (c) => {
      if (skipReason) return c.skip(skipReason);
      await cx.db.exec('INSERT INTO dbo.kept (id, v) VALUES (1, 1)');
      const backup = await settle(query(ctx().url, `BACKUP DATABASE ${quoteIdent(cx.db.name)} TO DISK = ${nLiteral(backupFile)} WITH COPY_ONLY, INIT`));
      if (backup) return c.skip(`BACKUP DATABASE is not possible here: ${backup.message}`);
      const captured = stateAfter(await captureWindow(cx.source, [cx.m.kept], emptyState()));
      const before = await identityOf(cx.source);
      expect(before).toMatch(/^sqlserver:[0-9A-Fa-f-]{36}\/[0-9A-Fa-f-]{36}$/);
      // writes after the backup: the cursor moves past the backup's version
      for (let i = 2; i <= 4; i++) await cx.db.exec(`INSERT INTO dbo.kept (id, v) VALUES (${i}, ${i})`);
      const cursor = stateAfter(await captureWindow(cx.source, [cx.m.kept], captured));
      await query(ctx().url, `ALTER DATABASE ${quoteIdent(cx.db.name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
RESTORE DATABASE ${quoteIdent(cx.db.name)} FROM DISK = ${nLiteral(backupFile)} WITH REPLACE, RECOVERY;
ALTER DATABASE ${quoteIdent(cx.db.name)} SET MULTI_USER;`);
      // the harness's own pooled connections died with the restore too
      for (let i = 0; i < 5 && (await settle(cx.db.exec('SELECT 1'))) !== null; i++);
      // more writes than were lost: the version is at or above the old cursor again
      for (let i = 10; i <= 20; i++) await cx.db.exec(`INSERT INTO dbo.kept (id, v) VALUES (${i}, ${i})`);
      // the source's connections died with the restore: the first poll may fail (transiently), the next works
      await settle(identityOf(cx.source));
      const after = await identityOf(cx.source);
      expect(after).not.toBeNull();
      expect(after).not.toBe(before);
      const next = await captureWindow(cx.source, [cx.m.kept], cursor);
      expect(next.version).toBeGreaterThanOrEqual(cursor.version);
      expect(next.resnapshots.map((r) => r.reason)).toEqual([expect.stringMatching(/^source identity changed/)]);
    });

    it('restored as another database: another identity', async (c) => {
      if (skipReason) return c.skip(skipReason);
      let files: { LogicalName: string; PhysicalName: string }[];
      try {
        files = await query(ctx().url, `RESTORE FILELISTONLY FROM DISK = ${nLiteral(backupFile)}`);
      } catch (err) {
        return c.skip(`no backup to restore from (the case before made it): ${(err as Error).message}`);
      }
      copy = `${cx.db.name}_copy`;
      const moves = files.map((f) => `MOVE ${nLiteral(f.LogicalName)} TO ${nLiteral(f.PhysicalName.replace(cx.db.name, copy))}`);
      await query(ctx().url, `RESTORE DATABASE ${quoteIdent(copy)} FROM DISK = ${nLiteral(backupFile)} WITH ${moves.join(', ')}, RECOVERY`);
      // the same tables and versions, another database: its versions say nothing about the first one's
      const other = await cx.db.createSource(withDatabase(cx.db.url, copy));
      const mine = await identityOf(cx.source);
      const theirs = await identityOf(other);
      expect(theirs).not.toBeNull();
      expect(theirs).not.toBe(mine);
    });
  });
}
