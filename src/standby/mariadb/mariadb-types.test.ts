import { describe, expect, it } from 'vitest';
import type { ColumnMeta, ColumnType } from '../../core/model.ts';
import { ddlType, fromMaria, quoteIdent, toLiteral } from './mariadb-types.ts';

const col = (type: ColumnType): ColumnMeta => ({ name: 'c', type, nullable: true, sourceType: type.kind });

describe('MariaDB type mapping', () => {
  it('chooses lossless column types', () => {
    expect(ddlType({ kind: 'float32' }, false)).toBe('DOUBLE');
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
  });

  it('reads driver values back to canonical', () => {
    expect(fromMaria({ kind: 'timestamptz', precision: 0 }, '2024-01-02 03:04:05')).toBe('2024-01-02T03:04:05Z');
    expect(fromMaria({ kind: 'int64' }, '9223372036854775807')).toBe(9223372036854775807n);
    expect(fromMaria({ kind: 'boolean' }, 1)).toBe(true);
    expect(fromMaria({ kind: 'time', precision: 2 }, '01:02:03.40')).toBe('01:02:03.40');
  });
});
