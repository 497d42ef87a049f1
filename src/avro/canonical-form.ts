// Parsing Canonical Form (Avro spec, "Parsing Canonical Form for Schemas"): the text the
// single-object fingerprint hashes. Written from the spec rather than taken from avsc's schema()
// export so that it does not depend on avsc's attribute handling; the tests check both agree and
// reproduce the spec's published fingerprints.
import { crc64Avro } from './crc64.ts';

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export class SchemaFormError extends Error {}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

function form(s: Json, namespace: string | undefined, seen: Set<string>): string {
  if (typeof s === 'string') {
    // [PRIMITIVES] and [FULLNAMES] for references
    return JSON.stringify(PRIMITIVES.has(s) ? s : fullName(s, namespace));
  }
  if (Array.isArray(s)) return '[' + s.map((b) => form(b, namespace, seen)).join(',') + ']';
  if (s === null || typeof s !== 'object') throw new SchemaFormError(`not a schema: ${JSON.stringify(s)}`);
  const type = s.type;
  if (typeof type !== 'string') {
    if (type !== undefined && type !== null && typeof type === 'object') return form(type, namespace, seen);
    throw new SchemaFormError(`schema without a type: ${JSON.stringify(s)}`);
  }
  // [STRIP] + [ORDER]: name, type, fields, symbols, items, values, size
  switch (type) {
    case 'record':
    case 'error':
    case 'enum':
    case 'fixed': {
      if (typeof s.name !== 'string') throw new SchemaFormError(`${type} without a name`);
      const ns = typeof s.namespace === 'string' && s.namespace !== '' ? s.namespace : namespace;
      const name = fullName(s.name, ns);
      if (seen.has(name)) return JSON.stringify(name);
      seen.add(name);
      const inner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : undefined;
      let out = `{"name":${JSON.stringify(name)},"type":${JSON.stringify(type)}`;
      if (type === 'fixed') return out + `,"size":${Number(s.size)}}`;
      if (type === 'enum') {
        const symbols = (s.symbols as string[]) ?? [];
        return out + `,"symbols":[${symbols.map((x) => JSON.stringify(x)).join(',')}]}`;
      }
      const fields = (s.fields as { [k: string]: Json }[]) ?? [];
      out += ',"fields":[';
      out += fields.map((f) => `{"name":${JSON.stringify(f.name)},"type":${form(f.type, inner, seen)}}`).join(',');
      return out + ']}';
    }
    case 'array':
      return `{"type":"array","items":${form(s.items as Json, namespace, seen)}}`;
    case 'map':
      return `{"type":"map","values":${form(s.values as Json, namespace, seen)}}`;
    default:
      // {"type":"int", ...attributes} is the primitive; {"type":"some.Name"} a reference
      return form(type, namespace, seen);
  }
}

/** The Parsing Canonical Form of a schema given as JSON text or a parsed object. */
export function parsingCanonicalForm(schema: unknown): string {
  const s = (typeof schema === 'string' ? parseSchemaText(schema) : schema) as Json;
  return form(s, undefined, new Set());
}

function parseSchemaText(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    // a bare name such as `int` is a valid schema reference in some tools
    return text.trim();
  }
}

/** CRC-64-AVRO of the Parsing Canonical Form, as an unsigned 64-bit bigint. */
export function schemaFingerprint(schema: unknown): bigint {
  return crc64Avro(Buffer.from(parsingCanonicalForm(schema), 'utf8'));
}

/** The fingerprint as 16 lower-case hex digits of the unsigned value (the `<prefix>.schemas` key). */
export function fingerprintHex(fp: bigint): string {
  return fp.toString(16).padStart(16, '0');
}
