// The SQL Server verify engine without a server: the statement text of every canonical form, key
// literal, order and hash, the @p placeholders a Query binds, and, computed in Node, that the forms
// mean what PostgreSQL's do for sample values (byte order of the row hash and of float bits, UTF-8
// byte lengths). Nothing here ran against a SQL Server.
import { createHash } from 'node:crypto';
import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { SourceError, StandbyError } from '../../core/errors.ts';
import type { ColumnMeta, ColumnType } from '../../core/model.ts';
import type { VerifyTable } from '../side.ts';
import { createSourceSide, createStandbySide } from './index.ts';
import type { Query } from './sql-side.ts';
import { sqlserverSourceSql, sqlserverSql, utf8 } from './sqlserver-sql.ts';
import {
  mssqlQuery, PIN_VERSION_SQL, SqlServerSnapshot, SqlServerSourceSide, SqlServerSourceSnapshot, SqlServerStandbySide, type RequestLike,
} from './sqlserver.ts';

const col = (name: string, type: ColumnType, sourceType = 'x'): ColumnMeta => ({ name, type, nullable: true, sourceType });
const UTF8 = 'COLLATE Latin1_General_100_BIN2_UTF8';

describe('sqlserverSql.canonical', () => {
  const canon = (type: ColumnType, sourceType?: string) => sqlserverSql.canonical('v.[c]', col('c', type, sourceType));
  it('numbers and booleans as their decimal text', () => {
    expect(canon({ kind: 'boolean' })).toBe('CAST(v.[c] AS varchar(40))');
    for (const kind of ['int16', 'int32', 'int64'] as const) expect(canon({ kind })).toBe('CAST(v.[c] AS varchar(40))');
  });
  it('decimals at their scale, money through decimal(19,4)', () => {
    expect(canon({ kind: 'decimal', precision: 12, scale: 3 })).toBe('CAST(CAST(v.[c] AS decimal(12,3)) AS varchar(40))');
    expect(canon({ kind: 'decimal', precision: 19, scale: 4 }, 'money')).toBe('CAST(CAST(v.[c] AS decimal(19,4)) AS varchar(40))');
  });
  it('floats as the big-endian bits of the double, -0 as 0', () => {
    const f = "CASE WHEN CAST(v.[c] AS float) = 0 THEN '0000000000000000' ELSE LOWER(CONVERT(varchar(16), CAST(CAST(v.[c] AS float) AS binary(8)), 2)) END";
    expect(canon({ kind: 'float64' })).toBe(f);
    expect(canon({ kind: 'float32' })).toBe(f);
  });
  it('bytes and uuids as lower-case hex / text', () => {
    expect(canon({ kind: 'bytes' })).toBe('LOWER(CONVERT(varchar(max), CAST(v.[c] AS varbinary(max)), 2))');
    expect(canon({ kind: 'uuid' })).toBe('LOWER(CAST(v.[c] AS char(36)))');
  });
  it('dates in days, times and timestamps in microseconds (timestamptz in UTC)', () => {
    expect(canon({ kind: 'date' })).toBe("CAST(DATEDIFF(day, CAST('1970-01-01' AS date), v.[c]) AS varchar(40))");
    expect(canon({ kind: 'time', precision: 7 })).toBe("CAST(DATEDIFF_BIG(microsecond, CAST('00:00:00' AS time(7)), v.[c]) AS varchar(40))");
    expect(canon({ kind: 'timestamp', precision: 3 })).toBe("CAST(DATEDIFF_BIG(microsecond, CAST('1970-01-01' AS datetime2(7)), CAST(v.[c] AS datetime2(3))) AS varchar(40))");
    expect(canon({ kind: 'timestamptz', precision: 6 })).toBe(
      "CAST(DATEDIFF_BIG(microsecond, CAST('1970-01-01' AS datetime2(7)), CAST(SWITCHOFFSET(v.[c], '+00:00') AS datetime2(6))) AS varchar(40))",
    );
  });
  it('datetimeoffset as the ISO text PostgreSQL and MariaDB standbys hold', () => {
    expect(canon({ kind: 'datetimeoffset', precision: 7 })).toBe("STUFF(REPLACE(REPLACE(CONVERT(varchar(40), v.[c], 121), ' +', '+'), ' -', '-'), 11, 1, 'T')");
    // what that does to style 121's text
    const emulate = (s: string) => { const r = s.replace(' +', '+').replace(' -', '-'); return `${r.slice(0, 10)}T${r.slice(11)}`; };
    expect(emulate('2024-03-01 12:34:56.1234567 +05:30')).toBe('2024-03-01T12:34:56.1234567+05:30');
    expect(emulate('0001-01-01 00:00:00 -08:00')).toBe('0001-01-01T00:00:00-08:00');
  });
  it('strings, json and xml as nvarchar text, char(n) without padding, hierarchyid by its ToString form', () => {
    expect(canon({ kind: 'string', maxLength: 10 })).toBe('CAST(v.[c] AS nvarchar(max)) COLLATE Latin1_General_100_BIN2');
    expect(canon({ kind: 'string', maxLength: 10, fixedLength: true })).toBe('RTRIM(CAST(v.[c] AS nvarchar(max))) COLLATE Latin1_General_100_BIN2');
    expect(canon({ kind: 'string', maxLength: 4000 }, 'hierarchyid')).toBe('CAST(v.[c] AS nvarchar(4000)) COLLATE Latin1_General_100_BIN2');
    expect(canon({ kind: 'json' })).toBe('CAST(v.[c] AS nvarchar(max)) COLLATE Latin1_General_100_BIN2');
    expect(canon({ kind: 'xml' })).toBe('CAST(v.[c] AS nvarchar(max)) COLLATE Latin1_General_100_BIN2');
  });
});

