// Wire framings. Without a schema registry: Avro single-object encoding, `C3 01` + the 8-byte
// little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form + the Avro
// binary body; every schema goes to the compacted `<prefix>.schemas` topic keyed by its fingerprint
// hex, so any Avro consumer can decode. With a registry: Confluent framing, 0x00 + 4-byte big-endian
// schema id + body.
import type avro from 'avsc';
import { fingerprintHex, schemaFingerprint } from './canonical-form.ts';
import { AvroDecodeError } from './errors.ts';
import { parseType } from './logical-types.ts';

export const SINGLE_OBJECT_HEADER = 10;
const CONFLUENT_HEADER = 5;

export interface RegisteredSchema {
  fingerprint: bigint;
  /** 16 hex digits of the unsigned fingerprint: the record key on `<prefix>.schemas` */
  hex: string;
  /** the schema JSON text: the record value on `<prefix>.schemas` */
  json: string;
  type: avro.Type;
}

/**
 * In-memory writer-schema store keyed by fingerprint. Fed by the capture side as it creates
 * schemas, and by consumers from the `<prefix>.schemas` topic.
 *
 * Attributes (docs, ctrelay.* attributes) are not part of the fingerprint; registering a schema
 * whose fingerprint is known replaces the stored JSON, as compaction of the schemas topic would.
 * The binary layout is the same either way. What values MEAN is not: logicalType, precision, scale
 * and ctrelay.precision are outside the fingerprint too. A known fingerprint arriving with different
 * ones (two schemas of a topic written before ctrelay named temporal encodings, say timestamp(3)
 * and timestamp(6) under one fingerprint) makes that fingerprint ambiguous: decoding its events with
 * either JSON could give wrong values without an error, so `lookup` refuses it (a record from the
 * schemas topic), or `register` refuses the second schema (an encoder's own).
 */
export class SchemaRegistry {
  private readonly byFingerprint = new Map<bigint, RegisteredSchema>();
  /** fingerprints seen with two decodings: why they cannot be used */
  private readonly ambiguous = new Map<bigint, string>();

  register(schema: string | object | avro.Type): RegisteredSchema {
    const entry = this.add(schema);
    const why = this.ambiguous.get(entry.fingerprint);
    if (why) throw new AvroDecodeError(why);
    return entry;
  }

  private add(schema: string | object | avro.Type): RegisteredSchema {
    const obj: unknown = isAvroType(schema) ? schema.schema({ exportAttrs: true }) : typeof schema === 'string' ? JSON.parse(schema) : schema;
    const json = typeof schema === 'string' ? schema : JSON.stringify(obj);
    const fingerprint = schemaFingerprint(obj);
    const known = this.byFingerprint.get(fingerprint);
    if (known && known.json === json) return known;
    if (known) {
      const before = decodingForm(JSON.parse(known.json));
      const now = decodingForm(obj);
      if (before !== now && !this.ambiguous.has(fingerprint)) {
        this.ambiguous.set(
          fingerprint,
          `two schemas share fingerprint ${known.hex} but decode differently (logical types ${before} vs ${now}): ` +
            'its events cannot be decoded without risking wrong values (a ctrelay that did not put temporal units into the fingerprint published them)',
        );
      }
    }
    const entry: RegisteredSchema = { fingerprint, hex: fingerprintHex(fingerprint), json, type: isAvroType(schema) ? schema : parseType(obj) };
    this.byFingerprint.set(fingerprint, entry);
    return entry;
  }

  /** Registers a record read from `<prefix>.schemas` (key = hex, value = JSON); checks they agree. */
  registerRecord(hex: string, json: string): RegisteredSchema {
    const entry = this.add(json);
    if (entry.hex !== hex.toLowerCase()) {
      throw new AvroDecodeError(`schema record key ${hex} does not match its schema's fingerprint ${entry.hex}`);
    }
    return entry;
  }

  /** The schema of a fingerprint, undefined when unknown; throws AvroDecodeError when it is ambiguous. */
  lookup(fp: bigint): RegisteredSchema | undefined {
    const why = this.ambiguous.get(fp);
    if (why) throw new AvroDecodeError(why);
    return this.byFingerprint.get(fp);
  }

