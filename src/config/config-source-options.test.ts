// The options every README and error message names are settable, and only where they act:
// source.allowNonSnapshot and source.commitTime for SQL Server sources; kafka.schemaRegistry, which
// nothing reads, is not an option.
import { describe, expect, it } from 'vitest';
import { errorOf, parse } from './parse.test-util.ts';

const MSSQL = 'source:\n  url: mssql://sa:pw@sql1:1433/app\n  tables: [dbo.t]\n';
const PG = 'source:\n  url: postgres://u@h/app\n  tables: [public.t]\n';
const KAFKA = 'kafka:\n  brokers: [k:9092]\n';

describe('source options of a SQL Server source', () => {
  it('defaults: snapshot isolation required, commit times read as UTC', () => {
    expect(parse(MSSQL + KAFKA).source).toMatchObject({ allowNonSnapshot: false, commitTime: 'utc', pollTimeoutMs: 1_800_000 });
  });

  it('takes pollTimeoutMs (0 = no limit) and refuses a negative one, naming the key', () => {
    expect(parse(`${MSSQL}  pollTimeoutMs: 0\n${KAFKA}`).source).toMatchObject({ pollTimeoutMs: 0 });
    expect(errorOf(`${MSSQL}  pollTimeoutMs: -1\n${KAFKA}`)).toContain('source.pollTimeoutMs');
    expect(errorOf(`${PG}  pollTimeoutMs: 1000\n${KAFKA}`)).toContain('source.pollTimeoutMs: only for a SQL Server source');
  });

  it('takes allowNonSnapshot and every commitTime mode', () => {
    for (const mode of ['utc', 'server-local', 'off'] as const) {
      const source = parse(`${MSSQL}  allowNonSnapshot: true\n  commitTime: ${mode}\n${KAFKA}`).source;
      expect(source).toMatchObject({ allowNonSnapshot: true, commitTime: mode });
    }
  });

  it('names the key and the expected values of a wrong one', () => {
    expect(errorOf(`${MSSQL}  commitTime: local\n${KAFKA}`)).toContain('source.commitTime: expected "utc", "server-local" or "off"');
    expect(errorOf(`${MSSQL}  allowNonSnapshot: "yes"\n${KAFKA}`)).toContain('source.allowNonSnapshot: expected true or false');
  });

  it('refuses them on a PostgreSQL source, naming the key (they would be ignored there)', () => {
    expect(errorOf(`${PG}  allowNonSnapshot: true\n${KAFKA}`)).toContain(
      'source.allowNonSnapshot: only for a SQL Server source (an mssql:// or sqlserver:// URL); this source is postgres: remove it',
    );
    expect(errorOf(`${PG}  commitTime: off\n${KAFKA}`)).toContain('source.commitTime: only for a SQL Server source');
    // and a PostgreSQL source shows neither
    expect(parse(PG + KAFKA).source).not.toHaveProperty('commitTime');
  });
});

describe('kafka.schemaRegistry', () => {
  it('is not an option: nothing reads it', () => {
    expect(errorOf(`${PG}${KAFKA}  schemaRegistry: {url: "http://r:8081"}\n`)).toContain('unknown key "schemaRegistry" in kafka');
  });
});
