// Table names as an operator writes them (config `source.tables` / `standby.tables`, `ct` command
// arguments, `tail --table`), in the source database's own quoting, parsed into the exact
// { schema, table } the catalog holds. One parser per source kind; nothing else in ctrelay splits a
// table name on '.'.
//
// PostgreSQL (what the server's own parser does with a qualified name):
//   name      := ws* part ( ws* '.' ws* part )? ws*
//   part      := '"' ( any character but '"' | '""' )+ '"'          kept as written ("" is one ")
//              | U&'"' ... '"' [ UESCAPE "'" c "'" ]                 \XXXX and \+XXXXXX escapes, \\ is \
//              | [A-Za-z_ or any non-ASCII] [A-Za-z0-9_$ or any non-ASCII]*
//                                                                     folded to lower case (A-Z only,
//                                                                     as PostgreSQL does in UTF-8)
//   A name is 1..63 bytes of UTF-8 (PostgreSQL would silently truncate a longer one: refused here),
//   without NUL. Reserved words need no quotes here (`public.select`): a name is never SQL text.
//
// SQL Server:
//   part      := '[' ( any character but ']' | ']]' )+ ']'           kept as written (]] is one ])
//              | '"' ( any character but '"' | '""' )+ '"'           (QUOTED_IDENTIFIER ON)
//              | [letter _ @ #] [letter digit _ @ $ #]*              kept as written (no folding)
//   A name is 1..128 characters (sysname), without NUL.
//
// Both: one part means the default schema where the caller allows it (`ct` arguments: public /
// dbo); configuration requires schema.table. The object form { schema, table } takes both names
// exactly as the catalog spells them: no quoting, no folding.
import { ConfigError } from './errors.ts';
import type { TableRef } from './model.ts';

export type IdentifierDialect = 'postgres' | 'sqlserver';

export const DEFAULT_SCHEMA: Record<IdentifierDialect, string> = { postgres: 'public', sqlserver: 'dbo' };

/** PostgreSQL's NAMEDATALEN - 1 (bytes of UTF-8). */
export const PG_MAX_IDENTIFIER_BYTES = 63;
/** SQL Server's sysname: nvarchar(128). */
export const SQLSERVER_MAX_IDENTIFIER_CHARS = 128;

/** A table name that is not valid in the dialect; the message says where and why. Exit 2. */
export class IdentifierError extends ConfigError {}

const PG_WS = new Set([' ', '\t', '\n', '\r', '\f', '\v']);
const MSSQL_WS = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

const isAsciiLetter = (c: string) => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
const isDigit = (c: string) => c >= '0' && c <= '9';
const isHighBit = (c: string) => c.codePointAt(0)! >= 0x80;

const LETTER = /^\p{L}$/u;
/** with the u flag, only unpaired surrogates match */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const DECIMAL = /^\p{Nd}$/u;

/**
 * Why `name` cannot be an identifier of `dialect` (empty, NUL, too long, not valid Unicode), or
 * null when it can. For names given in object form and for parsed ones alike.
 */
export function identifierProblem(name: string, dialect: IdentifierDialect): string | null {
  if (name.length === 0) return 'is empty';
  if (name.includes('\0')) return 'contains NUL';
  if (LONE_SURROGATE.test(name)) return 'is not valid Unicode (a lone surrogate)';
  if (dialect === 'postgres') {
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > PG_MAX_IDENTIFIER_BYTES) {
      return `is ${bytes} bytes long: PostgreSQL keeps at most ${PG_MAX_IDENTIFIER_BYTES} bytes of a name (it truncates longer ones), so write the name as the catalog holds it`;
    }
  } else if (name.length > SQLSERVER_MAX_IDENTIFIER_CHARS) {
    return `is ${name.length} characters long: SQL Server names hold at most ${SQLSERVER_MAX_IDENTIFIER_CHARS}`;
  }
  return null;
}

class Scanner {
  pos = 0;
  constructor(
    readonly text: string,
    readonly dialect: IdentifierDialect,
  ) {}

