// `ctrelay snapshot --keys from..to`: the key range of a re-snapshot, as the operator types it.
// Each bound is one key in the source's input form: a plain value for a one-column key
// (`100..200`, `..500`, `2026-01-01..`), or a JSON array for a composite key or for values that
// hold `..` themselves (`["eu",1]..["eu",900]`). Both bounds are inclusive; an empty bound is open.
import { ConfigError } from '../core/errors.ts';

export interface KeyRangeText {
  from: string[] | null;
  to: string[] | null;
}

/** The bounds' values; whether their count fits the table's key is checked where the key is known. */
export function parseKeyRange(text: string): KeyRangeText {
  const [fromText, toText] = split(text.trim());
  const from = bound(fromText, 'from');
  const to = bound(toText, 'to');
  if (!from && !to) throw new ConfigError(`--keys: "${text}" has neither a from nor a to key; re-snapshot the whole table without --keys`);
  return { from, to };
}

/** splits at the `..` between the bounds: after a leading JSON array, else the only `..` */
function split(text: string): [string, string] {
  if (text.startsWith('[')) {
    const end = arrayEnd(text);
    if (end < 0 || text.slice(end, end + 2) !== '..') throw usage(text);
    return [text.slice(0, end), text.slice(end + 2)];
  }
  const parts = text.split('..');
  if (parts.length !== 2) throw usage(text);
  return [parts[0], parts[1]];
}

/** index just after the JSON array that starts `text`, or -1 */
function arrayEnd(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[') depth++;
    else if (ch === ']' && --depth === 0) return i + 1;
  }
  return -1;
}

function bound(text: string, what: string): string[] | null {
  if (text === '') return null;
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ConfigError(`--keys: the ${what} key ${text} is not a JSON array`);
    }
    if (!Array.isArray(parsed) || parsed.some((v) => v === null || typeof v === 'object')) {
      throw new ConfigError(`--keys: the ${what} key ${text} must be a JSON array of strings and numbers`);
    }
    return parsed.map(String);
  }
  return [text];
}

function usage(text: string): ConfigError {
  return new ConfigError(`--keys: "${text}" is not a key range; write from..to (e.g. 100..200, ..500, or ["eu",1]..["eu",900] for a composite key)`);
}
