import { describe, expect, it } from 'vitest';
import type { ColumnMeta, ColumnType } from '../../core/model.ts';
import { compareTypes } from '../column-change.ts';
import { ddlType, fromMaria, parseMariaType, quoteIdent, toLiteral } from './mariadb-types.ts';

const col = (type: ColumnType): ColumnMeta => ({ name: 'c', type, nullable: true, sourceType: type.kind });

describe('MariaDB type mapping', () => {
  it('chooses lossless column types', () => {
    expect(ddlType({ kind: 'float32' }, false)).toBe('FLOAT');
    expect(ddlType({ kind: 'float64' }, false)).toBe('DOUBLE');
    expect(ddlType({ kind: 'string', maxLength: 5, fixedLength: true }, false)).toBe('CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin');
    expect(ddlType({ kind: 'string', maxLength: 5, fixedLength: true }, true)).toMatch(/^CHAR\(5\) /);
    // CHAR holds at most 255 characters: longer fixed strings keep their padding in a VARCHAR / LONGTEXT
    expect(ddlType({ kind: 'string', maxLength: 300, fixedLength: true }, false)).toMatch(/^LONGTEXT/);
    expect(ddlType({ kind: 'time', precision: 7 }, false)).toMatch(/^VARCHAR\(16\) CHARACTER SET ascii/);
    expect(ddlType({ kind: 'timestamptz', precision: 6 }, false)).toBe('DATETIME(6)');
    expect(ddlType({ kind: 'datetimeoffset', precision: 3 }, false)).toMatch(/^VARCHAR\(29\)/);
    expect(ddlType({ kind: 'string', maxLength: 100 }, false)).toMatch(/^VARCHAR\(100\) .*utf8mb4_nopad_bin$/);
    expect(ddlType({ kind: 'string', maxLength: 4000 }, false)).toMatch(/^LONGTEXT/);
    expect(ddlType({ kind: 'string' }, true)).toMatch(/^VARCHAR\(768\)/);
    expect(ddlType({ kind: 'bytes' }, true)).toBe('VARBINARY(3072)');
    expect(ddlType({ kind: 'uuid' }, false)).toMatch(/^CHAR\(36\)/);
  });

  it('refuses decimals beyond DECIMAL(65,30)', () => {
    expect(ddlType({ kind: 'decimal', precision: 65, scale: 30 }, false)).toBe('DECIMAL(65,30)');
    expect(() => ddlType({ kind: 'decimal', precision: 66, scale: 0 }, false)).toThrow(/precision 1\.\.65/);
    expect(() => ddlType({ kind: 'decimal', precision: 40, scale: 31 }, false)).toThrow(/scale 0\.\.30/);
  });

  it('quotes identifiers, doubling backticks', () => {
    expect(quoteIdent('a`b')).toBe('`a``b`');
  });

  it('writes literals that keep every value exact', () => {
    expect(toLiteral(col({ kind: 'int64' }), -9223372036854775808n)).toBe('-9223372036854775808');
    expect(toLiteral(col({ kind: 'string' }), "it's \\ \0 \n")).toBe("'it\\'s \\\\ \\0 \\n'");
    expect(toLiteral(col({ kind: 'bytes' }), Buffer.from([0, 255]))).toBe("X'00ff'");
    expect(toLiteral(col({ kind: 'timestamptz', precision: 3 }), '2024-01-02T03:04:05.123Z')).toBe("'2024-01-02 03:04:05.123'");
    expect(toLiteral(col({ kind: 'timestamp', precision: 7 }), '2024-01-02T03:04:05.1234567')).toBe("'2024-01-02T03:04:05.1234567'");
    expect(() => toLiteral(col({ kind: 'float64' }), Number.NaN)).toThrow(/NaN/);
    expect(() => toLiteral(col({ kind: 'float64' }), -Infinity)).toThrow(/-Infinity/);
    // MariaDB reads -0 back as 0: never written as if it were kept
    expect(() => toLiteral(col({ kind: 'float64' }), -0)).toThrow(/-0 back as 0/);
    expect(toLiteral(col({ kind: 'float32' }), 0.10000000149011612)).toBe('0.10000000149011612');
  });

  it('reads driver values back to canonical', () => {
    expect(fromMaria({ kind: 'timestamptz', precision: 0 }, '2024-01-02 03:04:05')).toBe('2024-01-02T03:04:05Z');
    expect(fromMaria({ kind: 'int64' }, '9223372036854775807')).toBe(9223372036854775807n);
    expect(fromMaria({ kind: 'boolean' }, 1)).toBe(true);
    expect(fromMaria({ kind: 'time', precision: 2 }, '01:02:03.40')).toBe('01:02:03.40');
    // a FLOAT read as CAST(... AS DOUBLE) prints its exact value; fround keeps it a float32
    expect(fromMaria({ kind: 'float32' }, '0.10000000149011612')).toBe(0.10000000149011612);
    expect(fromMaria({ kind: 'float32' }, '16777216')).toBe(16777216);
  });

  it("reads information_schema's and its own spelling of a type alike, and widens only within a family and character set", () => {
    const verdict = (from: string, to: string) => compareTypes(parseMariaType(from), parseMariaType(to));
    expect(verdict('smallint(6)', 'SMALLINT')).toBe('same');
    expect(verdict('tinyint(1)', 'TINYINT(1)')).toBe('same');
    expect(verdict('varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin', 'VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin')).toBe('same');
    expect(verdict('decimal(12,2)', 'DECIMAL(12,2)')).toBe('same');
    expect(verdict('datetime(3)', 'DATETIME(3)')).toBe('same');
    expect(verdict('smallint(6)', 'INT')).toBe('widen');
    expect(verdict('float', 'DOUBLE')).toBe('widen');
    expect(verdict('decimal(12,2)', 'DECIMAL(16,6)')).toBe('widen');
    expect(verdict('varchar(20) CHARACTER SET utf8mb4', 'VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin')).toBe('widen');
    expect(verdict('varchar(200) CHARACTER SET utf8mb4', 'LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin')).toBe('widen');
    expect(verdict('datetime(3)', 'DATETIME(6)')).toBe('widen');
    expect(verdict('varchar(200) CHARACTER SET utf8mb4', 'VARCHAR(20) CHARACTER SET utf8mb4')).toBe('refuse');
    expect(verdict('double', 'FLOAT')).toBe('refuse');
    expect(verdict('tinyint(1)', 'SMALLINT')).toBe('refuse'); // a boolean is not an integer
    expect(verdict('char(36) CHARACTER SET ascii', 'CHAR(36) CHARACTER SET utf8mb4')).toBe('refuse');
    expect(verdict('varchar(5) CHARACTER SET utf8mb4', 'CHAR(5) CHARACTER SET utf8mb4')).toBe('refuse');
    expect(verdict('datetime(6)', 'VARCHAR(27) CHARACTER SET ascii COLLATE ascii_bin')).toBe('refuse');
    expect(verdict('double', 'LONGTEXT CHARACTER SET utf8mb4')).toBe('refuse');
  });
});
