// Properties of the SQL Server standby's statements (no SQL Server runs here): identifiers are
// quoted wherever they appear, values only travel as typed parameters, chunks stay inside SQL
// Server's limits, and what must run as a batch (session scope) carries no parameters.
import { describe, expect, it } from 'vitest';
import { StandbyError } from '../../core/errors.ts';
import type { ColumnMeta, ColumnType, Row, TableMeta } from '../../core/model.ts';
import type { Statement } from '../../sources/sqlserver/sql.ts';
import { lines, orders } from '../../sources/sqlserver/fixtures.test-util.ts';
import * as T from './sqlserver-statements.ts';
import { objectName } from '../../drivers/sqlserver/quote.ts';
import { plainShape, writeShape } from '../write-shape.ts';
import type { StandbyColumn } from '../dialect.ts';
import { ddlType } from './sqlserver-types.ts';

const col = (name: string, type: ColumnType, nullable = true): ColumnMeta => ({ name, type, nullable, sourceType: type.kind });

const PAYLOAD = 'DROP TABLE victim; --';
/** every identifier hostile: `]` to close the quoting, `;` and a statement after it */
const hostile: TableMeta = {
  schema: `s]; ${PAYLOAD}`,
  table: `t]; ${PAYLOAD}`,
  key: [`k]; ${PAYLOAD}`, 'id'],
  columns: [
    col('id', { kind: 'int64' }, false),
    col(`k]; ${PAYLOAD}`, { kind: 'string', maxLength: 20 }, false),
    col(`v]; ${PAYLOAD}`, { kind: 'decimal', precision: 10, scale: 2 }),
    col(`ident]`, { kind: 'int32' }, false),
  ],
};
const state = { sourceId: `src'; ${PAYLOAD}`, batchSeq: 9007199254740993n, version: 9223372036854775807n, batchOffset: 0n };

/** A canonical value of the type (its exact form does not matter to these tests). */
function sample(t: ColumnType): Row[string] {
  switch (t.kind) {
    case 'int64':
      return 1n;
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
      return 1;
    case 'boolean':
      return true;
    case 'bytes':
      return Buffer.from([1]);
    default:
      return '1';
  }
}

/** Every statement the dialect sends, for one table, by name. */
function allStatements(t: TableMeta): Record<string, Statement> {
  const row: Row = Object.fromEntries(t.columns.map((c) => [c.name, sample(c.type)]));
  const names = t.columns.map((c) => c.name);
  return {
    ensureSchema: T.ensureSchemaStatement(t.schema),
    objectId: T.objectIdStatement(t),
    existingColumns: T.existingColumnsStatement(t),
    createStateTable: T.createStateTableStatement(t.schema),
    readState: T.readStateStatement(t.schema, state.sourceId),
    writeState: T.writeStateStatement(t.schema, state),
    createTable: T.createTableStatement(t),
    addColumns: T.addColumnsStatement(t, names.slice(1)),
    createRowsTemp: T.createTempStatement(T.ROWS_TEMP, t, names),
    createKeysTemp: T.createTempStatement(T.KEYS_TEMP, t, t.key),
    insertTemp: T.insertTempStatement(T.ROWS_TEMP, t, names, [row, row]),
    upsertFromTemp: T.upsertFromTempStatement(t, plainShape(t)),
    upsertIdentity: T.upsertFromTempStatement(t, identityShape(t, t.columns[t.columns.length - 1].name)),
    identityOff: T.identityInsertOffStatement([objectName(t)]),
    replicaBlockers: T.replicaBlockersStatement(t),
    readBack: T.readBackStatement(t, identityShape(t, t.columns[t.columns.length - 1].name)),
    deleteFromTemp: T.deleteFromTempStatement(t),
    deleteAll: T.deleteAllStatement(t),
    scan: T.scanStatement(t, null, 10),
    scanAfter: T.scanStatement(t, row, 10),
  };
}

