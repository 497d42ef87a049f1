import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { redactValue } from '../core/redact.ts';
import { loadConfig } from './load.ts';
import { errorOf, parse } from './parse.test-util.ts';

const GOOD = `
source:
  url: postgres://ctrelay:\${PGPASSWORD:-}@127.0.0.1:5432/app
  tables:
    - public.orders
    - name: public.customers
      excludeColumns: [notes]
kafka:
  brokers: 127.0.0.1:19092, 127.0.0.1:19093
standby:
  url: postgres://ctrelay:\${PGPASSWORD:-}@127.0.0.1:5432/standby
  schema: replica
`;


describe('parseConfig', () => {
  it('applies defaults and normalises', () => {
    const config = parse(GOOD, { PGPASSWORD: 'pw' });
    expect(config.source).toEqual({
      id: 'postgres-app',
      kind: 'postgres',
      url: 'postgres://ctrelay:pw@127.0.0.1:5432/app',
      tables: [
        { name: 'public.orders', schema: 'public', table: 'orders', excludeColumns: [] },
        { name: 'public.customers', schema: 'public', table: 'customers', excludeColumns: ['notes'] },
      ],
      pollIntervalMs: 200,
      maxBatchRows: 5000,
      maxBatchBytes: 64 << 20,
      snapshotChunkRows: 10000,
    });
    expect(config.kafka).toEqual({
      brokers: ['127.0.0.1:19092', '127.0.0.1:19093'],
      topicPrefix: 'ctrelay',
      partitions: 3,
      replicationFactor: 1,
      clientId: 'ctrelay',
      chunkBytes: (1 << 20) - (64 << 10),
    });
    expect(config.mode).toBe('async');
    expect(config.sync).toEqual({ timeoutMs: 5000, policy: 'degrade' });
    expect(config.standby).toMatchObject({ id: 'postgres-standby', kind: 'postgres', schema: 'replica', mergeBatches: 10 });
    expect(config.http).toEqual({
      capture: { host: '127.0.0.1', port: 9464 },
      apply: { host: '127.0.0.1', port: 9465 },
      archive: { host: '127.0.0.1', port: 9466 },
    });
    expect(config.archive).toEqual({ segmentBytes: 64 << 20, segmentMs: 60_000, codec: 'deflate' });
    expect(config.log.level).toBe('info');
  });

  it('infers kind from the URL and accepts SQL Server sources', () => {
    const config = parse('source: {url: "mssql://sa:pw@sql1:1433/app", tables: [dbo.t]}\nkafka: {brokers: [k:9092]}\n');
    // with the options only a SQL Server source has, at their defaults (config-source-options.test.ts)
    expect(config.source).toMatchObject({ kind: 'sqlserver', id: 'sqlserver-app', allowNonSnapshot: false, commitTime: 'utc' });
  });

  it('types a plain scalar that is one ${VAR} like YAML would, but keeps quoted ones strings', () => {
    // (a plain ${...} cannot appear inside a {flow: mapping}: YAML reserves { and } there)
    const text = `${GOOD}http:\n  capture:\n    port: \${PORT}\n`;
    expect(parse(text, { PORT: '0' }).http.capture.port).toBe(0);
    const quoted = `${GOOD}http:\n  capture:\n    port: "\${PORT}"\n`;
    expect(errorOf(quoted, { PORT: '0' })).toContain('http.capture.port: expected a TCP port number');
  });

  it('uses ${VAR:-default} when unset or empty', () => {
    const text = GOOD.replace('127.0.0.1:19092, 127.0.0.1:19093', '${BROKERS:-localhost:9092}');
    expect(parse(text).kafka.brokers).toEqual(['localhost:9092']);
    expect(parse(text, { BROKERS: '' }).kafka.brokers).toEqual(['localhost:9092']);
    expect(parse(text, { BROKERS: 'a:1,b:2' }).kafka.brokers).toEqual(['a:1', 'b:2']);
  });

  it('keeps $${ as a literal ${ and ignores references in comments', () => {
    const text = `# url: \${NOT_SET}\n${GOOD}`;
    const withEscape = text.replace('app\n', () => 'app?application_name=$${app}\n');
    expect(parse(withEscape).source.url).toBe('postgres://ctrelay:@127.0.0.1:5432/app?application_name=${app}');
  });

  it('names an unset variable and the key that uses it', () => {
    const message = errorOf(GOOD.replace('${PGPASSWORD:-}@127.0.0.1:5432/app', '${PGPASS}@h/app'));
    expect(message).toMatch(/^config ctrelay\.yaml: source\.url: environment variable PGPASS is not set/);
    expect(message).toContain('(line 3)');
  });

  it('reports YAML syntax errors with line and column', () => {
    const message = errorOf('source:\n  url: x\n  tables: [a.b\nkafka: 1\n');
    expect(message).toMatch(/^config ctrelay\.yaml: line 4, column 1: YAML syntax error: /);
    expect(errorOf('a: 1\na: 2\n')).toMatch(/line 2, column 1: YAML syntax error: Map keys must be unique/);
  });

  it('rejects unknown keys with a suggestion', () => {
    expect(errorOf(`${GOOD}sourc: {}\n`)).toBe(
      'config ctrelay.yaml: unknown key "sourc" at top level (did you mean "source"?) (line 13)',
    );
    const nested = errorOf(GOOD.replace('  tables:', '  pollIntervalMS: 100\n  tables:'));
    expect(nested).toContain('unknown key "pollIntervalMS" in source (did you mean "pollIntervalMs"?) (line 4)');
    const inTable = errorOf(GOOD.replace('excludeColumns: [notes]', 'exclude: [notes]'));
    expect(inTable).toContain('unknown key "exclude" in source.tables[1] (did you mean "excludeColumns"?)');
  });

  it('names the key and the expected form for wrong types', () => {
    expect(errorOf(GOOD.replace(/url: postgres:\/\/ctrelay:\$\{PGPASSWORD:-\}@127.0.0.1:5432\/app/, 'url: 42'))).toBe(
      'config ctrelay.yaml: source.url: expected a connection URL (postgres://... or mssql://...), got 42 (line 3)',
    );
    expect(errorOf(`${GOOD}mode: fast\n`)).toContain('mode: expected "async" or "sync", got "fast"');
    expect(errorOf(`${GOOD}sync: {timeoutMs: -1}\n`)).toContain('sync.timeoutMs: expected a positive integer (milliseconds), got -1');
    expect(errorOf(GOOD.replace('    - public.orders', '    - orders'))).toContain(
      'source.tables[0]: invalid table name "orders": expected schema.table, got one name (write public.orders for the default schema)',
    );
    expect(errorOf(GOOD.replace('    - public.orders', '    - 42'))).toContain('source.tables[0]: expected a table: "schema.table"');
    expect(errorOf(GOOD.replace('127.0.0.1:19092, 127.0.0.1:19093', '"kafka"'))).toContain(
      'kafka.brokers[0]: expected a broker address "host:port", got "kafka"',
    );
    expect(errorOf('kafka: {brokers: k:1}\n')).toContain('source: missing; expected a mapping with url and tables');
    expect(errorOf('- a\n')).toContain('expected a mapping');
    expect(errorOf('')).toContain('the file is empty');
  });

  it('checks connection URLs: parseable, known scheme, matching kind', () => {
    const withUrl = (url: string, extra = '') =>
      errorOf(GOOD.replace('postgres://ctrelay:${PGPASSWORD:-}@127.0.0.1:5432/app', url).replace('  url: "', '  url: "') + extra);
    expect(withUrl('"localhost:5432"')).toContain('source.url: expected a connection URL (postgres://... or mssql://...), got "localhost:5432"');
    expect(withUrl('http://x/y')).toContain('unsupported scheme "http:"');
    expect(withUrl('mysql://u:pw@h/db')).toContain('mariadb is not supported here');
    const mismatch = errorOf(GOOD.replace('source:\n', 'source:\n  kind: sqlserver\n'));
    expect(mismatch).toContain('source.url: expected a mssql:// or sqlserver:// URL because kind is "sqlserver", got a postgres:// URL');
  });

  it('never echoes a password in an error', () => {
    const message = errorOf(
      GOOD.replace('postgres://ctrelay:${PGPASSWORD:-}@127.0.0.1:5432/app', 'oracle://scott:tiger@h/db'),
    );
    expect(message).toContain('oracle://scott:***@h/db');
    expect(message).not.toContain('tiger');
  });

  it('lists several problems, in file order', () => {
    const message = errorOf('source:\n  url: 42\n  tables: []\nkafka:\n  brokers: []\n  partitions: 0\n');
    expect(message.split('\n')).toEqual([
      'config ctrelay.yaml: 4 problems:',
      '  - source.url: expected a connection URL (postgres://... or mssql://...), got 42 (line 2)',
      '  - source.tables: expected a non-empty list of tables ("schema.table" or { name, excludeColumns } or { schema, table, excludeColumns }), got an empty list (line 3)',
      '  - kafka.brokers: expected a list of brokers "host:port" (or one comma-separated string), got an empty list (line 5)',
      '  - kafka.partitions: expected a positive integer (partitions per data topic), got 0 (line 6)',
    ]);
  });

  it('redacts the effective config for printing', () => {
    const config = parse(GOOD, { PGPASSWORD: 'Sup3rS3cret' });
    const printed = JSON.stringify(redactValue(config));
    expect(printed).not.toContain('Sup3rS3cret');
    expect(printed).toContain('postgres://ctrelay:***@127.0.0.1:5432/app');
  });
});

