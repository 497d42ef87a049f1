// Where the applier puts a source table on each standby kind (targetNamer).
import { describe, expect, it } from 'vitest';
import type { TableMeta } from '../core/model.ts';
import { targetNamer } from './run.ts';

const table = (schema: string, name: string): TableMeta => ({ schema, table: name, key: ['id'], columns: [{ name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' }] });
const orders = table('dbo', 'orders');

describe('targetNamer', () => {
  it('a SQL Server standby keeps the source schema in the URL database, or standby.schema', () => {
    expect(targetNamer('sqlserver', 'mssql://u:p@h/standby')(orders)).toEqual({ schema: 'dbo', table: 'orders' });
    expect(targetNamer('sqlserver', 'mssql://u:p@h/standby', 'replica')(orders)).toEqual({ schema: 'replica', table: 'orders' });
    // never the URL's database as a schema (that is MariaDB's rule)
    expect(targetNamer('mssql', 'sqlserver://u:p@h/standby')(table('public', 't'))).toEqual({ schema: 'public', table: 't' });
  });

  it('PostgreSQL as SQL Server; MariaDB puts tables in standby.schema, else the URL database, else the source schema', () => {
    expect(targetNamer('postgres', 'postgres://h/standby')(orders)).toEqual({ schema: 'dbo', table: 'orders' });
    expect(targetNamer('mariadb', 'mysql://h/standby')(orders)).toEqual({ schema: 'standby', table: 'orders' });
    expect(targetNamer('mariadb', 'mysql://h/standby', 'rep')(orders)).toEqual({ schema: 'rep', table: 'orders' });
    expect(targetNamer('mariadb', 'mysql://h')(orders)).toEqual({ schema: 'dbo', table: 'orders' });
  });
});