/** The standby columns of `t` as sys.columns would describe them, `identity` an IDENTITY column, `computed` computed ones. */
function catalog(t: TableMeta, identity: string | null, computed: string[] = []): StandbyColumn[] {
  return t.columns.map((c) => ({
    name: c.name, nativeType: c.sourceType, nullable: c.nullable, inKey: t.key.includes(c.name),
    generated: computed.includes(c.name), identity: c.name === identity ? 'always' : null, hasDefault: c.name === identity || computed.includes(c.name),
  }));
}

/** The write shape of `t` on a standby whose column `identity` is an IDENTITY. */
function identityShape(t: TableMeta, identity: string) {
  return writeShape(t, catalog(t, identity), true, 'SQL Server');
}

/** The text with every [quoted identifier] and N'literal' removed: what T-SQL parses as code. */
function code(sqlText: string): string {
  return sqlText.replace(/\[(?:[^\]]|\]\])*\]/g, '[]').replace(/N?'(?:[^']|'')*'/g, "''");
}

describe('identifiers', () => {
  it.each(Object.entries(allStatements(hostile)))('%s: a hostile name never reaches the code outside its brackets', (_, st) => {
    expect(code(st.sql)).not.toContain('DROP TABLE victim');
    expect(code(st.sql)).not.toContain('--');
  });

  it('quotes each name QUOTENAME-style, so the statements name the real objects', () => {
    const st = allStatements(lines);
    expect(st.createTable.sql).toContain('CREATE TABLE [sales data].[order]]lines]');
    expect(st.upsertFromTemp.sql).toContain('INSERT INTO [sales data].[order]]lines] ([line no], [tenant], [day], [at], [price])');
    // OBJECT_ID gets the quoted two-part name as a parameter, so it resolves the hostile name exactly
    expect(st.createTable.params.qualifiedName).toEqual({ sqlType: 'nvarchar', value: '[sales data].[order]]lines]' });
    // CREATE SCHEMA quotes on the server (QUOTENAME), the name travels as a parameter
    expect(st.ensureSchema.sql).not.toContain('sales data');
    expect(st.ensureSchema.params.schema).toEqual({ sqlType: 'nvarchar', value: 'sales data' });
  });

  it('refuses names SQL Server cannot hold, and tables without key, as StandbyErrors naming the table', () => {
    const bad = (patch: Partial<TableMeta>) => () => T.validateTable({ ...orders, ...patch });
    expect(bad({ table: 'x'.repeat(129) })).toThrow(/dbo\.x+: identifier/);
    expect(bad({ schema: '' })).toThrow(StandbyError);
    expect(bad({ columns: [...orders.columns, col('a\0b', { kind: 'int32' })] })).toThrow(/identifier "a\0b"/);
    expect(bad({ key: [] })).toThrow(/dbo\.orders has no primary key/);
    expect(bad({ key: ['nope'] })).toThrow(/key column nope/);
    expect(bad({ columns: [...orders.columns, col('n', { kind: 'decimal', precision: 50, scale: 2 })] })).toThrow(/dbo\.orders column n: decimal\(50,2\)/);
    expect(() => T.validateTable(lines)).not.toThrow();
  });
});

