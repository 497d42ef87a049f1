import { describe, expect, it } from 'vitest';
import type { ColumnMeta, ColumnType } from '../../core/model.ts';
import { quoteIdent } from '../../drivers/postgres/quote.ts';
import { compareTypes } from '../column-change.ts';
import { columnLiteral, ddlType, elementType, fromPgText, parsePgType } from './pg-types.ts';

const col = (name: string, type: ColumnType): ColumnMeta => ({ name, type, nullable: true, sourceType: type.kind });

describe('PostgreSQL type mapping', () => {
  it('keeps precision 7 and offsets as canonical text, everything else native', () => {
    expect(ddlType({ kind: 'time', precision: 7 })).toBe('varchar(16)');
    expect(ddlType({ kind: 'timestamp', precision: 7 })).toBe('varchar(27)');
    expect(ddlType({ kind: 'timestamptz', precision: 7 })).toBe('varchar(28)');
    expect(ddlType({ kind: 'datetimeoffset', precision: 7 })).toBe('varchar(33)');
    expect(ddlType({ kind: 'datetimeoffset', precision: 0 })).toBe('varchar(25)');
    expect(ddlType({ kind: 'timestamp', precision: 6 })).toBe('timestamp(6)');
    expect(ddlType({ kind: 'decimal', precision: 38, scale: 10 })).toBe('numeric(38,10)');
    expect(ddlType({ kind: 'float32' })).toBe('real');
    expect(ddlType({ kind: 'float64' })).toBe('double precision');
    expect(ddlType({ kind: 'json' })).toBe('json');
    // char(n) keeps the padding and compares like the source's char; its rows travel as bpchar
    expect(ddlType({ kind: 'string', maxLength: 10, fixedLength: true })).toBe('char(10)');
    expect(elementType({ kind: 'string', maxLength: 10, fixedLength: true })).toBe('bpchar');
    expect(elementType({ kind: 'string', maxLength: 10 })).toBe('text');
    expect(ddlType({ kind: 'string' })).toBe('text');
  });

  it('quotes identifiers, doubling quotes', () => {
    expect(quoteIdent('a "b"')).toBe('"a ""b"""');
  });

  it('reads server text back to canonical values', () => {
    expect(fromPgText({ kind: 'timestamp', precision: 3 }, '2024-01-02 03:04:05.1')).toBe('2024-01-02T03:04:05.100');
    expect(fromPgText({ kind: 'timestamptz', precision: 0 }, '2024-01-02 03:04:05+00')).toBe('2024-01-02T03:04:05Z');
    expect(fromPgText({ kind: 'time', precision: 6 }, '23:59:59')).toBe('23:59:59.000000');
    expect(fromPgText({ kind: 'int64' }, '-9223372036854775808')).toBe(-9223372036854775808n);
    expect(fromPgText({ kind: 'bytes' }, '\\x00ff00')).toEqual(Buffer.from([0, 255, 0]));
    expect(fromPgText({ kind: 'boolean' }, 'f')).toBe(false);
    expect(Object.is(fromPgText({ kind: 'float64' }, '-0'), -0)).toBe(true);
    // a real prints as its shortest decimal; fround makes it the float32 value again
    expect(fromPgText({ kind: 'float32' }, '0.1')).toBe(0.10000000149011612);
    expect(fromPgText({ kind: 'float32' }, '1.6777216e+07')).toBe(16777216);
    expect(fromPgText({ kind: 'float32' }, '3.4028235e+38')).toBe(3.4028234663852886e38);
    expect(fromPgText({ kind: 'float32' }, 'NaN')).toBeNaN();
    expect(Object.is(fromPgText({ kind: 'float32' }, '-0'), -0)).toBe(true);
    expect(fromPgText({ kind: 'string', maxLength: 5, fixedLength: true }, 'ab   ')).toBe('ab   ');
  });

  it("reads format_type()'s and its own spelling of a type alike, and widens only within a family", () => {
    const same = (a: string, b: string) => expect(compareTypes(parsePgType(a), parsePgType(b)), `${a} / ${b}`).toBe('same');
    same('character varying(20)', 'varchar(20)');
    same('timestamp(3) without time zone', 'timestamp(3)');
    same('timestamp without time zone', 'timestamp(6)');
    same('timestamp(6) with time zone', 'timestamptz(6)');
    same('character(5)', 'char(5)');
    same('double precision', 'double precision');
    same('text', 'text');
    const verdict = (from: string, to: string) => compareTypes(parsePgType(from), parsePgType(to));
    expect(verdict('smallint', 'integer')).toBe('widen');
    expect(verdict('integer', 'bigint')).toBe('widen');
    expect(verdict('real', 'double precision')).toBe('widen');
    expect(verdict('character varying(20)', 'varchar(200)')).toBe('widen');
    expect(verdict('character varying(20)', 'text')).toBe('widen');
    expect(verdict('numeric(12,2)', 'numeric(16,6)')).toBe('widen');
    expect(verdict('numeric(12,2)', 'numeric')).toBe('widen');
    expect(verdict('timestamp(3) without time zone', 'timestamp(6)')).toBe('widen');
    expect(verdict('character(5)', 'char(10)')).toBe('widen');
    // narrower, fewer digits on one side of the point, or a conversion
    expect(verdict('character varying(200)', 'varchar(20)')).toBe('refuse');
    expect(verdict('numeric(12,2)', 'numeric(12,4)')).toBe('refuse');
    expect(verdict('numeric(16,6)', 'numeric(16,2)')).toBe('refuse');
    expect(verdict('double precision', 'real')).toBe('refuse');
    expect(verdict('integer', 'text')).toBe('refuse');
    expect(verdict('character varying(5)', 'char(5)')).toBe('refuse');
    expect(verdict('timestamp(6) without time zone', 'varchar(27)')).toBe('refuse');
    expect(verdict('timestamp(3) without time zone', 'timestamptz(3)')).toBe('refuse');
    expect(verdict('integer', 'numeric(12,0)')).toBe('refuse');
  });

  it('builds array literals no value can break out of', () => {
    const rows = [{ v: 'a,"b"}\\' }, { v: null }, { v: 'NULL' }, { v: '' }];
    expect(columnLiteral(col('v', { kind: 'string' }), rows)).toBe('{"a,\\"b\\"}\\\\",NULL,"NULL",""}');
    expect(columnLiteral(col('n', { kind: 'int64' }), [{ n: 1n }, { n: -0 }, { n: true }])).toBe('{1,-0,t}');
    expect(columnLiteral(col('b', { kind: 'bytes' }), [{ b: Buffer.from([0, 1]) }])).toBe('{"\\\\x0001"}');
  });
});