  entries(): RegisteredSchema[] {
    return [...this.byFingerprint.values()];
  }
}

const LOGICAL_ATTRS = ['logicalType', 'precision', 'scale', 'ctrelay.precision'];

/**
 * The value-meaning attributes of a schema in depth-first order: of two schemas with one Parsing
 * Canonical Form (one structure), equal exactly when every value decodes the same.
 */
export function decodingForm(schema: unknown): string {
  const out: unknown[] = [];
  let position = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    position++; // "long" and {"type": "long"} count alike
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const attrs = LOGICAL_ATTRS.map((k) => o[k] ?? null);
    if (attrs.some((a) => a !== null)) out.push([position, ...attrs]);
    if (typeof o.type === 'object') visit(o.type);
    if (Array.isArray(o.fields)) for (const f of o.fields) visit((f as Record<string, unknown>).type);
    if (o.items !== undefined) visit(o.items);
    if (o.values !== undefined) visit(o.values);
  };
  visit(schema);
  return JSON.stringify(out);
}

function isAvroType(x: unknown): x is avro.Type {
  return typeof x === 'object' && x !== null && typeof (x as avro.Type).createResolver === 'function' && typeof (x as avro.Type).toBuffer === 'function';
}

let scratch = Buffer.allocUnsafe(64 * 1024);

/** Avro-encodes `value` behind a header of `headerLength` bytes written by `header`. */
function encodeWithHeader(type: avro.Type, value: unknown, headerLength: number, header: (buf: Buffer) => void): Buffer {
  for (;;) {
    const end = type.encode(value, scratch, headerLength);
    if (end >= 0) {
      const out = Buffer.allocUnsafe(end);
      header(out);
      scratch.copy(out, headerLength, headerLength, end);
      return out;
    }
    // avsc returns -(bytes missing): grow and retry
    scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, headerLength - end + scratch.length));
  }
}

/** `C3 01` + fingerprint (little-endian) + Avro binary of `value`. */
export function encodeSingleObject(type: avro.Type, fingerprint: bigint, value: unknown): Buffer {
  return encodeWithHeader(type, value, SINGLE_OBJECT_HEADER, (buf) => {
    buf[0] = 0xc3;
    buf[1] = 0x01;
    buf.writeBigUInt64LE(fingerprint, 2);
  });
}

/** The writer fingerprint of a single-object encoded message; throws on bad magic. */
export function readSingleObjectFingerprint(buf: Buffer): bigint {
  if (buf.length < SINGLE_OBJECT_HEADER || buf[0] !== 0xc3 || buf[1] !== 0x01) {
    const head = buf.subarray(0, 2).toString('hex') || '(empty)';
    throw new AvroDecodeError(`not an Avro single-object message: starts with ${head}, expected c301 and at least ${SINGLE_OBJECT_HEADER} bytes`);
  }
  return buf.readBigUInt64LE(2);
}

/** Decodes the body starting at `offset` with `type` (and a resolver); rejects truncated or trailing bytes. */
export function decodeBody(type: avro.Type, buf: Buffer, offset: number, resolver?: object, what = 'message'): any {
  let res: { value: any; offset: number };
  try {
    res = type.decode(buf, offset, resolver as any);
  } catch (err) {
    throw new AvroDecodeError(`cannot decode ${what}: ${(err as Error).message}`, 1, { cause: err });
  }
  if (res.offset !== buf.length) {
    throw new AvroDecodeError(`cannot decode ${what}: ${res.offset < 0 ? 'truncated body' : `${buf.length - res.offset} trailing bytes`}`);
  }
  return res.value;
}

/**
 * A resolver reading `writer`'s data as `reader` (Avro schema resolution). Named types match by
 * UNQUALIFIED name, as the Avro specification says: ctrelay places row and key records in a
 * namespace naming their temporal encodings (row-schema.ts), which must not stop another version
 * of the same table from resolving. Units are converted or refused by the logical types.
 */
