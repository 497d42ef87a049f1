// The standby kinds the CLI can reach: every kind config accepts gets its dialect, from its name or
// its URL scheme, without connecting anywhere (nothing listens on these URLs).
import { describe, expect, it } from 'vitest';
import { StandbyError } from '../core/errors.ts';
import { createDialect, kindFromUrl, STANDBY_KINDS } from './create-dialect.ts';
import { MariaDbDialect } from './mariadb/mariadb-dialect.ts';
import { PostgresDialect } from './postgres/postgres-dialect.ts';
import { SqlServerDialect } from './sqlserver/sqlserver-dialect.ts';

describe('createDialect', () => {
  it('returns the SQL Server dialect for sqlserver and mssql, without connecting', () => {
    for (const kind of ['sqlserver', 'mssql', 'SQLServer']) {
      const d = createDialect(kind, 'mssql://ctrelay:s3cret@127.0.0.1:1/standby?encrypt=false');
      expect(d).toBeInstanceOf(SqlServerDialect);
      expect(d.kind).toBe('sqlserver');
      expect((d as SqlServerDialect).connected).toBe(false);
      expect((d as SqlServerDialect).where).toBe('SQL Server standby 127.0.0.1:1/standby');
    }
  });

  it('has a dialect for every kind config accepts for standby.kind', () => {
    const urls = { postgres: 'postgres://u@127.0.0.1:1/db', mariadb: 'mysql://u@127.0.0.1:1/db', sqlserver: 'sqlserver://u:p@127.0.0.1:1/db' };
    expect([...STANDBY_KINDS].sort()).toEqual(['mariadb', 'postgres', 'sqlserver']);
    expect(createDialect('postgres', urls.postgres)).toBeInstanceOf(PostgresDialect);
    expect(createDialect('mariadb', urls.mariadb)).toBeInstanceOf(MariaDbDialect);
    expect(createDialect('sqlserver', urls.sqlserver)).toBeInstanceOf(SqlServerDialect);
  });

  it('refuses an unknown kind naming it, without the password', () => {
    const err = (() => {
      try {
        createDialect('oracle', 'oracle://u:s3cret@h/db');
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(StandbyError);
    expect(err!.message).toContain('unknown standby kind "oracle"');
    expect(err!.message).toContain('sqlserver, mssql');
    expect(err!.message).not.toContain('s3cret');
  });
});

describe('kindFromUrl', () => {
  it.each([
    ['mssql://u:p@h:1433/db', 'sqlserver'],
    ['sqlserver://u:p@h/db', 'sqlserver'],
    ['postgresql://h/db', 'postgres'],
    ['mariadb://h/db', 'mariadb'],
    ['mysql://h/db', 'mariadb'],
    ['oracle://h/db', undefined],
    ['not a url', undefined],
  ])('%s -> %s', (url, kind) => {
    expect(kindFromUrl(url)).toBe(kind);
  });
});