describe('parameters', () => {
  it.each(Object.entries(allStatements(hostile)))('%s: every @parameter used is bound, every bound one is used', (_, st) => {
    const used = new Set([...st.sql.matchAll(/@([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
    for (const local of ['written', 'promoted', 'promotedVersion', 'promotedSeq', 'ddl', 'ROWCOUNT', 'TRANCOUNT']) used.delete(local); // DECLAREd variables, system functions
    expect([...used].sort()).toEqual(Object.keys(st.params).sort());
  });

  it('values never enter the text; each is a parameter of its exact type, CAST where it is text of another type, never CAST to a shorter string', () => {
    const evil = "x'); DROP TABLE t; --";
    const st = T.insertTempStatement(T.ROWS_TEMP, orders, ['id', 'amount', 'note'], [
      { id: 2147483647, amount: '-0.50', note: evil },
      { id: 2, amount: null, note: '' },
    ]);
    expect(st.sql).not.toContain('DROP TABLE');
    // a CAST to nvarchar(100) would cut a longer string without an error; the INSERT into the
    // staging column raises one (ANSI_WARNINGS ON)
    expect(st.sql).toContain('(CAST(@r0c0 AS int), CAST(@r0c1 AS decimal(10,2)), @r0c2)');
    expect(st.sql).not.toMatch(/AS nvarchar/);
    expect(st.params.r0c0).toEqual({ sqlType: 'int', value: 2147483647 });
    // decimals travel as their exact text, never through a JS number
    expect(st.params.r0c1).toEqual({ sqlType: 'nvarchar', value: '-0.50' });
    expect(st.params.r0c2).toEqual({ sqlType: 'nvarchar', value: evil });
    expect(st.params.r1c1).toEqual({ sqlType: 'nvarchar', value: null });
    expect(st.sql.match(/\),\n\(/g)).toHaveLength(1); // two row tuples
  });

  it('types each kind so no value is guessed: bigint, float, bit, varbinary stay exact', () => {
    const t: TableMeta = {
      schema: 's',
      table: 't',
      key: ['id'],
      columns: [col('id', { kind: 'int64' }, false), col('f', { kind: 'float32' }), col('b', { kind: 'boolean' }), col('x', { kind: 'bytes' })],
    };
    const st = T.insertTempStatement(T.ROWS_TEMP, t, ['id', 'f', 'b', 'x'], [{ id: -9223372036854775808n, f: 0.10000000149011612, b: false, x: Buffer.from([0, 255]) }]);
    expect(st.params).toEqual({
      r0c0: { sqlType: 'bigint', value: -9223372036854775808n },
      r0c1: { sqlType: 'float', value: 0.10000000149011612 },
      r0c2: { sqlType: 'bit', value: false },
      r0c3: { sqlType: 'varbinary', value: Buffer.from([0, 255]) },
    });
    expect(st.sql).toContain('CAST(@r0c1 AS real)');
    expect(st.sql).toContain(', @r0c3)'); // binary as it is: a CAST to a shorter varbinary would cut it
    expect(() => T.insertTempStatement(T.ROWS_TEMP, t, ['id'], [{ id: 1 }])).toThrow(); // a number where int64 wants a bigint
  });

  it('writes the state as bigint parameters, beyond 2^53 exactly', () => {
    const st = T.writeStateStatement('ctrelay', state);
    expect(st.params.batchSeq).toEqual({ sqlType: 'bigint', value: 9007199254740993n });
    expect(st.params.version).toEqual({ sqlType: 'bigint', value: 9223372036854775807n });
    expect(st.params.sourceId).toEqual({ sqlType: 'nvarchar', value: state.sourceId });
  });
});

describe('batch boundaries', () => {
  it('chunks stay under 2100 parameters and 1000 rows for any column count', () => {
    for (let cols = 1; cols <= 2_100; cols++) {
      const rows = T.rowsPerStatement(cols);
      expect(rows).toBeGreaterThanOrEqual(1);
      expect(rows).toBeLessThanOrEqual(1000);
      if (cols <= T.MAX_PARAMS) expect(rows * cols).toBeLessThan(2100);
    }
  });

  it('what must live for the session runs as a batch (no parameters), the rows through sp_executesql', () => {
    const st = allStatements(lines);
    // a #temp table created inside sp_executesql is dropped when it returns
    for (const name of ['createRowsTemp', 'createKeysTemp', 'upsertFromTemp', 'upsertIdentity', 'deleteFromTemp']) {
      expect(st[name].params, name).toEqual({});
    }
    expect(st.createRowsTemp.sql).toMatch(/^DROP TABLE IF EXISTS #ctrelay_rows;\nCREATE TABLE #ctrelay_rows /);
    expect(Object.keys(st.insertTemp.params).length).toBeGreaterThan(0);
    // the staging tables are dropped by the statement that consumed them
    expect(st.upsertFromTemp.sql.trimEnd()).toMatch(/DROP TABLE #ctrelay_rows;$/);
    expect(st.deleteFromTemp.sql.trimEnd()).toMatch(/DROP TABLE #ctrelay_keys;$/);
  });
});

describe('what the statements do', () => {
  it('staging columns are nullable, and character ones collate like the database (tempdb may differ)', () => {
    const sqlText = T.createTempStatement(T.ROWS_TEMP, orders, ['id', 'amount', 'note']).sql;
    expect(sqlText).toContain('[note] nvarchar(100) COLLATE DATABASE_DEFAULT NULL');
    expect(sqlText).toContain('[id] int NULL');
    expect(sqlText).not.toContain('NOT NULL');
  });

  it('creates tables with NOT NULL keys and the primary key in key order; added columns are nullable', () => {
    const sqlText = T.createTableStatement(lines).sql;
    expect(sqlText).toContain('[line no] smallint NOT NULL');
    expect(sqlText).toContain('[at] datetimeoffset(7) NULL');
    expect(sqlText).toContain('PRIMARY KEY ([tenant], [day], [line no])');
    expect(sqlText).toMatch(/^IF OBJECT_ID\(@qualifiedName, N'U'\) IS NULL/);
    expect(T.addColumnsStatement(lines, ['at', 'price']).sql).toBe('ALTER TABLE [sales data].[order]]lines] ADD [at] datetimeoffset(7) NULL, [price] decimal(19,4) NULL;');
  });

  it('the upsert updates only non-key columns and never the identity column, which it inserts under IDENTITY_INSERT', () => {
    const plain = T.upsertFromTempStatement(orders, plainShape(orders)).sql;
    expect(plain).toContain('UPDATE t SET t.[amount] = s.[amount], t.[note] = s.[note]\n');
    expect(plain).toContain('INNER JOIN #ctrelay_rows AS s ON t.[id] = s.[id]');
    expect(plain).toContain('WHERE NOT EXISTS (SELECT 1 FROM [dbo].[orders] AS t WHERE t.[id] = s.[id])');
    expect(plain).not.toContain('MERGE');
    expect(plain).not.toContain('IDENTITY_INSERT');

    const ident = T.upsertFromTempStatement({ ...orders, key: ['amount'] }, identityShape({ ...orders, key: ['amount'] }, 'id')).sql;
    expect(ident).toContain('UPDATE t SET t.[note] = s.[note]\n');
    const on = ident.indexOf('SET IDENTITY_INSERT [dbo].[orders] ON;');
    const insert = ident.indexOf('INSERT INTO [dbo].[orders]');
    const off = ident.indexOf('SET IDENTITY_INSERT [dbo].[orders] OFF;');
    expect(on).toBeGreaterThan(-1);
    expect(on).toBeLessThan(insert);
    expect(off).toBeGreaterThan(insert);

    const keyOnly: TableMeta = { schema: 'dbo', table: 'tags', key: ['k'], columns: [col('k', { kind: 'int32' }, false)] };
    expect(T.upsertFromTempStatement(keyOnly, plainShape(keyOnly)).sql).not.toContain('UPDATE');
  });

  it('deletes join the staged keys on every key column', () => {
    expect(T.deleteFromTempStatement(lines).sql).toContain(
      'INNER JOIN #ctrelay_keys AS s ON t.[tenant] = s.[tenant] AND t.[day] = s.[day] AND t.[line no] = s.[line no]',
    );
  });

  it('the state write only moves forward, and its insert cannot race another applier', () => {
    const sqlText = T.writeStateStatement('ops]x', state).sql;
    expect(sqlText).toContain('UPDATE [ops]]x].[ctrelay_state] SET');
    expect(sqlText).toContain('WHERE source_id = @sourceId AND batch_seq < @batchSeq;');
    expect(sqlText).toContain('WITH (UPDLOCK, HOLDLOCK) WHERE source_id = @sourceId');
    expect(sqlText.trimEnd()).toMatch(/SELECT @written AS rows_written, @promoted AS promoted_at, .*;$/);
  });

  it('scans in key order from the last key, reading each type losslessly as text', () => {
    const st = T.scanStatement(lines, { tenant: '6f9619ff-8b86-d011-b42d-00c04fc964ff', day: '2024-02-29', 'line no': 1 }, 10);
    expect(st.sql).toContain('ORDER BY t.[tenant], t.[day], t.[line no];');
    expect(st.sql).toContain('(t.[tenant] > CAST(@after_k0 AS uniqueidentifier) OR (t.[tenant] = CAST(@after_k0 AS uniqueidentifier) AND');
    expect(st.sql).toContain('CONVERT(varchar(40), t.[at], 121) AS [c3]'); // datetimeoffset(7) keeps its 7 digits and offset
    expect(st.sql).toContain('CONVERT(varchar(50), t.[price]) AS [c4]'); // decimals as text, not JS numbers
    expect(st.params).toMatchObject({ limit: { sqlType: 'int', value: 10 }, after_k2: { sqlType: 'int', value: 1 } });
    const unbounded: TableMeta = { schema: 'p', table: 't', key: ['k'], columns: [col('k', { kind: 'string' }, false)] };
    expect(T.scanStatement(unbounded, { k: 'a' }, 1).sql).toContain('t.[k] > CAST(@after_k0 AS nvarchar(450))');
  });
});

describe('ddlType: lossless choices and SQL Server limits', () => {
  it.each<[ColumnType, boolean, string, string]>([
    [{ kind: 'float32' }, false, 'real', 'tedious reads a real as its exact binary value'],
    [{ kind: 'decimal', precision: 38, scale: 38 }, false, 'decimal(38,38)', 'the largest decimal'],
    [{ kind: 'string', maxLength: 3, fixedLength: true }, false, 'nchar(3)', 'fixed length kept'],
    [{ kind: 'string', maxLength: 4000 }, false, 'nvarchar(4000)', 'the largest bounded nvarchar'],
    [{ kind: 'string', maxLength: 4001 }, false, 'nvarchar(max)', 'beyond it'],
    [{ kind: 'string' }, true, 'nvarchar(450)', 'an unbounded key fits the 900-byte key limit'],
    [{ kind: 'bytes', maxLength: 8000 }, false, 'varbinary(8000)', 'the largest bounded varbinary'],
    [{ kind: 'bytes', maxLength: 8001 }, false, 'varbinary(max)', 'beyond it'],
    [{ kind: 'bytes' }, true, 'varbinary(900)', 'an unbounded binary key'],
    [{ kind: 'xml' }, false, 'nvarchar(max)', 'the xml type would re-serialise the text'],
    [{ kind: 'timestamptz', precision: 6 }, false, 'datetimeoffset(6)', 'an instant, stored at +00:00'],
    [{ kind: 'time', precision: 7 }, false, 'time(7)', '100 ns precision is native'],
  ])('%j key=%s -> %s (%s)', (t, key, expected) => {
    expect(ddlType(t, key, 'x')).toBe(expected);
  });

  it('rejects decimals SQL Server cannot hold, naming the column', () => {
    expect(() => ddlType({ kind: 'decimal', precision: 0, scale: 0 }, false, 'public.t column n')).toThrow(StandbyError);
    expect(() => ddlType({ kind: 'decimal', precision: 50, scale: 2 }, false, 'public.t column n')).toThrow(/public\.t column n: decimal\(50,2\)/);
  });
});
