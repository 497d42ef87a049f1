// Turns zod issues into messages an operator can act on: the key path, what is expected there
// (the schema's `.describe()` text) and what was found (redacted), plus a line number.

import type { z } from 'zod';
import { redact } from '../core/redact.ts';

export type Path = readonly PropertyKey[];

export interface Problem {
  message: string;
  line?: number;
}

export interface FormatContext {
  schema: z.ZodType;
  /** the document after interpolation, as plain data */
  input: unknown;
  /** line of the value at `path` (or of `key` inside the mapping at `path`) */
  lineOf: (path: Path, key?: string) => number | undefined;
}

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

export function renderValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    return JSON.stringify(redact(shown));
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  shape?: Record<string, z.ZodType>;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Steps through wrappers (optional, default, pipes from preprocess/transform) to the schema
 * that describes the value; yields each layer so a description on any of them is found. */
function* layers(schema: z.ZodType): Generator<z.ZodType> {
  let s: z.ZodType | undefined = schema;
  for (let i = 0; s && i < 20; i++) {
    yield s;
    const d = defOf(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe') s = d.in && defOf(d.in).type !== 'transform' ? d.in : d.out;
    else s = undefined;
  }
}

function childOf(schema: z.ZodType, key: PropertyKey): z.ZodType | undefined {
  for (const s of layers(schema)) {
    const d = defOf(s);
    if (d.type === 'object' && typeof key === 'string') return d.shape?.[key];
    if (d.type === 'array' && typeof key === 'number') return d.element;
    if (d.type === 'union') {
      for (const o of d.options ?? []) {
        const c = childOf(o, key);
        if (c) return c;
      }
      return undefined;
    }
  }
  return undefined;
}

function schemaAt(schema: z.ZodType, path: Path): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const key of path) s = s && childOf(s, key);
  return s;
}

function describeAt(schema: z.ZodType, path: Path): string | undefined {
  const s = schemaAt(schema, path);
  if (!s) return undefined;
  for (const layer of layers(s)) if (layer.description) return layer.description;
  return undefined;
}

function keysOf(s: z.ZodType): string[] {
  for (const layer of layers(s)) {
    const d = defOf(layer);
    if (d.type === 'object') return Object.keys(d.shape ?? {});
    if (d.type === 'union') return (d.options ?? []).flatMap(keysOf);
  }
  return [];
}

function keysAt(schema: z.ZodType, path: Path): string[] {
  const s = schemaAt(schema, path);
  return s ? keysOf(s) : [];
}

function valueAt(input: unknown, path: Path): unknown {
  let v = input;
  for (const key of path) {
    // A list given as one comma-separated string (kafka.brokers) is validated as its items.
    if (typeof v === 'string' && typeof key === 'number') {
      v = v.split(',').map((item) => item.trim()).filter(Boolean)[key];
      continue;
    }
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return dp[b.length];
}

export function closest(word: string, candidates: string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  // A key shortened or lengthened ("exclude" for "excludeColumns") is a likely slip too.
  const prefixed = candidates.find(
    (c) => w.length >= 3 && (c.toLowerCase().startsWith(w) || w.startsWith(c.toLowerCase())),
  );
  if (prefixed && bestDistance > 1) return prefixed;
  // A suggestion further away than a third of the word is noise rather than help.
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], ctx: FormatContext, prefix: Path = []): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const where = formatPath(path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = keysAt(ctx.schema, path);
        for (const key of issue.keys) {
          const guess = closest(key, known);
          const hint = guess ? `did you mean "${guess}"?` : `expected one of: ${known.join(', ')}`;
          const at = where ? `in ${where}` : 'at top level';
          problems.push({ message: `unknown key "${key}" ${at} (${hint})`, line: ctx.lineOf(path, key) });
        }
        break;
      }
      case 'invalid_union': {
        // Report the branch whose type matches the value (e.g. the object form of a table entry)
        // rather than every alternative.
        const matching = issue.errors.filter(
          (branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
        );
        if (matching.length === 1) problems.push(...formatIssues(matching[0], ctx, path));
        else problems.push(expected(ctx, path, where));
        break;
      }
      case 'custom':
        problems.push({ message: `${where}: ${issue.message}`, line: ctx.lineOf(path) });
        break;
      default:
        problems.push(expected(ctx, path, where));
    }
  }
  return problems;
}

function expected(ctx: FormatContext, path: Path, where: string): Problem {
  const value = valueAt(ctx.input, path);
  const description = describeAt(ctx.schema, path) ?? 'a valid value';
  const label = where || 'the file';
  const message =
    value === undefined
      ? `${label}: missing; expected ${description}`
      : `${label}: expected ${description}, got ${renderValue(value)}`;
  return { message, line: ctx.lineOf(path) };
}
