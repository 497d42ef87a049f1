// Source identifiers -> Avro names ([A-Za-z_][A-Za-z0-9_]*). The source name is kept in schema
// attributes ("ctrelay.column", "ctrelay.table"), so the mapping only has to be valid, readable,
// unique and deterministic.
import { createHash } from 'node:crypto';

const VALID = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Type names that would clash with Avro's own: avsc (and the spec) refuse to redefine a primitive,
 * and the complex-type keywords confuse humans and some code generators.
 */
const RESERVED_TYPE_NAMES = new Set([
  'null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string',
  'record', 'enum', 'array', 'map', 'fixed', 'union', 'error',
]);

export function isValidAvroName(s: string): boolean {
  return VALID.test(s);
}

/**
 * One identifier -> a valid Avro name: accents folded ("ñandú" -> "nandu"), anything else outside
 * [A-Za-z0-9_] becomes "_", a leading digit (or an empty result) gets a "_" prefix.
 */
export function sanitizeName(s: string): string {
  if (VALID.test(s)) return s;
  const folded = s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  let out = folded.replace(/[^A-Za-z0-9_]/g, '_');
  if (out === '' || /^[0-9]/.test(out)) out = '_' + out;
  return out;
}

/** A name for a named type (record, fixed) or a namespace component: also avoids Avro's keywords. */
export function sanitizeTypeName(s: string): string {
  const out = sanitizeName(s);
  return RESERVED_TYPE_NAMES.has(out) ? out + '_' : out;
}

/**
 * A schema or table name as a namespace component: itself when it is a valid Avro name, else its
 * sanitised form plus "_" and 8 hex digits of the SHA-256 of the name, so that tables whose names
 * sanitise alike ("b c", "b.c" and "b_c"; "ñandú" and "nandu") still get distinct full names (code
 * generators and name-keyed registries would otherwise mix them up).
 */
export function namespaceComponent(name: string): string {
  const out = sanitizeTypeName(name);
  return out === name ? out : `${out}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** "my-app.cdc" + "dbo" + "Order Lines" -> "my_app.cdc.dbo.Order_Lines_<8 hex>" (see namespaceComponent) */
export function namespaceFor(prefix: string, ...parts: string[]): string {
  const components = prefix.split('.').filter((p) => p !== '').map(sanitizeTypeName);
  return [...components, ...parts.map(namespaceComponent)].join('.');
}

/**
 * Field names for columns, unique within one record. Assigned in catalog order, first come first
 * served, so appending a column (the usual schema change) never renames an existing field. A
 * collision gets "_2", "_3", ... (skipping any name already taken). Avro names are case-sensitive,
 * so "Id" and "id" are distinct and kept.
 */
export function fieldNames(sourceNames: readonly string[], reserved: readonly string[] = []): Map<string, string> {
  const used = new Set<string>(reserved);
  const out = new Map<string, string>();
  for (const src of sourceNames) {
    const base = sanitizeName(src);
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
    used.add(name);
    out.set(src, name);
  }
  return out;
}
