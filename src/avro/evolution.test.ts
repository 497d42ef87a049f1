import { describe, expect, it } from 'vitest';
import type { ColumnMeta, TableMeta } from '../core/model.ts';
import { TableSchemas } from './envelope.ts';
import { SingleObjectEventDecoder } from './event-decoder.ts';
import { SingleObjectTableEncoder } from './table-encoder.ts';
import { parseType } from './logical-types.ts';
import { SchemaRegistry, SingleObjectCodec } from './single-object.ts';
import { envelope, table } from './test-support.ts';

const base: TableMeta = table([
  { name: 'id', type: { kind: 'int64' } },
  { name: 'amount', type: { kind: 'decimal', precision: 10, scale: 2 } },
  { name: 'at', type: { kind: 'timestamp', precision: 3 }, nullable: true },
]);
const extra: ColumnMeta[] = [
  { name: 'note', type: { kind: 'string' }, nullable: true, sourceType: 'nvarchar(max)' },
  { name: 'rate', type: { kind: 'decimal', precision: 38, scale: 10 }, nullable: true, sourceType: 'decimal(38,10)' },
  { name: 'seen', type: { kind: 'timestamp', precision: 7 }, nullable: true, sourceType: 'datetime2(7)' },
];
const wider: TableMeta = { ...base, columns: [...base.columns, ...extra] };

const row1 = { id: 1n, amount: '-12.30', at: '2024-02-29T23:59:59.123' };

/** The Avro binary body of an event in `writer`'s schema. */
const encodeBody = (writer: TableSchemas, env: ReturnType<typeof envelope>) => writer.valueType.toBuffer(writer.toAvro(env));
/** Reads a body written with `writer`'s schema into `reader`'s schema (Avro schema resolution). */
const readAs = (reader: TableSchemas, writer: TableSchemas, buf: Buffer) => reader.fromAvro(reader.valueType.fromBuffer(buf, reader.valueType.createResolver(writer.valueType)));
const row2 = { ...row1, note: 'hi', rate: '-0.0000000001', seen: '2024-02-29T23:59:59.1234567' };

describe('schema evolution', () => {
  it('a reader that added nullable (defaulted) columns reads old events, with nulls', () => {
    const v1 = new TableSchemas(base, 'p');
    const v2 = new TableSchemas(wider, 'p');
    const back = readAs(v2, v1, encodeBody(v1, envelope(row1, { id: 1n })));
    expect(back.after).toEqual({ ...row1, note: null, rate: null, seen: null });
    expect(back.key).toEqual({ id: 1n });
  });

  it('a reader that lacks the writer\'s new columns skips them (logical types included)', () => {
    const v1 = new TableSchemas(base, 'p');
    const v2 = new TableSchemas(wider, 'p');
    const back = readAs(v1, v2, encodeBody(v2, { ...envelope(row2, { id: 1n }), changed_columns: ['note'] }));
    expect(back.after).toEqual(row1);
    expect(back.changed_columns).toEqual(['note']);
    expect(back.source.version).toBe(42n);
  });

  it('a reader envelope with an added defaulted field reads old events', () => {
    const v1 = new TableSchemas(base, 'p');
    const schema = structuredClone(v1.valueSchema);
    schema.fields.push({ name: 'tx_id', type: 'string', default: 'none' });
    const reader = parseType(schema);
    const back = reader.fromBuffer(encodeBody(v1, envelope(row1, { id: 1n })), reader.createResolver(v1.valueType)) as any;
    expect(back.tx_id).toBe('none');
    expect(back.after).toEqual(row1);
  });

  it('widened decimal precision, scale and timestamp precision read old events without loss', () => {
    const old = new TableSchemas(base, 'p');
    const widened = new TableSchemas({ ...base, columns: [
      base.columns[0],
      { ...base.columns[1], type: { kind: 'decimal', precision: 20, scale: 4 } },
      { ...base.columns[2], type: { kind: 'timestamp', precision: 7 } },
    ] }, 'p');
    const back = readAs(widened, old, encodeBody(old, envelope(row1, { id: 1n })));
    expect(back.after).toEqual({ id: 1n, amount: '-12.3000', at: '2024-02-29T23:59:59.1230000' });
  });

  it('through the single-object registry, as a consumer of the topic would', () => {
    const reg = new SchemaRegistry();
    const v1 = new TableSchemas(base, 'p');
    const v2 = new TableSchemas(wider, 'p');
    const w1 = new SingleObjectCodec(v1.valueType, reg);
    const w2 = new SingleObjectCodec(v2.valueType, reg);
    expect(w1.fingerprint).not.toBe(w2.fingerprint);
    const m1 = w1.encode(v1.toAvro(envelope(row1, { id: 1n })));
    const m2 = w2.encode(v2.toAvro(envelope(row2, { id: 1n })));
    expect(v2.fromAvro(w2.decode(m1)).after).toEqual({ ...row1, note: null, rate: null, seen: null });
    expect(v1.fromAvro(w1.decode(m2)).after).toEqual(row1);
  });

  it('the pipeline encoder and decoder: framed, each event read with its own writer schema, errors naming the column', () => {
    const v1 = new SingleObjectTableEncoder(base, 'p');
    const v2 = new SingleObjectTableEncoder(wider, 'p');
    const decoder = new SingleObjectEventDecoder();
    decoder.learn([...v1.schemas, ...v2.schemas]);
    const m = v2.encodeEvent(envelope(row2, { id: 1n }));
    expect(m.readBigUInt64LE(2).toString(16).padStart(16, '0')).toBe(v2.schemas[1].fingerprint);
    const d2 = decoder.decodeEvent(m, 'here')!;
    expect(d2.event.after).toEqual(row2);
    expect(d2.table.columns.map((c) => c.name)).toEqual(wider.columns.map((c) => c.name));
    const d1 = decoder.decodeEvent(v1.encodeEvent(envelope(row1, { id: 1n })), 'here')!;
    expect(d1.event.after).toEqual(row1);
    expect(d1.table.columns.map((c) => c.name)).toEqual(base.columns.map((c) => c.name));
    expect(decoder.tableMeta('dbo.things')).toEqual(wider);
    expect(decoder.decodeKey(v2.encodeKey({ id: -5n }), 'here')).toEqual({ id: -5n });
    expect(new SingleObjectEventDecoder().decodeEvent(m, 'here')).toBeNull();
    expect(() => v1.encodeEvent(envelope({ ...row1, amount: '123456789.00' }, { id: 1n }))).toThrow(/column "amount".*does not fit decimal\(10,2\)/);
    expect(() => v1.encodeKey({ id: 'x' as never })).toThrow(/column "id"/);
    expect(() => decoder.decodeEvent(Buffer.from('nope'), 'topic[0]@7')).toThrow(/topic\[0\]@7/);
  });

  it('decimal scale changes give different fingerprints (the reason for named fixeds)', () => {
    const a = new SingleObjectCodec(new TableSchemas(base, 'p').valueType);
    const b = new SingleObjectCodec(new TableSchemas({ ...base, columns: [base.columns[0], { ...base.columns[1], type: { kind: 'decimal', precision: 10, scale: 3 } }, base.columns[2]] }, 'p').valueType);
    expect(a.fingerprint).not.toBe(b.fingerprint);
  });
});