describe('table names in the source\'s own quoting', () => {
  const withTables = (url: string, tables: string, standby = '') =>
    `source:\n  url: ${url}\n  tables:\n${tables}\nkafka:\n  brokers: k:1\n${standby}`;
  const PG = 'postgres://u@h/app';
  const MSSQL = 'mssql://sa:pw@h/app';

  it('PostgreSQL: quoted, unquoted (folded), unicode, reserved words, and the object forms', () => {
    const config = parse(
      withTables(
        PG,
        [
          `    - '"Sales Ops"."Order Lines"'`,
          `    - { schema: MixedCase, table: select, excludeColumns: [note] }`,
          `    - public.注文明細`,
          `    - Sales.ORDERS`,
          `    - '"a.b"."c"'`,
          `    - 'a."b c"'`,
          `    - a.b_c`,
          `    - { name: '"MixedCase"."Select"' }`,
        ].join('\n'),
      ),
    );
    expect(config.source.tables.map(({ schema, table }) => [schema, table])).toEqual([
      ['Sales Ops', 'Order Lines'], ['MixedCase', 'select'], ['public', '注文明細'], ['sales', 'orders'], ['a.b', 'c'], ['a', 'b c'], ['a', 'b_c'], ['MixedCase', 'Select'],
    ]);
    expect(config.source.tables[0].name).toBe('"Sales Ops"."Order Lines"');
    expect(config.source.tables[1]).toEqual({ name: '"MixedCase".select', schema: 'MixedCase', table: 'select', excludeColumns: ['note'] });
    expect(config.source.tables[3].name).toBe('sales.orders');
  });

  it('SQL Server: [brackets], "double quotes", case kept', () => {
    const config = parse(withTables(MSSQL, `    - dbo.[Order Details]\n    - '[Sales Ops]."Order ]Lines"'\n    - Sales.Orders\n    - '[a]]b].[c.d]'`));
    expect(config.source.tables.map(({ schema, table, name }) => [schema, table, name])).toEqual([
      ['dbo', 'Order Details', 'dbo.[Order Details]'],
      ['Sales Ops', 'Order ]Lines', '[Sales Ops].[Order ]]Lines]'],
      ['Sales', 'Orders', 'Sales.Orders'],
      ['a]b', 'c.d', '[a]]b].[c.d]'],
    ]);
  });

  it('standby.tables names follow the source\'s rules, in both forms', () => {
    const config = parse(
      withTables(PG, `    - '"Sales Ops"."Order Lines"'`, `standby:\n  url: mysql://root@h/s\n  tables:\n    - { name: '"Sales Ops"."Order Lines"', textColumns: [x] }\n    - { schema: A, table: 'b c', excludeColumns: [y] }\n`),
    );
    expect(config.standby!.tables).toEqual([
      { name: '"Sales Ops"."Order Lines"', schema: 'Sales Ops', table: 'Order Lines', excludeColumns: [], textColumns: ['x'] },
      { name: '"A"."b c"', schema: 'A', table: 'b c', excludeColumns: ['y'], textColumns: [] },
    ]);
    expect(errorOf(withTables(PG, '    - a.b', `standby:\n  url: mysql://root@h/s\n  tables:\n    - { name: 'a.b c' }\n`))).toContain(
      'standby.tables[0].name: invalid table name "a.b c": unexpected "c" at position 5; names with spaces or other characters need quotes',
    );
  });

  it('names what is wrong with a table entry', () => {
    expect(errorOf(withTables(PG, `    - 'a.b c'`))).toContain('source.tables[0]: invalid table name "a.b c": unexpected "c" at position 5');
    expect(errorOf(withTables(PG, `    - '"a"".b'`))).toContain('source.tables[0]: invalid table name "\\"a\\"\\".b": " at position 1 is never closed');
    expect(errorOf(withTables(PG, `    - 'x.""'`))).toContain('is an empty name');
    expect(errorOf(withTables(PG, `    - db.s.t`))).toContain('got more parts');
    expect(errorOf(withTables(PG, `    - { schema: s }`))).toContain('source.tables[0]: missing table (give both schema and table)');
    expect(errorOf(withTables(PG, `    - { schema: s, table: '', name: s.t }`))).toContain('give either name or schema and table, not both');
    expect(errorOf(withTables(PG, `    - { schema: s, table: '' }`))).toContain('source.tables[0]: invalid table name "": it is empty');
    expect(errorOf(withTables(PG, `    - s.t\n    - '"s"."t"'`))).toContain('source.tables[1]: table s.t is listed twice (also at [0])');
    // distinct in PostgreSQL: "T" is not t
    expect(parse(withTables(PG, `    - s.t\n    - '"s"."T"'`)).source.tables).toHaveLength(2);
    expect(errorOf(withTables(PG, `    - '"a.b".c'\n    - 'a."b.c"'`))).toContain('both named a.b.c in the batch log');
    expect(errorOf(withTables(PG, `    - a_b.c\n    - a.b_c`))).toContain('which Kafka refuses to have side by side');
    // PostgreSQL keeps 63 bytes of a name (and would truncate a longer one): refused rather than guessed
    expect(parse(withTables(PG, `    - 'x."${'ü'.repeat(31)}a"'`)).source.tables[0].table).toBe(`${'ü'.repeat(31)}a`);
    expect(errorOf(withTables(PG, `    - 'x."${'ü'.repeat(32)}"'`))).toContain('is 64 bytes long: PostgreSQL keeps at most 63 bytes');

  });

  it('refuses a table whose topic name would exceed Kafka\'s 249 characters, naming it', () => {
    const name = '注'.repeat(21); // 63 bytes of UTF-8: each byte takes 3 characters of the topic name
    const message = errorOf(withTables(PG, `    - 'public."${name}"'\n    - '"${name}"."${name}"'`));
    expect(message).toContain(`source.tables[1]: table "${name}"."${name}": its topic name would be 387 characters`);
    expect(message).toContain('Kafka allows 249');
    expect(message).not.toContain('source.tables[0]');
  });
});

describe('loadConfig', () => {
  it('reads a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctrelay-config-'));
    const file = join(dir, 'ctrelay.yaml');
    await writeFile(file, GOOD);
    expect((await loadConfig(file, { env: {} })).source.id).toBe('postgres-app');
  });

  it('names a missing file', async () => {
    await expect(loadConfig('does-not-exist/ctrelay.yaml')).rejects.toThrow(
      /^missing file does-not-exist\/ctrelay\.yaml/,
    );
    await expect(loadConfig('does-not-exist/ctrelay.yaml')).rejects.toBeInstanceOf(ConfigError);
  });

  it('rejects a directory', async () => {
    await expect(loadConfig(tmpdir())).rejects.toThrow(/is a directory/);
  });
});
