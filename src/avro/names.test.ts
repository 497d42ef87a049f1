import { describe, expect, it } from 'vitest';
import type { ColumnMeta } from '../core/model.ts';
import { TableSchemas } from './envelope.ts';
import { fieldNames, isValidAvroName, namespaceFor, sanitizeName, sanitizeTypeName } from './names.ts';
import { keySchema, tableMetaFromRowSchema, type RecordSchema } from './row-schema.ts';
import { envelope, eventRoundTrip, keyRoundTrip } from './test-support.ts';

const HOSTILE = ['id', 'first name', 'order', 'ñandú', 'nandu', '1st', 'first_name', 'first-name', '', '名前', '🦜', 'a.b', 'null', 'Id'];

describe('Avro names', () => {
  it('sanitises to valid names', () => {
    expect(sanitizeName('first name')).toBe('first_name');
    expect(sanitizeName('ñandú')).toBe('nandu');
    expect(sanitizeName('1st')).toBe('_1st');
    expect(sanitizeName('')).toBe('_');
    expect(sanitizeName('order')).toBe('order');
    expect(sanitizeTypeName('string')).toBe('string_');
    expect(namespaceFor('my-app.cdc', 'dbo', 'Order Lines')).toMatch(/^my_app\.cdc\.dbo\.Order_Lines_[0-9a-f]{8}$/);
    expect(namespaceFor('x', '1st', 'record')).toMatch(/^x\._1st_[0-9a-f]{8}\.record__[0-9a-f]{8}$/);
    // valid names are kept as they are (their fingerprints do not change)
    expect(namespaceFor('ctrelay', 'public', 'order_lines')).toBe('ctrelay.public.order_lines');
    expect(namespaceFor('ctrelay', 'Sales', 'OrderLines')).toBe('ctrelay.Sales.OrderLines');
    for (const n of HOSTILE) expect(isValidAvroName(sanitizeName(n))).toBe(true);
  });

  it('makes collisions unique, first come first served in catalog order', () => {
    const m = fieldNames(HOSTILE);
    const names = [...m.values()];
    expect(new Set(names).size).toBe(HOSTILE.length);
    for (const n of names) expect(isValidAvroName(n)).toBe(true);
    expect(m.get('first name')).toBe('first_name');
    expect(m.get('first_name')).toBe('first_name_2');
    expect(m.get('first-name')).toBe('first_name_3');
    expect(m.get('nandu')).toBe('nandu_2');
    expect(m.get('Id')).toBe('Id');
    // deterministic, and appending a column renames nothing that existed
    expect(fieldNames(HOSTILE)).toEqual(m);
    const more = fieldNames([...HOSTILE, 'first name ']);
    for (const n of HOSTILE) expect(more.get(n)).toBe(m.get(n));
    expect(fieldNames(['a_2', 'a', 'á'])).toEqual(new Map([['a_2', 'a_2'], ['a', 'a'], ['á', 'a_3']]));
  });

  it('a table full of hostile names gets a valid schema and round-trips by source names', () => {
    const columns: ColumnMeta[] = HOSTILE.map((name, i) => ({ name, type: i === 0 ? { kind: 'int32' } : { kind: 'string' }, nullable: i > 1, sourceType: 'x' }));
    const meta = { schema: '1st schema', table: 'ñandú lines', key: ['id', 'first name'], columns };
    const codec = new TableSchemas(meta, 'my-app');
    expect(codec.valueSchema.namespace).toMatch(/^my_app\._1st_schema_[0-9a-f]{8}\.nandu_lines_[0-9a-f]{8}$/);
    const row: Record<string, string | number | null> = {};
    HOSTILE.forEach((n, i) => (row[n] = i === 0 ? 7 : i % 3 === 0 ? null : `v${i}`));
    row['first name'] = 'k';
    const env = envelope(row, { id: 7, 'first name': 'k' });
    const back = eventRoundTrip(meta, env, 'my-app');
    expect(back.after).toEqual(row);
    expect(back.key).toEqual({ id: 7, 'first name': 'k' });
    expect(keyRoundTrip(meta, { id: 7, 'first name': 'k' }, 'my-app')).toEqual({ id: 7, 'first name': 'k' });
    // the source names are in the schema, enough to rebuild the table
    const rowSchema = (codec.valueSchema.fields[1].type as unknown[])[1] as RecordSchema;
    expect(rowSchema.fields.map((f) => f['ctrelay.column'])).toEqual(HOSTILE);
    expect(rowSchema['ctrelay.table']).toBe('ñandú lines');
    expect(tableMetaFromRowSchema(rowSchema)).toEqual(meta);
    expect(keySchema(meta, 'my-app').fields.map((f) => f.name)).toEqual(['id', 'first_name']);
  });

  it('tables named like the identifier cases of the config get valid, distinct full names that avsc parses', () => {
    // (schema, table) pairs as the catalog holds them: quotes, dots, spaces, unicode, reserved words, case
    const tables: [string, string][] = [
      ['Sales Ops', 'Order Lines'], ['MixedCase', 'select'], ['public', '注文明細'], ['a', 'b_c'], ['a.b', 'c'], ['a', 'b c'],
      ['a', 'b.c'], ['public', 'Order Details'], ['public', 'say "hi"'], ['dbo', 'Order]]Details'], ['null', 'record'],
      ['public', 'ORDERS'], ['public', 'orders'], ['public', 'ñandú'], ['public', 'nandu'], ['public', '🦜'], ['public', ' '],
    ];
    const names = new Set<string>();
    for (const [schema, table] of tables) {
      const ns = namespaceFor('ctrelay.e2e', schema, table);
      for (const part of ns.split('.')) expect(isValidAvroName(part), `${schema}.${table} -> ${ns}`).toBe(true);
      names.add(ns);
      const meta = {
        schema, table, key: ['id'],
        columns: [
          { name: 'id', type: { kind: 'int32' as const }, nullable: false, sourceType: 'int' },
          { name: 'at', type: { kind: 'timestamp' as const, precision: 3 }, nullable: true, sourceType: 'timestamp(3)' },
        ],
      };
      const codec = new TableSchemas(meta, 'ctrelay.e2e');
      expect(codec.valueSchema.namespace).toBe(ns);
      const back = eventRoundTrip(meta, envelope({ id: 1, at: '0001-01-01T00:00:00.000' }, { id: 1 }), 'ctrelay.e2e');
      expect(back.after).toEqual({ id: 1, at: '0001-01-01T00:00:00.000' });
    }
    expect(names.size).toBe(tables.length);
  });
});
