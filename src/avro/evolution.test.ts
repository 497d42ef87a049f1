import { describe, expect, it } from 'vitest';
import { DecodeError } from '../core/errors.ts';
import type { ColumnMeta, ColumnType, TableMeta } from '../core/model.ts';
import { fingerprintHex, schemaFingerprint } from './canonical-form.ts';
import { TableSchemas } from './envelope.ts';
import { SingleObjectEventDecoder } from './event-decoder.ts';
import { SingleObjectTableEncoder } from './table-encoder.ts';
import { parseType } from './logical-types.ts';
import { createResolver, SchemaRegistry, SingleObjectCodec } from './single-object.ts';
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
const readAs = (reader: TableSchemas, writer: TableSchemas, buf: Buffer) => reader.fromAvro(reader.valueType.fromBuffer(buf, createResolver(reader.valueType, writer.valueType) as never));
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
    const back = reader.fromBuffer(encodeBody(v1, envelope(row1, { id: 1n })), createResolver(reader, v1.valueType) as never) as any;
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

  it('every change of a date/time column\'s unit, precision or logical type changes the value and key fingerprints', () => {
    const kinds: ColumnType[] = [
      { kind: 'int32' }, { kind: 'int64' }, { kind: 'date' },
      ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((precision): ColumnType[] => [
        { kind: 'time', precision }, { kind: 'time', precision, endOfDay: true },
        { kind: 'timestamp', precision }, { kind: 'timestamptz', precision },
      ]),
    ];
    const values = new Map<bigint, string>();
    const keys = new Map<bigint, string>();
    for (const type of kinds) {
      const what = JSON.stringify(type);
      const ts = new TableSchemas(table([{ name: 'id', type }, { name: 'v', type, nullable: true }, { name: 'n', type: { kind: 'string' } }]), 'p');
      const v = new SingleObjectCodec(ts.valueSchema).fingerprint;
      const k = new SingleObjectCodec(ts.keySchema).fingerprint;
      expect(values.get(v), `${what} shares the value fingerprint of ${values.get(v)}`).toBeUndefined();
      expect(keys.get(k), `${what} shares the key fingerprint of ${keys.get(k)}`).toBeUndefined();
      values.set(v, what);
      keys.set(k, what);
    }
    // a table without such columns keeps the table namespace: its fingerprints are what they were
    const plain = new TableSchemas(table([{ name: 'id', type: { kind: 'int64' } }, { name: 'd', type: { kind: 'decimal', precision: 10, scale: 2 } }]), 'p');
    expect(plain.valueSchema.namespace).toBe('p.dbo.things');
    expect(((plain.valueSchema.fields[1].type as unknown[])[1] as { namespace: string }).namespace).toBe('p.dbo.things');
    expect((plain.keySchema as { namespace: string }).namespace).toBe('p.dbo.things');
    // only the types the canonical form cannot see count: adding a bigint column keeps the row's namespace
    const a = new TableSchemas(base, 'p');
    const b = new TableSchemas({ ...base, columns: [...base.columns, { name: 'big', type: { kind: 'int64' }, nullable: true, sourceType: 'bigint' }] }, 'p');
    const rowNs = (t: TableSchemas) => ((t.valueSchema.fields[1].type as unknown[])[1] as { namespace: string }).namespace;
    expect(rowNs(a)).toBe(rowNs(b));
    expect(rowNs(a)).toMatch(/^p\.dbo\.things\.enc_[0-9a-f]{16}$/);
  });

  it('type changes Avro maps to one type (smallint -> integer, varchar(20) -> varchar(200), char, json, uuid) change the fingerprint', () => {
    const fingerprint = (type: ColumnMeta['type']) => new SingleObjectCodec(new TableSchemas(table([{ name: 'id', type: { kind: 'int64' } }, { name: 'c', type, nullable: true }]), 'p').valueSchema).fingerprint;
    const kinds: ColumnMeta['type'][] = [
      { kind: 'int16' }, { kind: 'int32' },
      { kind: 'string', maxLength: 20 }, { kind: 'string', maxLength: 200 }, { kind: 'string' }, { kind: 'string', maxLength: 20, fixedLength: true },
      { kind: 'json' }, { kind: 'xml' }, { kind: 'uuid' }, { kind: 'bytes', maxLength: 16 }, { kind: 'bytes' },
    ];
    const seen = new Map<bigint, string>();
    for (const t of kinds) {
      const fp = fingerprint(t);
      expect(seen.get(fp), `${JSON.stringify(t)} shares a fingerprint with ${seen.get(fp)}`).toBeUndefined();
      seen.set(fp, JSON.stringify(t));
    }
  });

  it('timestamp(3) -> timestamp(6): old and new events each decode to their exact value through the registry of both schemas', () => {
    const v3 = new SingleObjectTableEncoder(base, 'p');
    const v6 = new SingleObjectTableEncoder({ ...base, columns: [base.columns[0], base.columns[1], { ...base.columns[2], type: { kind: 'timestamp', precision: 6 } }] }, 'p');
    expect(v3.schemas[1].fingerprint).not.toBe(v6.schemas[1].fingerprint);
    const decoder = new SingleObjectEventDecoder();
    decoder.learn([...v3.schemas, ...v6.schemas]);
    const old = v3.encodeEvent(envelope(row1, { id: 1n }));
    const now = v6.encodeEvent(envelope({ ...row1, at: '2024-02-29T23:59:59.123456' }, { id: 1n }));
    expect(decoder.decodeEvent(old, 'here')!.event.after!.at).toBe('2024-02-29T23:59:59.123');
    expect(decoder.decodeEvent(now, 'here')!.event.after!.at).toBe('2024-02-29T23:59:59.123456');
  });

  it('refuses to decode with a fingerprint that arrived with two decodings (schemas written before units were in the fingerprint)', () => {
    // what ctrelay wrote before: row records in the table namespace, whatever their units
    const meta = (p: number) => ({ ...base, columns: [base.columns[0], base.columns[1], { ...base.columns[2], type: { kind: 'timestamp' as const, precision: p } }] });
    const legacy = (p: number) => {
      const s = structuredClone(new TableSchemas(meta(p), 'p').valueSchema);
      ((s.fields[1].type as unknown[])[1] as { namespace: string }).namespace = 'p.dbo.things';
      (s.fields[2].type as { namespace: string }).namespace = 'p.dbo.things';
      return s;
    };
    const record = (p: number) => ({ fingerprint: fingerprintHex(schemaFingerprint(legacy(p))), json: JSON.stringify(legacy(p)) });
    expect(record(3).fingerprint).toBe(record(6).fingerprint);
    const reg = new SchemaRegistry();
    const first = reg.register(legacy(3));
    expect(reg.register(JSON.stringify(legacy(3)))).toBe(first);
    // same unit, other digits: still another decoding (the canonical string's precision)
    expect(() => reg.register(legacy(2))).toThrow(/share fingerprint .* but decode differently/);
    expect(() => reg.lookup(first.fingerprint)).toThrow(/share fingerprint/);
    // a consumer learns both from the topic; decoding an event of that fingerprint is an error, not a guess
    const decoder = new SingleObjectEventDecoder();
    decoder.learn([record(3), record(6)]);
    const body = new TableSchemas(meta(3), 'p').valueType.toBuffer(envelope(row1, { id: 1n }));
    const message = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8), body]);
    message.writeBigUInt64LE(BigInt(`0x${record(3).fingerprint}`), 2);
    expect(() => decoder.decodeEvent(message, 'topic[0]@5')).toThrow(DecodeError);
    expect(() => decoder.decodeEvent(message, 'topic[0]@5')).toThrow(/topic\[0\]@5: two schemas share fingerprint/);
    // other fingerprints still decode
    const fine = new SingleObjectTableEncoder(wider, 'p');
    decoder.learn(fine.schemas);
    expect(decoder.decodeEvent(fine.encodeEvent(envelope(row2, { id: 1n })), 'x')!.event.after).toEqual(row2);
  });
});