  fail(why: string): never {
    throw new IdentifierError(`invalid table name ${JSON.stringify(this.text)}: ${why}`);
  }

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  /** the code point at pos, as a string (one or two UTF-16 units) */
  peek(offset = 0): string {
    let p = this.pos;
    for (let i = 0; i < offset && p < this.text.length; i++) p += this.charAt(p).length;
    return p < this.text.length ? this.charAt(p) : '';
  }

  private charAt(p: number): string {
    return String.fromCodePoint(this.text.codePointAt(p)!);
  }

  next(): string {
    const c = this.peek();
    this.pos += c.length;
    return c;
  }

  skipSpace(): void {
    const ws = this.dialect === 'postgres' ? PG_WS : MSSQL_WS;
    while (!this.done && ws.has(this.peek())) this.pos++;
  }

  /** a delimited part: `open` ... `close`, `close close` standing for one `close` */
  delimited(open: string, close: string): string {
    const start = this.pos;
    this.next(); // open
    let out = '';
    for (;;) {
      if (this.done) this.fail(`${open} at position ${start + 1} is never closed`);
      const c = this.next();
      if (c === close) {
        if (this.peek() === close) {
          this.next();
          out += close;
          continue;
        }
        break;
      }
      out += c;
    }
    if (out === '') this.fail(`${open}${close} at position ${start + 1} is an empty name`);
    return out;
  }

  /** PostgreSQL U&"..." [UESCAPE 'c'] */
  unicodeDelimited(): string {
    const start = this.pos;
    this.pos += 2; // U&
    const raw = this.delimited('"', '"');
    // optional UESCAPE 'c' (whitespace before it allowed)
    const save = this.pos;
    this.skipSpace();
    let escape = '\\';
    if (/^uescape/i.test(this.text.slice(this.pos, this.pos + 7))) {
      this.pos += 7;
      this.skipSpace();
      const m = /^'([^'])'/.exec(this.text.slice(this.pos));
      if (!m || /[0-9a-fA-F+'"\s]/.test(m[1])) this.fail(`UESCAPE at position ${save + 1} needs one quoted character that is not a hex digit, +, a quote or a space`);
      escape = m[1];
      this.pos += m[0].length;
    } else {
      this.pos = save;
    }
    let out = '';
    for (let i = 0; i < raw.length; ) {
      const c = raw[i];
      if (c !== escape) {
        out += c;
        i++;
        continue;
      }
      if (raw[i + 1] === escape) {
        out += escape;
        i += 2;
        continue;
      }
      const m = raw[i + 1] === '+' ? /^[0-9a-fA-F]{6}/.exec(raw.slice(i + 2)) : /^[0-9a-fA-F]{4}/.exec(raw.slice(i + 1));
      if (!m) this.fail(`invalid Unicode escape in U&"..." at position ${start + 1} (write ${escape}XXXX or ${escape}+XXXXXX)`);
      const cp = parseInt(m[0], 16);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail(`invalid Unicode code point ${m[0]} in U&"..." at position ${start + 1}`);
      out += String.fromCodePoint(cp);
      i += (raw[i + 1] === '+' ? 2 : 1) + m[0].length;
    }
    if (out === '') this.fail(`U&"" at position ${start + 1} is an empty name`);
    return out;
  }

  part(): string {
    const c = this.peek();
    const where = this.pos + 1;
    let name: string;
    if (this.dialect === 'postgres') {
      if (c === '"') name = this.delimited('"', '"');
      else if ((c === 'U' || c === 'u') && this.peek(1) === '&' && this.peek(2) === '"') name = this.unicodeDelimited();
      else if (isAsciiLetter(c) || c === '_' || (c !== '' && isHighBit(c))) {
        name = '';
        while (!this.done) {
          const d = this.peek();
          if (!(isAsciiLetter(d) || isDigit(d) || d === '_' || d === '$' || isHighBit(d))) break;
          name += d >= 'A' && d <= 'Z' ? d.toLowerCase() : d;
          this.next();
        }
      } else this.fail(this.expected(c, where, 'a name: letters, digits, _ and $ (starting with a letter or _), or "a quoted name"'));
    } else {
      if (c === '[') name = this.delimited('[', ']');
      else if (c === '"') name = this.delimited('"', '"');
      else if (LETTER.test(c) || c === '_' || c === '@' || c === '#') {
        name = '';
        while (!this.done) {
          const d = this.peek();
          if (!(LETTER.test(d) || DECIMAL.test(d) || d === '_' || d === '@' || d === '$' || d === '#')) break;
          name += d;
          this.next();
        }
      } else this.fail(this.expected(c, where, 'a name: letters, digits, _, @, $ and # (starting with a letter, _, @ or #), or a [bracketed] or "quoted" name'));
    }
    const problem = identifierProblem(name, this.dialect);
    if (problem) this.fail(`the name at position ${where} ${problem}`);
    return name;
  }