describe('float bits and row hash: the SQL Server forms equal PostgreSQL\'s', () => {
  // CAST(float AS binary(8)) is the double's bits most significant byte first, like float8send
  const bitsBE = (x: number) => { const b = Buffer.alloc(8); b.writeDoubleBE(x + 0); return b.toString('hex'); };
  it('float bits of sample values', () => {
    expect(bitsBE(0.1)).toBe('3fb999999999999a');
    expect(bitsBE(1)).toBe('3ff0000000000000');
    expect(bitsBE(-0)).toBe('0000000000000000');
    expect(bitsBE(5e-324)).toBe('0000000000000001');
    expect(bitsBE(Math.fround(3.4028235e38))).toBe('47efffffe0000000');
  });

  it('first 8 MD5 bytes as a big-endian signed bigint = PostgreSQL ("x" || left(md5, 16))::bit(64)::bigint', () => {
    for (const text of ['1,N,2:ab', '', 'N', '-5,6:é😀,3fb999999999999a']) {
      const digest = createHash('md5').update(Buffer.from(text, 'utf8')).digest();
      const sqlServer = digest.subarray(0, 8).readBigInt64BE(0); // CAST(SUBSTRING(HASHBYTES(...), 1, 8) AS bigint)
      const postgres = BigInt.asIntN(64, BigInt(`0x${digest.toString('hex').slice(0, 16)}`));
      expect(sqlServer).toBe(postgres);
    }
  });

  it('hashes the UTF-8 bytes of the joined texts, strings length-prefixed with their UTF-8 byte length', () => {
    const h = sqlserverSql.rowHash(['a', sqlserverSql.lengthPrefixed('b')]);
    expect(h).toBe(
      `CAST(SUBSTRING(HASHBYTES('MD5', ${utf8(`CAST(N'' AS nvarchar(max)) + COALESCE(a, N'N') + N',' + COALESCE(CAST(DATALENGTH(${utf8('b')}) AS varchar(20)) + ':' + b, N'N')`)}), 1, 8) AS bigint)`,
    );
    expect(utf8('x')).toBe(`CAST(CAST(x AS nvarchar(max)) ${UTF8} AS varchar(max))`);
    // DATALENGTH of the UTF-8 varchar is what PostgreSQL's octet_length gives
    expect(Buffer.byteLength('é😀', 'utf8')).toBe(6);
    // a single column hashes without CONCAT_WS (which needs two arguments)
    expect(sqlserverSql.rowHash(['a'])).not.toContain('CONCAT');
  });

  it('sums as decimal(38,0) (the sum of 64-bit hashes overflows bigint)', () => {
    expect(sqlserverSql.aggregate('h')).toBe('CAST(COUNT_BIG(*) AS varchar(20)), CAST(COALESCE(SUM(CAST(h AS decimal(38,0))), 0) AS varchar(40))');
    expect(sqlserverSql.limitOffset(1, 99)).toBe('OFFSET 99 ROWS FETCH NEXT 1 ROWS ONLY');
  });
});

