// The write shape of a pre-created standby table (write-shape.ts): what is written, updated,
// overridden and read back, decided from the standby's catalog; and the read-back comparison.
import { describe, expect, it } from 'vitest';
import { StandbyError } from '../core/errors.ts';
import type { ColumnMeta, ColumnType, TableMeta } from '../core/model.ts';
import type { StandbyColumn } from './dialect.ts';
import { checkReadBack, plainShape, sameValue, writeShape, type CheckHint } from './write-shape.ts';

const col = (name: string, type: ColumnType, nullable = true): ColumnMeta => ({ name, type, nullable, sourceType: type.kind });
const sb = (name: string, more: Partial<StandbyColumn> = {}): StandbyColumn => ({
  name, nativeType: 'x', nullable: true, inKey: false, generated: false, identity: null, hasDefault: false, ...more,
});

const items: TableMeta = {
  schema: 's',
  table: 'items',
  key: ['id'],
  columns: [
    col('id', { kind: 'int64' }, false),
    col('name', { kind: 'string' }),
    col('qty', { kind: 'int32' }),
    col('total', { kind: 'decimal', precision: 20, scale: 2 }),
    col('seq', { kind: 'int64' }),
  ],
};
const names = (cs: ColumnMeta[]) => cs.map((c) => c.name);
const hint: CheckHint = (_t, column, why) => `fix ${column} (${why})`;

describe('writeShape', () => {
  it('a table as ctrelay creates it: every column written, the non-key ones updated, nothing read back', () => {
    const plain = writeShape(items, items.columns.map((c) => sb(c.name, { inKey: c.name === 'id' })), false, 'PostgreSQL');
    expect(plain).toEqual(plainShape(items));
    expect(names(plain.written)).toEqual(['id', 'name', 'qty', 'total', 'seq']);
    expect(names(plain.updated)).toEqual(['name', 'qty', 'total', 'seq']);
    expect(plain.overridden).toEqual([]);
    expect(plain.checked).toEqual([]);
  });

  it('in the TableMeta order whatever the standby order; standby-only columns never written', () => {
    const existing = [sb('site', { hasDefault: true, nullable: false }), sb('seq'), sb('total'), sb('qty'), sb('name'), sb('id', { inKey: true })];
    const shape = writeShape(items, existing, false, 'PostgreSQL');
    expect(names(shape.written)).toEqual(['id', 'name', 'qty', 'total', 'seq']);
  });

  it('a generated standby column is never written and is read back; an ALWAYS identity is overridden, and read back outside the key', () => {
    const existing = [
      sb('id', { inKey: true, identity: 'always', hasDefault: true }),
      sb('name'),
      sb('qty'),
      sb('total', { generated: true, hasDefault: true }),
      sb('seq', { identity: 'always', hasDefault: true }),
    ];
    const shape = writeShape(items, existing, false, 'PostgreSQL');
    expect(names(shape.written)).toEqual(['id', 'name', 'qty', 'seq']);
    expect(names(shape.updated)).toEqual(['name', 'qty']);
    expect(names(shape.overridden)).toEqual(['id', 'seq']);
    expect(shape.checked.map((c) => [c.column.name, c.why])).toEqual([['total', 'generated'], ['seq', 'identity']]);
  });

  it('a BY DEFAULT identity or AUTO_INCREMENT is written and updated like any column', () => {
    const shape = writeShape(items, [sb('id', { inKey: true, identity: 'default' }), sb('seq', { identity: 'default' })], false, 'MariaDB');
    expect(shape).toEqual(plainShape(items));
  });

  it('names compare as the engine compares them', () => {
    const upper = [sb('ID', { inKey: true }), sb('TOTAL', { generated: true })];
    expect(names(writeShape(items, upper, true, 'MariaDB').written)).not.toContain('total');
    expect(names(writeShape(items, upper, false, 'PostgreSQL').written)).toContain('total');
  });

  it('refuses a generated column in the standby key, naming table and column', () => {
    expect(() => writeShape(items, [sb('id', { inKey: true, generated: true })], false, 'PostgreSQL')).toThrow(StandbyError);
    expect(() => writeShape(items, [sb('id', { inKey: true, generated: true })], false, 'PostgreSQL')).toThrow(/PostgreSQL standby table s\.items: primary key column id is a generated column/);
  });
});

describe('sameValue', () => {
  it.each<[unknown, unknown, boolean]>([
    [null, null, true],
    [null, undefined, true],
    [null, 0, false],
    [1, 1, true],
    [0, -0, false],
    [Number.NaN, Number.NaN, true],
    [1n, 1n, true],
    [1n, 1, false],
    ['1.50', '1.50', true],
    ['1.50', '1.5', false],
    [Buffer.from([1, 2]), Buffer.from([1, 2]), true],
    [Buffer.from([1, 2]), Buffer.from([1]), false],
    [Buffer.from('a'), 'a', false],
    [true, true, true],
    [true, 1, false],
  ])('%s vs %s: %s', (a, b, same) => {
    expect(sameValue(a as never, b as never)).toBe(same);
  });
});

describe('checkReadBack', () => {
  const shape = writeShape(items, [sb('id', { inKey: true }), sb('total', { generated: true }), sb('seq', { identity: 'always' })], false, 'PostgreSQL');
  const rows = [
    { id: 1n, name: 'a', qty: 2, total: '3.00', seq: 5n },
    { id: 2n, name: 'b', qty: 1, total: null, seq: 6n },
  ];

  it('nothing to say when the standby holds what the source has', () => {
    expect(checkReadBack(items, shape, rows, [{ id: 2n, total: null, seq: 6n }, { id: 1n, total: '3.00', seq: 5n }], 'PostgreSQL', hint)).toBeNull();
    expect(checkReadBack(items, plainShape(items), rows, [], 'PostgreSQL', hint)).toBeNull();
  });

  it('a computed value that differs: table, key, column, both values and the hint', () => {
    const err = checkReadBack(items, shape, rows, [{ id: 1n, total: '3.00', seq: 5n }, { id: 2n, total: '0.00', seq: 6n }], 'PostgreSQL', hint);
    expect(err).toBeInstanceOf(StandbyError);
    expect(err!.message).toBe(
      "PostgreSQL standby table s.items at key (id=2): column total is computed by the standby as '0.00' but the source has NULL: " +
        "the standby's generated column does not compute what the source holds (another expression, or a column the source stores plainly). " +
        'fix total (generated); the transaction is rolled back and the applier stops until then',
    );
  });

  it('an identity the standby could not update', () => {
    const err = checkReadBack(items, shape, rows, [{ id: 1n, total: '3.00', seq: 4n }, { id: 2n, total: null, seq: 6n }], 'SQL Server', hint);
    expect(err!.message).toContain('SQL Server standby table s.items at key (id=1): identity column seq holds 4 on the standby but the source has 5');
    expect(err!.message).toContain('fix seq (identity)');
  });

  it('a row the standby no longer has right after the write', () => {
    expect(checkReadBack(items, shape, rows, [{ id: 1n, total: '3.00', seq: 5n }], 'MariaDB', hint)!.message).toContain('at key (id=2): the row is not on the standby right after it was written');
  });
});