export function createResolver(reader: avro.Type, writer: avro.Type): object {
  return reader.createResolver(writer, { ignoreNamespaces: true });
}

export type WriterLookup = (fingerprint: bigint) => avro.Type | RegisteredSchema | undefined;

/**
 * Decodes a single-object message whose writer schema is found by fingerprint, into `reader`
 * (schema evolution) when given, else into the writer's own shape.
 */
export function decodeSingleObject(buf: Buffer, lookup: WriterLookup, reader?: avro.Type): any {
  const fp = readSingleObjectFingerprint(buf);
  const found = lookup(fp);
  if (!found) throw new AvroDecodeError(`unknown writer schema fingerprint ${fingerprintHex(fp)} (not registered from the schemas topic)`);
  const writer = 'fingerprint' in found && 'json' in found ? found.type : (found as avro.Type);
  const resolver = reader ? createResolver(reader, writer) : undefined;
  return decodeBody(reader ?? writer, buf, SINGLE_OBJECT_HEADER, resolver, `message with schema ${fingerprintHex(fp)}`);
}

/**
 * Encoder/decoder for one reader/writer schema: encodes with its own fingerprint, decodes its own
 * messages directly and others through the registry, caching one resolver per writer fingerprint.
 */
export class SingleObjectCodec<T = any> {
  readonly type: avro.Type;
  readonly schema: RegisteredSchema;
  private readonly resolvers = new Map<bigint, object>();

  constructor(schema: object | avro.Type, private readonly registry: SchemaRegistry = new SchemaRegistry()) {
    this.schema = registry.register(schema);
    this.type = this.schema.type;
  }

  get fingerprint(): bigint {
    return this.schema.fingerprint;
  }

  encode(value: T): Buffer {
    return encodeSingleObject(this.type, this.schema.fingerprint, value);
  }

  decode(buf: Buffer): T {
    const fp = readSingleObjectFingerprint(buf);
    if (fp === this.schema.fingerprint) return decodeBody(this.type, buf, SINGLE_OBJECT_HEADER, undefined, `message with schema ${this.schema.hex}`);
    let resolver = this.resolvers.get(fp);
    if (resolver === undefined) {
      const writer = this.registry.lookup(fp);
      if (!writer) throw new AvroDecodeError(`unknown writer schema fingerprint ${fingerprintHex(fp)} (not registered from the schemas topic)`);
      try {
        resolver = createResolver(this.type, writer.type);
      } catch (err) {
        throw new AvroDecodeError(`writer schema ${writer.hex} cannot be read as ${this.schema.hex}: ${(err as Error).message}`, 1, { cause: err });
      }
      this.resolvers.set(fp, resolver);
    }
    return decodeBody(this.type, buf, SINGLE_OBJECT_HEADER, resolver, `message with schema ${fingerprintHex(fp)}`);
  }
}

/** 0x00 + 4-byte big-endian schema id + Avro binary of `value`. */
export function encodeConfluent(type: avro.Type, schemaId: number, value: unknown): Buffer {
  return encodeWithHeader(type, value, CONFLUENT_HEADER, (buf) => {
    buf[0] = 0;
    buf.writeUInt32BE(schemaId, 1);
  });
}

/** The schema id of a Confluent-framed message; the body starts at byte 5. */
export function readConfluentSchemaId(buf: Buffer): number {
  if (buf.length < CONFLUENT_HEADER || buf[0] !== 0) {
    throw new AvroDecodeError(`not a Confluent-framed Avro message: starts with ${buf.subarray(0, 1).toString('hex') || '(empty)'}, expected 00 and at least ${CONFLUENT_HEADER} bytes`);
  }
  return buf.readUInt32BE(1);
}

export function decodeConfluent(buf: Buffer, lookup: (schemaId: number) => avro.Type | undefined, reader?: avro.Type): any {
  const id = readConfluentSchemaId(buf);
  const writer = lookup(id);
  if (!writer) throw new AvroDecodeError(`unknown schema id ${id}`);
  return decodeBody(reader ?? writer, buf, CONFLUENT_HEADER, reader ? createResolver(reader, writer) : undefined, `message with schema id ${id}`);
}
