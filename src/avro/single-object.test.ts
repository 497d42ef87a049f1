import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { fingerprintHex, parsingCanonicalForm, schemaFingerprint } from './canonical-form.ts';
import { TableSchemas } from './envelope.ts';
import { AvroDecodeError } from './errors.ts';
import { parseType } from './logical-types.ts';
import {
  decodeConfluent, decodeSingleObject, encodeConfluent, encodeSingleObject, readConfluentSchemaId,
  readSingleObjectFingerprint, SchemaRegistry, SingleObjectCodec,
} from './single-object.ts';
import { envelope, table } from './test-support.ts';

// Apache Avro, share/test/data/schema-tests.txt: input, canonical form, published fingerprint
// (signed 64-bit, as Java prints it; null where the file gives none).
const VECTORS: [string, string, string | null][] = [
  ['"null"', '"null"', '7195948357588979594'],
  ['{"type":"null"}', '"null"', null],
  ['"boolean"', '"boolean"', '-6970731678124411036'],
  ['{"type":"boolean"}', '"boolean"', null],
  ['"int"', '"int"', '8247732601305521295'],
  ['{"type":"int"}', '"int"', null],
  ['"long"', '"long"', '-3434872931120570953'],
  ['{"type":"long"}', '"long"', null],
  ['"float"', '"float"', '5583340709985441680'],
  ['{"type":"float"}', '"float"', null],
  ['"double"', '"double"', '-8181574048448539266'],
  ['{"type":"double"}', '"double"', null],
  ['"bytes"', '"bytes"', '5746618253357095269'],
  ['{"type":"bytes"}', '"bytes"', null],
  ['"string"', '"string"', '-8142146995180207161'],
  ['{"type":"string"}', '"string"', null],
  ['[  ]', '[]', '-1241056759729112623'],
  ['[ "int"  ]', '["int"]', '-5232228896498058493'],
  ['[ "int" , {"type":"boolean"} ]', '["int","boolean"]', '5392556393470105090'],
  ['{"fields":[], "type":"record", "name":"foo"}', '{"name":"foo","type":"record","fields":[]}', '-4824392279771201922'],
  ['{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}', '{"name":"x.y.foo","type":"record","fields":[]}', '5916914534497305771'],
  ['{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}', '{"name":"a.b.foo","type":"record","fields":[]}', '-4616218487480524110'],
  ['{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}', '{"name":"foo","type":"record","fields":[]}', '-4824392279771201922'],
  ['{"fields":[], "type":"record", "name":"foo", "aliases":["foo","bar"]}', '{"name":"foo","type":"record","fields":[]}', '-4824392279771201922'],
  ['{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}', '{"name":"foo","type":"record","fields":[]}', '-4824392279771201922'],
  ['{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}', '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}', '7843277075252814651'],
  [
    '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"},\n {"order":"descending","name":"f2","doc":"Hello","type":"int"}],\n "type":"record", "name":"foo"\n}',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    '-4860222112080293046',
  ],
  ['{"type":"enum", "name":"foo", "symbols":["A1"]}', '{"name":"foo","type":"enum","symbols":["A1"]}', '-6342190197741309591'],
  ['{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}', '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}', '-4448647247586288245'],
  ['{"name":"foo","type":"fixed","size":15}', '{"name":"foo","type":"fixed","size":15}', '1756455273707447556'],
  ['{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}', '{"name":"x.y.z.foo","type":"fixed","size":32}', '-3064184465700546786'],
  ['{ "items":{"type":"null"}, "type":"array"}', '{"type":"array","items":"null"}', '-589620603366471059'],
  ['{ "values":"string", "type":"map"}', '{"type":"map","values":"string"}', '-8732877298790414990'],
  [
    '{"name":"PigValue","type":"record", "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    '-1759257747318642341',
  ],
];