describe('keys', () => {
  const kt = (type: ColumnType) => sqlserverSql.keyText('v.[k]', col('k', type));
  it('keyText: dates, times and timestamps as text with 6 fractional digits (7 for 100 ns types)', () => {
    expect(kt({ kind: 'int32' })).toBe('CAST(v.[k] AS varchar(40))');
    expect(kt({ kind: 'date' })).toBe('CONVERT(varchar(10), v.[k], 23)');
    expect(kt({ kind: 'time', precision: 3 })).toBe('CONVERT(varchar(16), CAST(v.[k] AS time(6)), 121)');
    expect(kt({ kind: 'time', precision: 7 })).toBe('CONVERT(varchar(16), CAST(v.[k] AS time(7)), 121)');
    expect(kt({ kind: 'timestamp', precision: 3 })).toBe('CONVERT(varchar(27), CAST(CAST(v.[k] AS datetime2(3)) AS datetime2(6)), 121)');
    expect(kt({ kind: 'timestamptz', precision: 6 })).toBe("CONVERT(varchar(27), CAST(SWITCHOFFSET(v.[k], '+00:00') AS datetime2(6)), 121)");
    expect(kt({ kind: 'bytes' })).toBe('LOWER(CONVERT(varchar(max), CAST(v.[k] AS varbinary(max)), 2))');
    expect(kt({ kind: 'uuid' })).toBe('LOWER(CAST(v.[k] AS char(36)))');
    expect(kt({ kind: 'string', maxLength: 5, fixedLength: true })).toBe('RTRIM(CAST(v.[k] AS nvarchar(max))) COLLATE Latin1_General_100_BIN2');
    expect(() => kt({ kind: 'float64' })).toThrow(/floating-point/);
  });

  it('keyParam: @p<index> cast to the standby type the applier creates', () => {
    const kp = (i: number, type: ColumnType) => sqlserverSql.keyParam(i, col('k', type));
    expect(kp(0, { kind: 'int16' })).toBe('CAST(@p0 AS smallint)');
    expect(kp(3, { kind: 'int64' })).toBe('CAST(@p3 AS bigint)');
    expect(kp(1, { kind: 'boolean' })).toBe('CAST(@p1 AS bit)');
    expect(kp(0, { kind: 'decimal', precision: 10, scale: 2 })).toBe('CAST(@p0 AS decimal(10,2))');
    expect(kp(0, { kind: 'string' })).toBe('CAST(@p0 AS nvarchar(450))');
    expect(kp(0, { kind: 'string', maxLength: 8, fixedLength: true })).toBe('CAST(@p0 AS nchar(8))');
    expect(kp(0, { kind: 'bytes', maxLength: 16 })).toBe('CONVERT(varbinary(16), @p0, 2)');
    expect(kp(0, { kind: 'uuid' })).toBe('CAST(@p0 AS uniqueidentifier)');
    expect(kp(0, { kind: 'date' })).toBe('CAST(@p0 AS date)');
    expect(kp(0, { kind: 'time', precision: 6 })).toBe('CAST(@p0 AS time(6))');
    expect(kp(0, { kind: 'timestamp', precision: 6 })).toBe('CAST(CAST(@p0 AS datetime2(7)) AS datetime2(6))');
    expect(kp(0, { kind: 'timestamptz', precision: 6 })).toBe('CAST(CAST(@p0 AS datetime2(7)) AS datetimeoffset(6))');
    expect(kp(0, { kind: 'datetimeoffset', precision: 7 })).toBe('CAST(@p0 AS datetimeoffset(7))');
  });

  it('keyParam on the source: the column\'s own type (a datetime through datetime2(7))', () => {
    expect(sqlserverSourceSql.keyParam(2, col('k', { kind: 'string', maxLength: 20 }, 'varchar(20)'))).toBe('CAST(@p2 AS varchar(20))');
    expect(sqlserverSourceSql.keyParam(0, col('k', { kind: 'timestamp', precision: 3 }, 'datetime'))).toBe('CAST(CAST(@p0 AS datetime2(7)) AS datetime)');
    expect(sqlserverSourceSql.keyParam(0, col('k', { kind: 'bytes', maxLength: 8, fixedLength: true }, 'rowversion'))).toBe('CONVERT(binary(8), @p0, 2)');
  });

  const hex = (x: string) => `CONVERT(varchar(max), CAST(${utf8(x)} AS varbinary(max)), 2) COLLATE Latin1_General_100_BIN2`;
  it('orderTerm: numbers natively, text by the hex of its UTF-8 bytes, uuids by their text', () => {
    expect(sqlserverSql.orderTerm('v.[k]', col('k', { kind: 'int32' }))).toBe('v.[k]');
    expect(sqlserverSql.orderTerm('v.[k]', col('k', { kind: 'string', maxLength: 20 }))).toBe(hex('v.[k]'));
    expect(sqlserverSql.orderTerm('v.[k]', col('k', { kind: 'uuid' }))).toBe('LOWER(CAST(v.[k] AS char(36))) COLLATE Latin1_General_100_BIN2');
    expect(sqlserverSql.orderTerm('v.[k]', col('k', { kind: 'bytes' }))).toBe('CONVERT(varchar(max), CAST(v.[k] AS varbinary(max)), 2) COLLATE Latin1_General_100_BIN2');
  });

  it('the hex of UTF-8 bytes, compared as text with trailing-space padding, is byte order', () => {
    // SQL Server pads the shorter operand with spaces (0x20), which sorts below every hex digit
    const padCompare = (a: string, b: string) => { const n = Math.max(a.length, b.length); const x = a.padEnd(n, ' '); const y = b.padEnd(n, ' '); return x < y ? -1 : x > y ? 1 : 0; };
    const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
    const hexU = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
    const samples = ['', 'a', 'a ', 'a\u0001', 'A', 'b', 'é', '\uffff', '😀', 'ab', 'a\u0000'];
    for (const a of samples) for (const b of samples) expect(padCompare(hexU(a), hexU(b))).toBe(bytes(a, b));
  });

  it('tupleCompare of one key column', () => {
    const params: number[] = [];
    const p = (j: number) => { params.push(j); return `CAST(@p${params.length - 1} AS int)`; };
    expect(sqlserverSql.tupleCompare(['v.[a]'], '>', p)).toBe('(v.[a] > CAST(@p0 AS int))');
    expect(params).toEqual([0]);
  });

  it('tupleCompare of two key columns, spelled out, each placeholder once, string column by its hex', () => {
    const params: number[] = [];
    const types = ['int', 'nvarchar(450)'];
    const p = (j: number) => { params.push(j); return `CAST(@p${params.length + 1} AS ${types[j]})`; };
    const got = sqlserverSql.tupleCompare(['v.[a]', 'v.[b]'], '<=', p);
    expect(params).toEqual([0, 1]);
    expect(got).toBe(
      `(v.[a] <= CAST(@p2 AS int) AND ((v.[a] < CAST(@p2 AS int)) OR (v.[a] = CAST(@p2 AS int) AND ${hex('v.[b]')} <= ${hex('CAST(@p3 AS nvarchar(450))')})))`,
    );
  });
});

