// The fixed schemas under schemas/, read once from disk relative to this module so they ship as
// plain .avsc files any Avro tool can read.
import { readFileSync } from 'node:fs';

export type JsonObject = Record<string, unknown>;

const cache = new Map<string, JsonObject>();

/** A parsed copy of schemas/<file>; callers may mutate it. */
export function loadSchemaFile(file: string): JsonObject {
  let schema = cache.get(file);
  if (schema === undefined) {
    const url = new URL(`../../schemas/${file}`, import.meta.url);
    schema = JSON.parse(readFileSync(url, 'utf8')) as JsonObject;
    cache.set(file, schema);
  }
  return structuredClone(schema);
}
