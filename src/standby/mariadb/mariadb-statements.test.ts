// The MariaDB statements' text for pre-created tables (write-shape.ts): columns by name, generated
// columns never written, the read-back of what the standby computed.
import { describe, expect, it } from 'vitest';
import type { ColumnMeta, ColumnType, TableMeta } from '../../core/model.ts';
import type { StandbyColumn } from '../dialect.ts';
import { plainShape, writeShape } from '../write-shape.ts';
import { readBackStatement, rowTuple, upsertParts } from './mariadb-statements.ts';

const col = (name: string, type: ColumnType, nullable = true): ColumnMeta => ({ name, type, nullable, sourceType: type.kind });
const sb = (name: string, more: Partial<StandbyColumn> = {}): StandbyColumn => ({
  name, nativeType: 'x', nullable: true, inKey: false, generated: false, identity: null, hasDefault: false, ...more,
});
const t: TableMeta = {
  schema: 'db',
  table: 'child',
  key: ['id'],
  columns: [col('id', { kind: 'int32' }, false), col('qty', { kind: 'int32' }), col('total', { kind: 'decimal', precision: 20, scale: 2 }), col('r', { kind: 'float32' })],
};

describe('MariaDB upsert of a pre-created table', () => {
  it('as ctrelay creates tables: every column', () => {
    const { head, tail } = upsertParts(t, plainShape(t));
    expect(head).toBe('INSERT INTO `db`.`child` (`id`, `qty`, `total`, `r`) VALUES ');
    expect(tail).toBe(' ON DUPLICATE KEY UPDATE `qty` = VALUES(`qty`), `total` = VALUES(`total`), `r` = VALUES(`r`)');
  });

  it('a generated column is never written (MariaDB would refuse the value) and is read back by key; AUTO_INCREMENT is written as it is', () => {
    const shape = writeShape(t, [sb('R', { generated: true }), sb('TOTAL', { generated: true }), sb('id', { inKey: true, identity: 'default' }), sb('qty')], true, 'MariaDB');
    const { head, tail } = upsertParts(t, shape);
    expect(head).toBe('INSERT INTO `db`.`child` (`id`, `qty`) VALUES ');
    expect(tail).toBe(' ON DUPLICATE KEY UPDATE `qty` = VALUES(`qty`)');
    expect(rowTuple(t, shape.written, { id: 1, qty: 2, total: '3.00', r: 1.5 })).toBe('(1,2)');
    expect(readBackStatement(t, shape, [{ id: 1 }, { id: 2 }])).toBe('SELECT `id`, `total`, CAST(`r` AS DOUBLE) FROM `db`.`child` WHERE `id` IN (1,2)');
  });
});
