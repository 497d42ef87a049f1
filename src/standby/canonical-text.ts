// The exact canonical string of a value, for a column a standby keeps as text (config
// standby.tables[].textColumns): what an engine cannot hold natively (NaN, +-Infinity and -0 on
// MariaDB, say) survives there unchanged, and reads back as a string.
import type { ColumnType, Value } from '../core/model.ts';

/**
 * The text a textColumns column holds for `v` of a column of type `t`:
 * - float32/float64: `NaN`, `Infinity`, `-Infinity`, `-0`, else the shortest decimal string that
 *   reads back as the same double (ECMAScript Number::toString, e.g. `0.1`, `1e+308`, `5e-324`);
 * - int16/int32/int64: the decimal integer; boolean: `true` / `false`;
 * - bytes: lower-case hex, two digits per byte, no prefix;
 * - every other type: its canonical string as src/core/model.ts defines it (decimals with their
 *   scale's digits, temporal types at their precision, uuid in lower case, strings as they are).
 * SQL NULL stays null.
 */
export function canonicalText(t: ColumnType, v: Value | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString('hex');
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (Object.is(v, -0)) return '-0';
      return String(v); // NaN, Infinity, -Infinity, and the shortest round-trip form
    default:
      return t.kind === 'uuid' ? v.toLowerCase() : v;
  }
}
