// The CLI as an operator meets it: a real process, exit codes, and what reaches stderr.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/ctrelay.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ctrelay-cli-'));

const GOOD = `source:
  url: postgres://ctrelay:\${PGPASSWORD:-}@127.0.0.1:5432/app
  tables: [public.orders]
kafka:
  brokers: 127.0.0.1:19092
`;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function ctrelay(args: string[], env: Record<string, string | undefined> = {}) {
  // cwd is the temp dir: the binary must not depend on being run from the repository.
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CTRELAY_CONFIG: undefined, PGPASSWORD: undefined, ...env },
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectConfigError(args: string[], ...fragments: (string | RegExp)[]) {
  const { code, stdout, stderr } = ctrelay(args);
  expect(code, stderr).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toMatch(/^error: /);
  for (const f of fragments) expect(stderr).toMatch(f);
  expect(stderr).not.toMatch(/^ {4}at /m);
}

describe('ctrelay config check', () => {
  it('prints the effective config with defaults and without the password, exit 0', () => {
    const { code, stdout, stderr } = ctrelay(['config', 'check', '-c', file('good.yaml', GOOD)], {
      PGPASSWORD: 'Sup3rS3cret',
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('url: postgres://ctrelay:***@127.0.0.1:5432/app');
    expect(stdout).toContain('pollIntervalMs: 200');
    expect(stdout).toContain('id: postgres-app');
    expect(stdout + stderr).not.toContain('Sup3rS3cret');
  });

  it('finds the file through CTRELAY_CONFIG, and prints JSON on request', () => {
    const { code, stdout } = ctrelay(['config', 'check', '--json'], { CTRELAY_CONFIG: file('env.yaml', GOOD) });
    expect(code).toBe(0);
    expect(JSON.parse(stdout).kafka.brokers).toEqual(['127.0.0.1:19092']);
  });

  it('accepts the shipped example', () => {
    const example = fileURLToPath(new URL('../../examples/ctrelay.yaml', import.meta.url));
    expect(ctrelay(['config', 'check', '-c', example]).code).toBe(0);
  });

  it('accepts a SQL Server standby, by kind or by its mssql:// or sqlserver:// URL alone (no connection is made)', () => {
    const standby = (lines: string) => `${GOOD}standby:\n${lines}`;
    const byUrl = ctrelay(['config', 'check', '--json', '-c', file('mssql-standby.yaml', standby('  url: mssql://ctrelay_apply:S3cr3t@standby-host:1433/shop?encrypt=true\n  schema: dbo\n'))]);
    expect(byUrl.code, byUrl.stderr).toBe(0);
    expect(JSON.parse(byUrl.stdout).standby).toMatchObject({ id: 'sqlserver-shop', kind: 'sqlserver', schema: 'dbo' });
    expect(byUrl.stdout).not.toContain('S3cr3t');
    const byKind = ctrelay(['config', 'check', '--json', '-c', file('sqlserver-standby.yaml', standby('  kind: sqlserver\n  url: sqlserver://sa:pw@standby-host/shop\n'))]);
    expect(byKind.code, byKind.stderr).toBe(0);
    expect(JSON.parse(byKind.stdout).standby.kind).toBe('sqlserver');
    expectConfigError(['config', 'check', '-c', file('mismatch-standby.yaml', standby('  kind: sqlserver\n  url: postgres://u@h/db\n'))],
      'standby.url: expected a mssql:// or sqlserver:// URL because kind is "sqlserver", got a postgres:// URL');
  });

  it('names a missing file', () => {
    expectConfigError(['config', 'check'], 'missing file ctrelay.yaml');
    expectConfigError(['config', 'check', '-c', 'nope.yaml'], 'missing file nope.yaml');
  });

  it('names the line of a YAML syntax error', () => {
    const path = file('syntax.yaml', 'source:\n  url: x\n  tables: [a.b\nkafka: 1\n');
    expectConfigError(['config', 'check', '-c', path], /line 4, column 1: YAML syntax error/);
  });

  it('names an unknown key and suggests the right one', () => {
    const path = file('typo.yaml', `${GOOD}sourc: {}\n`);
    expectConfigError(['config', 'check', '-c', path], 'unknown key "sourc" at top level (did you mean "source"?)');
  });

  it('names the key and expected form of a wrong value', () => {
    const path = file('type.yaml', GOOD.replace(/url: .*/, 'url: 42'));
    expectConfigError(
      ['config', 'check', '-c', path],
      'source.url: expected a connection URL (postgres://... or mssql://...), got 42',
    );
  });

  it('names an unset environment variable', () => {
    const path = file('env-unset.yaml', GOOD.replace('${PGPASSWORD:-}', '${PGPASS}'));
    expectConfigError(['config', 'check', '-c', path], 'source.url: environment variable PGPASS is not set');
  });

  it('exits 2 on usage errors', () => {
    const { code, stderr } = ctrelay(['config', 'check', '--no-such-option']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown option '--no-such-option'");
    expect(ctrelay(['no-such-command']).code).toBe(2);
    // also when asked for help: an unknown command is never answered with the root help
    const help = ctrelay(['no-such-command', '--help']);
    expect(help.code).toBe(2);
    expect(help.stderr).toContain("unknown command 'no-such-command'");
    expect(help.stdout).toBe('');
    expect(ctrelay(['ct', 'no-such', '--help']).code).toBe(2);
    expect(ctrelay(['--log-level', 'loud', 'config', 'check']).code).toBe(2);
  });
});

describe('ctrelay config check: table names in the source\'s own quoting', () => {
  const withTables = (url: string, tables: string) => `source:\n  url: ${url}\n  tables:\n${tables}\nkafka:\n  brokers: 127.0.0.1:19092\n`;
  const refs = (out: string) => JSON.parse(out).source.tables.map((t: { schema: string; table: string }) => [t.schema, t.table]);

  it('reads PostgreSQL names quoted, unquoted (folded) and as { schema, table }, to the same tables', () => {
    const quoted = ctrelay(['config', 'check', '--json', '-c', file('pg-quoted.yaml', withTables('postgres://u@h/app', [
      `    - '"Sales Ops"."Order Lines"'`, `    - '"MixedCase".select'`, `    - PUBLIC.注文明細`, `    - 'a."b c"'`, `    - '"a.b"."c"'`,
    ].join('\n')))]);
    const objects = ctrelay(['config', 'check', '--json', '-c', file('pg-objects.yaml', withTables('postgres://u@h/app', [
      `    - { schema: Sales Ops, table: Order Lines }`, `    - { schema: MixedCase, table: select }`, `    - { schema: public, table: 注文明細 }`,
      `    - { name: 'a."b c"' }`, `    - { schema: a.b, table: c, excludeColumns: [x] }`,
    ].join('\n')))]);
    expect(quoted.code, quoted.stderr).toBe(0);
    expect(objects.code, objects.stderr).toBe(0);
    expect(refs(quoted.stdout)).toEqual([['Sales Ops', 'Order Lines'], ['MixedCase', 'select'], ['public', '注文明細'], ['a', 'b c'], ['a.b', 'c']]);
    expect(refs(objects.stdout)).toEqual(refs(quoted.stdout));
    expect(JSON.parse(quoted.stdout).source.tables[0].name).toBe('"Sales Ops"."Order Lines"');
  });

  it('reads SQL Server [brackets] and "double quotes", case kept', () => {
    const r = ctrelay(['config', 'check', '--json', '-c', file('mssql.yaml', withTables('mssql://sa:pw@h/Northwind', "    - dbo.[Order Details]\n    - '\"Sales\".\"Order \"\"Lines\"\"\"'"))]);
    expect(r.code, r.stderr).toBe(0);
    expect(refs(r.stdout)).toEqual([['dbo', 'Order Details'], ['Sales', 'Order "Lines"']]);
  });

  it('names the table and the problem', () => {
    expectConfigError(['config', 'check', '-c', file('bad-name.yaml', withTables('postgres://u@h/app', '    - Sales Ops.Order Lines'))],
      'source.tables[0]: invalid table name "Sales Ops.Order Lines": unexpected "O" at position 7; names with spaces or other characters need quotes');
    const long = '注'.repeat(21);
    expectConfigError(['config', 'check', '-c', file('long.yaml', withTables('postgres://u@h/app', `    - '"${long}"."${long}"'`))],
      `table "${long}"."${long}": its topic name would be 387 characters`, 'Kafka allows 249');
    expectConfigError(['config', 'check', '-c', file('collide.yaml', withTables('postgres://u@h/app', '    - a_b.c\n    - a.b_c'))], 'which Kafka refuses to have side by side');
  });
});

describe('ctrelay help and version', () => {
  it('--help on the root lists the commands and global options', () => {
    const { code, stdout } = ctrelay(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: ctrelay');
    expect(stdout).toContain('config');
    expect(stdout).toContain('-c, --config <file>');
    expect(stdout).toContain('--log-level <level>');
  });

  it('--help on config check', () => {
    const { code, stdout } = ctrelay(['config', 'check', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: ctrelay config check');
    expect(stdout).toContain('--json');
    expect(stdout).toContain('-c, --config <file>');
  });

  it('--version prints the package version', () => {
    const { code, stdout } = ctrelay(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
