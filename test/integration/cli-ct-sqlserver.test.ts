// `ctrelay ct enable|disable` for SQL Server URLs, through the real binary. Without --execute the
// commands only print T-SQL, so no SQL Server is needed: stdout must be exactly what
// src/sources/sqlserver/enable.ts generates (itself golden-tested in enable.test.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ctDisableScript, ctEnableScript } from '../../src/sources/sqlserver/enable.ts';

const BIN = fileURLToPath(new URL('../../bin/ctrelay.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ctrelay-ct-'));

function ctrelay(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CTRELAY_CONFIG: undefined },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const base = { retentionDays: 7, autoCleanup: true, trackColumns: true };

describe('ctrelay ct enable/disable for SQL Server', () => {
  it('prints the enable script of ctEnableScript for an mssql:// URL, with the defaults', () => {
    const r = ctrelay(['ct', 'enable', '--url', 'mssql://sa:x@h/db', 'dbo.t']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(ctEnableScript({ ...base, database: 'db', tables: [{ schema: 'dbo', table: 't' }] }));
  });

  it('passes retention, agent user, column tracking and cleanup options; a bare table name is in dbo', () => {
    const r = ctrelay([
      'ct', 'enable', '--url', 'sqlserver://admin:S3cret@sql1:14333/shop?encrypt=false',
      '--retention-days', '3', '--agent-user', 'ctrelay', '--no-track-columns', '--no-auto-cleanup',
      'orders', 'sales."order lines"',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(ctEnableScript({
      database: 'shop',
      tables: [{ schema: 'dbo', table: 'orders' }, { schema: 'sales', table: 'order lines' }],
      retentionDays: 3,
      autoCleanup: false,
      trackColumns: false,
      agentLogin: 'ctrelay',
    }));
    expect(r.stdout + r.stderr).not.toContain('S3cret');
  });

  it('prints the disable script of ctDisableScript', () => {
    let r = ctrelay(['ct', 'disable', '--url', 'mssql://sa:x@h/db', 'dbo.t']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(ctDisableScript({ database: 'db', tables: [{ schema: 'dbo', table: 't' }], databaseOff: true }));
    r = ctrelay(['ct', 'disable', '--url', 'mssql://sa:x@h/db', '--keep-database-setting', 't']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(ctDisableScript({ database: 'db', tables: [{ schema: 'dbo', table: 't' }], databaseOff: false }));
  });

  it('refuses a bad retention and a URL without database as config errors (exit 2)', () => {
    let r = ctrelay(['ct', 'enable', '--url', 'mssql://sa:x@h/db', '--retention-days', '0', 'dbo.t']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: .*retentionDays/);
    r = ctrelay(['ct', 'enable', '--url', 'mssql://sa:x@h', 'dbo.t']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/names no database/);
    expect(r.stdout).toBe('');
  });

  it('keeps SQL Server options off PostgreSQL and PostgreSQL-only commands off SQL Server', () => {
    let r = ctrelay(['ct', 'enable', '--url', 'postgres://u@127.0.0.1:1/x', '--execute', 'public.t']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--execute applies to SQL Server sources only/);
    r = ctrelay(['ct', 'status', '--url', 'mssql://sa:x@h/db']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ct status is for PostgreSQL/);
    r = ctrelay(['ct', 'cleanup', '--retention', '1 day', '--url', 'mssql://sa:x@h/db']);
    expect(r.code).toBe(2);
  });

  it('documents both engines in --help', () => {
    const r = ctrelay(['ct', 'enable', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['--retention-days', '--agent-user', '--execute', 'PostgreSQL', 'SQL Server', 'mssql://']) expect(r.stdout).toContain(s);
    expect(ctrelay(['ct', 'disable', '--help']).stdout).toContain('--keep-database-setting');
  });
});