  private expected(c: string, where: number, what: string): string {
    return c === '' ? `expected ${what} at the end` : `unexpected ${JSON.stringify(c)} at position ${where}; expected ${what}`;
  }
}

/**
 * Parses a table name written in `dialect`'s own quoting ("schema.table", see the header). One
 * part means `defaultSchema`'s table; without `defaultSchema` one part is an error.
 */
export function parseTableName(text: string, dialect: IdentifierDialect, defaultSchema?: string): TableRef {
  const s = new Scanner(text, dialect);
  s.skipSpace();
  if (s.done) s.fail(`expected ${defaultSchema === undefined ? 'schema.table' : 'schema.table or table'}`);
  const parts = [s.part()];
  for (;;) {
    s.skipSpace();
    if (s.done) break;
    if (s.peek() !== '.') s.fail(`unexpected ${JSON.stringify(s.peek())} at position ${s.pos + 1}; names with spaces or other characters need quotes: ${dialect === 'postgres' ? '"Sales Ops"."Order Lines"' : '[Sales Ops].[Order Lines]'}`);
    s.next();
    s.skipSpace();
    if (parts.length === 2) s.fail('expected schema.table, got more parts (a database name cannot be given here)');
    parts.push(s.part());
  }
  if (parts.length === 1) {
    if (defaultSchema === undefined) return s.fail(`expected schema.table, got one name (write ${formatTableName({ schema: DEFAULT_SCHEMA[dialect], table: parts[0] }, dialect)} for the default schema)`);
    return { schema: defaultSchema, table: parts[0] };
  }
  return { schema: parts[0], table: parts[1] };
}

const PG_PLAIN = /^[a-z_][a-z0-9_$]*$/;
const MSSQL_PLAIN = /^[A-Za-z_][A-Za-z0-9_@$#]*$/;

/** One identifier in `dialect`'s quoting, quoted only where it must be: parseTableName reads it back. */
export function formatIdentifier(name: string, dialect: IdentifierDialect): string {
  if (dialect === 'postgres') return PG_PLAIN.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
  return MSSQL_PLAIN.test(name) ? name : `[${name.replace(/]/g, ']]')}]`;
}

/** schema.table in `dialect`'s quoting; parseTableName(formatTableName(t, d), d) equals t. */
export function formatTableName(t: TableRef, dialect: IdentifierDialect): string {
  return `${formatIdentifier(t.schema, dialect)}.${formatIdentifier(t.table, dialect)}`;
}

/**
 * A table as messages name it when the dialect is not at hand: standard SQL double quotes where a
 * part is not a plain lower-case name, e.g. "Sales Ops"."Order Lines", public.orders.
 */
export function displayTableName(t: TableRef): string {
  return formatTableName(t, 'postgres');
}

/** Checks a { schema, table } given in object form; throws IdentifierError naming the part. */
export function checkTableRef(t: TableRef, dialect: IdentifierDialect): TableRef {
  for (const [what, name] of [['schema', t.schema], ['table', t.table]] as const) {
    const problem = identifierProblem(name, dialect);
    if (problem) throw new IdentifierError(`invalid ${what} name ${JSON.stringify(name)}: it ${problem}`);
  }
  return t;
}

/** Same table? Names are compared exactly as the catalog holds them. */
export function sameTable(a: TableRef, b: TableRef): boolean {
  return a.schema === b.schema && a.table === b.table;
}

/** A map key for a table that no two distinct tables share (unlike "schema.table"). */
export function tableKey(t: TableRef): string {
  return `${t.schema}\u0000${t.table}`;
}
