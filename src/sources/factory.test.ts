// The config's source section reaches the source it names: SQL Server's own options included.
import { describe, expect, it } from 'vitest';
import { parse } from '../config/parse.test-util.ts';
import { createSource } from './factory.ts';
import { PostgresSource } from './postgres/source.ts';
import { SqlServerSource } from './sqlserver/source.ts';

const optionsOf = (s: unknown) => (s as { options: Record<string, unknown> }).options;

describe('createSource', () => {
  it('gives a SQL Server source source.allowNonSnapshot and source.commitTime from the config, without connecting', () => {
    const config = parse('source:\n  url: mssql://u:p@127.0.0.1:1/app\n  tables: [dbo.t]\n  allowNonSnapshot: true\n  commitTime: server-local\nkafka: {brokers: [k:9092]}\n');
    const s = createSource(config.source);
    expect(s).toBeInstanceOf(SqlServerSource);
    expect(optionsOf(s)).toMatchObject({ url: 'mssql://u:p@127.0.0.1:1/app', allowNonSnapshot: true, commitTime: 'server-local' });
    // the defaults when the file says nothing
    const plain = createSource(parse('source: {url: "mssql://u:p@127.0.0.1:1/app", tables: [dbo.t]}\nkafka: {brokers: [k:9092]}\n').source);
    expect(optionsOf(plain)).toMatchObject({ allowNonSnapshot: false, commitTime: 'utc' });
  });

  it('gives a PostgreSQL source its URL', () => {
    expect(createSource({ kind: 'postgres', url: 'postgres://u@127.0.0.1:1/app' })).toBeInstanceOf(PostgresSource);
  });
});
