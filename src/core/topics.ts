// Topic names (DESIGN section 3). A table's data topic is `<prefix>.<schema>.<table>` with each
// name escaped by `topicPart`, an injective mapping into the characters Kafka allows:
//
//   - A-Z, a-z, 0-9 and _ stand for themselves, so ordinary names keep the topic they always had
//     (public.orders -> <prefix>.public.orders, dbo.Order_Details -> <prefix>.dbo.Order_Details);
//   - every other character becomes the bytes of its UTF-8 encoding, each written as '-' and two
//     upper-case hex digits (like URL percent-encoding, with '-' for '%'): ' ' -> -20, '.' -> -2E,
//     '-' -> -2D, 'Ü' -> -C3-9C. ("Sales Ops"."Order Lines" -> <prefix>.Sales-20Ops.Order-20Lines)
//
// '-' only ever starts an escape and an escaped name has no '.', so the topic splits back into its
// prefix, schema and table unambiguously: two tables never share a topic. A topic longer than
// Kafka's 249 characters is an error naming the table (never truncated: truncation could merge two
// tables). assertDistinctTopics is the safety net at start: it also refuses pairs Kafka itself
// would refuse (it treats '.' and '_' alike when it checks topic names for collisions).
import { displayTableName, tableKey } from './identifiers.ts';
import { ConfigError } from './errors.ts';
import { qualifiedName, type TableRef } from './model.ts';

/** Kafka's longest topic name. */
export const MAX_TOPIC_LENGTH = 249;

const HEX = '0123456789ABCDEF';

function plain(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

function escapeByte(b: number): string {
  return '-' + HEX[b >> 4] + HEX[b & 15];
}

/**
 * One schema or table name -> its part of a topic name (see the header). Code points are written
 * as UTF-8; an unpaired surrogate (which no database name holds) as the 3 bytes generalized UTF-8
 * gives it, so the mapping stays injective over every JavaScript string.
 */
export function topicPart(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (plain(unit)) {
      out += name[i];
      continue;
    }
    let cp = unit;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < name.length) {
      const low = name.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out += escapeByte(cp);
    else if (cp < 0x800) out += escapeByte(0xc0 | (cp >> 6)) + escapeByte(0x80 | (cp & 63));
    else if (cp < 0x10000) out += escapeByte(0xe0 | (cp >> 12)) + escapeByte(0x80 | ((cp >> 6) & 63)) + escapeByte(0x80 | (cp & 63));
    else out += escapeByte(0xf0 | (cp >> 18)) + escapeByte(0x80 | ((cp >> 12) & 63)) + escapeByte(0x80 | ((cp >> 6) & 63)) + escapeByte(0x80 | (cp & 63));
  }
  return out;
}

/** Inverse of topicPart (for tools and tests); null when `part` is not an escaped name. */
export function untopicPart(part: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    if (plain(c)) bytes.push(c);
    else if (c === 45 /* - */ && /^[0-9A-F]{2}$/.test(part.slice(i + 1, i + 3))) {
      const b = parseInt(part.slice(i + 1, i + 3), 16);
      if (b < 0x80 && plain(b)) return null; // a plain character is never escaped
      bytes.push(b);
      i += 2;
    } else return null;
  }
  // generalized UTF-8 (surrogates allowed), by hand: Buffer#toString would replace them
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const n = b < 0x80 ? 1 : b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
    if (n === 0 || i + n > bytes.length) return null;
    let cp = n === 1 ? b : b & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) {
      if ((bytes[i + k] & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (bytes[i + k] & 63);
    }
    const min = [0, 0, 0x80, 0x800, 0x10000][n];
    if (cp < min || cp > 0x10ffff) return null; // overlong forms would break injectivity
    out += String.fromCodePoint(cp);
    i += n;
  }
  return topicPart(out) === part ? out : null;
}

/** `<prefix>.<schema>.<table>`, escaped (see the header); a ConfigError naming the table when too long. */
export function dataTopic(prefix: string, t: TableRef): string {
  const topic = `${prefix}.${topicPart(t.schema)}.${topicPart(t.table)}`;
  if (topic.length > MAX_TOPIC_LENGTH) {
    throw new ConfigError(
      `table ${displayTableName(t)}: its topic name would be ${topic.length} characters (${topic.slice(0, 60)}...), ` +
        `Kafka allows ${MAX_TOPIC_LENGTH}: use a shorter kafka.topicPrefix (${prefix.length} characters now)` +
        ` or a shorter table name (characters other than letters, digits and _ take 3 characters per UTF-8 byte)`,
    );
  }
  return topic;
}

export const batchesTopic = (prefix: string) => `${prefix}.batches`;
export const acksTopic = (prefix: string) => `${prefix}.acks`;
export const schemasTopic = (prefix: string) => `${prefix}.schemas`;

/**
 * Refuses, naming both tables, any two tables that would share a data topic (impossible with the
 * escaping above; kept as a safety net), whose topics Kafka would refuse as colliding ('.' and '_'
 * are the same to Kafka's collision check: public.a_b and public_a.b), or whose "schema.table"
 * spellings are equal ("a.b".c and a."b.c"), which the batch log uses to name tables.
 */
export function assertDistinctTopics(prefix: string, tables: TableRef[]): void {
  const topics = new Map<string, TableRef>();
  const kafkaCollisions = new Map<string, TableRef>();
  const names = new Map<string, TableRef>();
  const tablesSeen = new Set<string>();
  for (const t of tables) {
    if (tablesSeen.has(tableKey(t))) continue;
    tablesSeen.add(tableKey(t));
    const topic = dataTopic(prefix, t);
    const both = (other: TableRef) => `${displayTableName(other)} and ${displayTableName(t)}`;
    const same = topics.get(topic);
    if (same) throw new ConfigError(`source.tables: ${both(same)} would share topic ${topic}; rename one or use separate topic prefixes`);
    topics.set(topic, t);
    const folded = topic.replace(/\./g, '_');
    const collides = kafkaCollisions.get(folded);
    if (collides) {
      throw new ConfigError(
        `source.tables: ${both(collides)} get topics ${dataTopic(prefix, collides)} and ${topic}, which Kafka refuses to have side by side ` +
          `(it treats '.' and '_' alike in topic names); capture them with separate topic prefixes`,
      );
    }
    kafkaCollisions.set(folded, t);
    const name = qualifiedName(t);
    const sameName = names.get(name);
    if (sameName) {
      throw new ConfigError(
        `source.tables: ${both(sameName)} are both named ${name} in the batch log, which cannot tell them apart; capture them with separate topic prefixes`,
      );
    }
    names.set(name, t);
  }
}

/**
 * Transactional ids. One capture agent per (topic prefix, source) and one applier per (topic prefix,
 * standby): a second instance with the same id fences the first. The prefix is part of the id, so
 * two pipelines on one cluster that share a source or standby id (production and a drill, say)
 * never fence each other.
 */
export const captureTransactionalId = (prefix: string, sourceId: string) => `ctrelay-capture.${prefix}.${sourceId}`;
export const applyTransactionalId = (prefix: string, standbyId: string) => `ctrelay-apply.${prefix}.${standbyId}`;