/** A Query that records statements and answers from a list. */
function fakeQuery(answers: ((sqlText: string, params: readonly string[]) => (string | null)[][])[] = []) {
  const sent: { sql: string; params: readonly string[] }[] = [];
  const query: Query = async (s, params) => {
    sent.push({ sql: s, params });
    const a = answers.shift();
    return a ? a(s, params) : [];
  };
  return { query, sent };
}

const columns = [col('id', { kind: 'int32' }, 'int'), col('code', { kind: 'string', maxLength: 10 }, 'nvarchar(10)'), col('amount', { kind: 'decimal', precision: 10, scale: 2 }, 'decimal(10,2)')];
const table: VerifyTable = { source: { schema: 'dbo', table: 'orders', columns, key: ['id', 'code'] }, columns, keyCount: 2 };

describe('statements through SqlSnapshot', () => {
  it('checksum binds the range bounds as @p0.. in placeholder order', async () => {
    const { query, sent } = fakeQuery([() => [['3', '-12']]]);
    const snap = new SqlServerSnapshot(sqlserverSql, query, 5n, () => ({ schema: 'ctr', table: 'orders' }), async () => undefined);
    const sum = await snap.checksum(table, { lo: ['1', 'a'], hi: ['9', 'z'] });
    expect(sum).toEqual({ count: 3n, sum: '-12' });
    expect(sent[0].params).toEqual(['1', 'a', '9', 'z']);
    expect(sent[0].sql).toContain('FROM [ctr].[orders] v WHERE ');
    expect(sent[0].sql).toContain('v.[id] >= CAST(@p0 AS int)');
    expect(sent[0].sql).toContain('v.[id] <= CAST(@p2 AS int)');
    expect(sent[0].sql).toContain('CAST(@p3 AS nvarchar(10))');
    expect(sent[0].sql).not.toMatch(/@p4/);
  });

  it('keyAt pages with OFFSET after ORDER BY', async () => {
    const { query, sent } = fakeQuery([() => [['7', 'x']]]);
    const snap = new SqlServerSnapshot(sqlserverSql, query, 5n, (t) => t.source, async () => undefined);
    expect(await snap.keyAt(table, null, 100)).toEqual(['7', 'x']);
    expect(sent[0].sql).toMatch(/ORDER BY v\.\[id\], CONVERT\(varchar\(max\).* OFFSET 99 ROWS FETCH NEXT 1 ROWS ONLY$/);
  });

  it('estimateRows from sys.partitions of the located table', async () => {
    const { query, sent } = fakeQuery([() => [['1234']], () => [[null]]]);
    const snap = new SqlServerSnapshot(sqlserverSql, query, 5n, () => ({ schema: 'ctr', table: 'o]x' }), async () => undefined);
    expect(await snap.estimateRows(table)).toBe(1234n);
    expect(sent[0].params).toEqual(['[ctr].[o]]x]']);
    expect(await snap.estimateRows(table)).toBeNull();
  });
});

describe('mssqlQuery', () => {
  it('binds positional parameters as @p0, @p1 (nvarchar(max)), asks for array rows and returns text', async () => {
    const inputs: { name: string; type: unknown; value: unknown }[] = [];
    let text = '';
    const req: RequestLike = {
      arrayRowMode: false,
      input: (name, type, value) => inputs.push({ name, type, value }),
      query: async (t) => { text = t; return { recordset: [['a', 1, null, true, '-9223372036854775808']] }; },
    };
    const q = mssqlQuery(() => req, (e) => e);
    const rows = await q('SELECT @p0, @p1', ['x', 'y']);
    expect(req.arrayRowMode).toBe(true);
    expect(text).toBe('SELECT @p0, @p1');
    expect(inputs.map((i) => [i.name, i.value])).toEqual([['p0', 'x'], ['p1', 'y']]);
    expect((inputs[0].type as { type: unknown }).type).toBe(sql.NVarChar);
    expect(rows).toEqual([['a', '1', null, '1', '-9223372036854775808']]);
  });

  it('fails through the side', async () => {
    const req: RequestLike = { arrayRowMode: false, input: () => undefined, query: async () => { throw new Error('boom'); } };
    await expect(mssqlQuery(() => req, () => new StandbyError('mapped'))('SELECT 1', [])).rejects.toThrow('mapped');
  });
});

const serverError = (number: number, message: string) => Object.assign(new Error(message), { name: 'RequestError', number });

describe('sides', () => {
  it('the factories build SQL Server sides', () => {
    expect(createSourceSide({ kind: 'sqlserver', url: 'mssql://u:p@h/db' })).toBeInstanceOf(SqlServerSourceSide);
    expect(createStandbySide('sqlserver', 'mssql://u:p@h/db', (t) => ({ schema: t.schema, table: t.table }), 'src', 'standby a')).toBeInstanceOf(SqlServerStandbySide);
  });

  it('error 3952 names the database and the ALTER DATABASE that allows snapshot isolation', () => {
    const side = new SqlServerStandbySide('mssql://u:secret@h:1433/my%20db', 'standby a', (t) => t.source, 'src');
    const e = side.fail(serverError(3952, "Snapshot isolation transaction failed accessing database 'my db'")) as Error;
    expect(e).toBeInstanceOf(StandbyError);
    expect(e.message).toContain('ALTER DATABASE [my db] SET ALLOW_SNAPSHOT_ISOLATION ON');
    const s = new SqlServerSourceSide('mssql://u:secret@h:1433/db').fail(serverError(3952, 'x'));
    expect(s).toBeInstanceOf(SourceError);
  });

  it('other errors are the side\'s, without the password', () => {
    const side = new SqlServerStandbySide('mssql://u:s3cr3t-pw@h:1433/db', 'standby a', (t) => t.source, 'src');
    const e = side.fail(serverError(208, 'Invalid object name; login u:s3cr3t-pw')) as Error;
    expect(e).toBeInstanceOf(StandbyError);
    expect(e.message).not.toContain('s3cr3t-pw');
    expect(e.message).toContain('standby a');
  });

  it('the source pins its snapshot with a read of a change-tracked table between two version reads', () => {
    expect(PIN_VERSION_SQL).toMatch(/^DECLARE @before bigint = CHANGE_TRACKING_CURRENT_VERSION\(\);/);
    expect(PIN_VERSION_SQL).toContain('FROM sys.change_tracking_tables');
    expect(PIN_VERSION_SQL).toContain('EXEC (@pin)');
  });
});

describe('source snapshot', () => {
  const src = (query: Query) => new SqlServerSourceSnapshot(sqlserverSourceSql, query, 50n, (t) => t.source, async () => undefined);
  const keys = [['1', 'a'], ['2', 'b']];

  it('changedSince reads CHANGETABLE from a bigint variable, matching the given keys', async () => {
    const { query, sent } = fakeQuery([() => [['10']], () => [['2', 'b']]]);
    const changed = await src(query).changedSince(table, 12n, keys);
    expect([...changed]).toEqual(['["2","b"]']);
    expect(sent[0].params).toEqual(['[dbo].[orders]']);
    expect(sent[1].sql).toMatch(/^DECLARE @since bigint = CAST\(@p0 AS bigint\);\nSELECT /);
    expect(sent[1].sql).toContain('FROM CHANGETABLE(CHANGES [dbo].[orders], @since) AS ct WHERE (ct.[id] = CAST(@p1 AS int) AND ct.[code] = CAST(@p2 AS nvarchar(10))) OR (ct.[id] = CAST(@p3 AS int)');
    expect(sent[1].params).toEqual(['12', '1', 'a', '2', 'b']);
  });

  it('changedSince before the min valid version, or without tracking: every key changed', async () => {
    for (const minValid of ['13', null]) {
      const { query, sent } = fakeQuery([() => [[minValid]]]);
      expect((await src(query).changedSince(table, 12n, keys)).size).toBe(2);
      expect(sent).toHaveLength(1);
    }
  });

  it('lockKeys takes shared row locks to the end of the transaction, then reads the version', async () => {
    const { query, sent } = fakeQuery([() => [], () => [['77']]]);
    expect(await src(query).lockKeys(table, keys)).toBe(77n);
    expect(sent[0].sql).toMatch(/^SELECT 1 FROM \[dbo\]\.\[orders\] WITH \(REPEATABLEREAD, ROWLOCK\) WHERE \(\[id\] = CAST\(@p0 AS int\)/);
    expect(sent[1].sql).toBe('SELECT CAST(CHANGE_TRACKING_CURRENT_VERSION() AS varchar(20))');
  });

  it('lockKeys without permission (229) proves nothing; other errors fail', async () => {
    const denied: Query = async () => { throw new SourceError('denied', { cause: serverError(229, 'The SELECT permission was denied') }); };
    expect(await src(denied).lockKeys(table, keys)).toBeNull();
    const broken: Query = async () => { throw new SourceError('gone', { cause: serverError(208, 'Invalid object name') }); };
    await expect(src(broken).lockKeys(table, keys)).rejects.toThrow('gone');
  });
});