/** Bit-at-a-time CRC-64-AVRO, independent of the table-driven implementation under test. */
function slowFingerprint(text: string): bigint {
  const EMPTY = 0xc15d213aa4d7a795n;
  let fp = EMPTY;
  for (const byte of Buffer.from(text, 'utf8')) {
    fp ^= BigInt(byte);
    for (let i = 0; i < 8; i++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
  }
  return fp;
}

describe('parsing canonical form and CRC-64-AVRO', () => {
  it.each(VECTORS)('spec vector %s', (input, canonical, fp) => {
    expect(parsingCanonicalForm(input)).toBe(canonical);
    const got = schemaFingerprint(input);
    expect(got).toBe(slowFingerprint(canonical));
    if (fp !== null) expect(BigInt.asIntN(64, got).toString()).toBe(fp);
  });

  it('agrees with avsc\'s own canonical export on ctrelay\'s generated schemas', () => {
    const meta = table([
      { name: 'id', type: { kind: 'int64' } },
      { name: 'amount', type: { kind: 'decimal', precision: 38, scale: 4 }, nullable: true },
      { name: 'fee', type: { kind: 'decimal', precision: 38, scale: 4 } },
      { name: 'at', type: { kind: 'timestamptz', precision: 6 } },
      { name: 'u', type: { kind: 'uuid' } },
    ]);
    const schema = new TableSchemas(meta, 'shop').valueSchema;
    expect(parsingCanonicalForm(schema)).toBe(JSON.stringify(parseType(schema).schema()));
    expect(parsingCanonicalForm(schema)).not.toContain('logicalType');
    expect(parsingCanonicalForm(schema)).toContain('"name":"ctrelay.decimal.p38s4","type":"fixed","size":16');
  });

  it('formats the fingerprint as 16 hex digits of the unsigned value', () => {
    expect(fingerprintHex(schemaFingerprint('"null"'))).toBe('63dd24e7cc258f8a');
    expect(fingerprintHex(1n)).toBe('0000000000000001');
  });
});

describe('single-object encoding', () => {
  const type = parseType({ type: 'record', name: 'ctrelay.T', fields: [{ name: 'a', type: 'long' }, { name: 's', type: 'string' }] });
  const fp = schemaFingerprint(type.schema());

  it('writes C3 01, the fingerprint little-endian, then the body', () => {
    const buf = encodeSingleObject(type, fp, { a: 5n, s: 'x' });
    expect(buf.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(buf.readBigUInt64LE(2)).toBe(fp);
    expect(buf.subarray(10)).toEqual(type.toBuffer({ a: 5n, s: 'x' }));
    expect(readSingleObjectFingerprint(buf)).toBe(fp);
    // the spec's example: the fingerprint of "null" is 8a 8f 25 cc e7 24 dd 63 on the wire
    expect(encodeSingleObject(parseType('null'), schemaFingerprint('"null"'), null)).toEqual(Buffer.from('c3018a8f25cce724dd63', 'hex'));
  });

  it('grows past its scratch buffer for large values', () => {
    const big = 'x'.repeat(300_000);
    const buf = encodeSingleObject(type, fp, { a: 1n, s: big });
    expect(decodeSingleObject(buf, () => type).s).toBe(big);
  });

  it('decodes through a lookup; unknown fingerprint and bad magic are clear errors', () => {
    const buf = encodeSingleObject(type, fp, { a: -(2n ** 63n), s: 'é' });
    expect(decodeSingleObject(buf, (f) => (f === fp ? type : undefined))).toEqual({ a: -(2n ** 63n), s: 'é' });
    expect(() => decodeSingleObject(buf, () => undefined)).toThrow(AvroDecodeError);
    expect(() => decodeSingleObject(buf, () => undefined)).toThrow(fingerprintHex(fp));
    const bad = Buffer.from(buf);
    bad[0] = 0x00;
    expect(() => decodeSingleObject(bad, () => type)).toThrow(/not an Avro single-object message: starts with 0001/);
    expect(() => readSingleObjectFingerprint(Buffer.from([0xc3]))).toThrow(AvroDecodeError);
    expect(() => decodeSingleObject(buf.subarray(0, buf.length - 1), () => type)).toThrow(/truncated/);
    expect(() => decodeSingleObject(Buffer.concat([buf, Buffer.from([0])]), () => type)).toThrow(/trailing/);
  });

  it('registry: register returns fingerprint and hex; lookup finds the type; records check their key', () => {
    const reg = new SchemaRegistry();
    const e = reg.register(type.schema({ exportAttrs: true }));
    expect(e.fingerprint).toBe(fp);
    expect(e.hex).toBe(fingerprintHex(fp));
    expect(reg.lookup(fp)?.json).toBe(e.json);
    expect(reg.lookup(fp + 1n)).toBeUndefined();
    const other = new SchemaRegistry();
    expect(other.registerRecord(e.hex, e.json).fingerprint).toBe(fp);
    expect(() => other.registerRecord('0000000000000000', e.json)).toThrow(/does not match/);
  });

  it('SingleObjectCodec decodes its own and older writers\' messages', () => {
    const reg = new SchemaRegistry();
    const v1 = new SingleObjectCodec({ type: 'record', name: 'ctrelay.T', fields: [{ name: 'a', type: 'long' }] }, reg);
    const v2 = new SingleObjectCodec({ type: 'record', name: 'ctrelay.T', fields: [{ name: 'a', type: 'long' }, { name: 'b', type: ['null', 'string'], default: null }] }, reg);
    expect(v1.fingerprint).not.toBe(v2.fingerprint);
    expect(v2.decode(v2.encode({ a: 1n, b: 'x' }))).toEqual({ a: 1n, b: 'x' });
    expect(v2.decode(v1.encode({ a: 2n }))).toEqual({ a: 2n, b: null });
    const stranger = new SingleObjectCodec({ type: 'record', name: 'ctrelay.T', fields: [{ name: 'z', type: 'int' }] });
    expect(() => v2.decode(stranger.encode({ z: 1 }))).toThrow(/unknown writer schema fingerprint/);
  });

  it('a generic Avro reader (plain avsc) decodes our events from the published schema', () => {
    const codec = new TableSchemas(table([{ name: 'id', type: { kind: 'int32' } }, { name: 'n', type: { kind: 'decimal', precision: 10, scale: 2 } }]), 'shop');
    const reg = new SchemaRegistry();
    const so = new SingleObjectCodec(codec.valueType, reg);
    const buf = so.encode(codec.toAvro(envelope({ id: 3, n: '-1.25' }, { id: 3 })));
    const published = reg.lookup(readSingleObjectFingerprint(buf))!;
    const generic = avro.Type.forSchema(JSON.parse(published.json));
    const v = generic.fromBuffer(buf.subarray(10)) as any;
    expect(v.after.id).toBe(3);
    expect(v.after.n.length).toBe(5);
    expect(v.after.n.readIntBE(0, 5)).toBe(-125);
    expect(v.source.version).toBe(42);
  });
});

describe('Confluent framing', () => {
  it('0x00 + big-endian schema id + body, and back', () => {
    const type = parseType('string');
    const buf = encodeConfluent(type, 0x01020304, 'hé');
    expect(buf.subarray(0, 5)).toEqual(Buffer.from([0, 1, 2, 3, 4]));
    expect(readConfluentSchemaId(buf)).toBe(0x01020304);
    expect(decodeConfluent(buf, (id) => (id === 0x01020304 ? type : undefined))).toBe('hé');
    expect(() => decodeConfluent(buf, () => undefined)).toThrow(/unknown schema id 16909060/);
    expect(() => readConfluentSchemaId(Buffer.from([0xc3, 1, 0, 0, 0]))).toThrow(AvroDecodeError);
  });
});
