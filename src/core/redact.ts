// The one redaction module: the logger, the CLI's error output, the HTTP error bodies, `config
// check`, and every message that names a server (sources, standbys, Kafka) go through here.
// Secrets reach text in three ways, so there are three tools:
// - by key: a value under a password-like key is replaced whole, whatever its type;
// - by shape: credentials embedded in free text (connection URLs, ADO/ODBC connection strings,
//   driver error messages that echo them) are masked in place, so the host and database stay
//   readable for the operator while the credential does not.
// - as a URL that names a server: redactUrl shows scheme, host, port and database only.
// - as a known password a driver echoes in its own words: scrubSecret removes it (plain and
//   URL-encoded).
// When in doubt the patterns over-mask: losing a few characters of context is cheap, a leaked
// password is not.

export const MASK = '***';

// Keys are compared lowercased with `_`, `-` and `.` removed, so `client_secret`, `clientSecret`
// and `CLIENT-SECRET` are one key. Suffix matching catches `sslPassword`, `accessToken`, ...
// without catching counters such as `tokenCount`.
const SECRET_KEY_SUFFIXES = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'apikey',
  'credential',
  'credentials',
  'privatekey',
  'passphrase',
];
const SECRET_KEYS_EXACT = new Set(['pass', 'auth', 'authorization', 'cookie', 'setcookie']);

export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_.]/g, '');
  return SECRET_KEYS_EXACT.has(k) || SECRET_KEY_SUFFIXES.some((s) => k.endsWith(s));
}

// A key word that names a secret inside free text: `Password=`, `pwd=`, `sslpassword=`, `api_key=`.
const KEYWORD = String.raw`[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|passphrase)`;

const PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host — the password may itself contain '@' or '/', so it runs to the
  // last '@' of the token (over-masking rather than leaking a tail).
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/"'<>]*):([^\s"'<>]*)@/gi, `$1$2:${MASK}@`],
  // key=value pairs: ADO (`Password=x;`, `Password="x;y"`), ODBC (`PWD={x}`), query strings
  // (`?password=x&`), libpq keyword strings (`password=x host=...`).
  [new RegExp(String.raw`\b(${KEYWORD})(\s*=\s*)("[^"]*"|'[^']*'|\{[^}]*\}|[^;&"'\s]*)`, 'gi'), `$1$2${MASK}`],
  // JSON text: "password":"x"
  [new RegExp(String.raw`("${KEYWORD}"\s*:\s*)"(?:[^"\\]|\\.)*"`, 'gi'), `$1"${MASK}"`],
  // YAML / prose: `password: x` (the space after ':' keeps URLs such as password://... out)
  [new RegExp(String.raw`\b(${KEYWORD})(:[ \t]+)(?!\*\*\*)([^\s,;"'}]+)`, 'gi'), `$1$2${MASK}`],
  // HTTP credentials echoed in errors
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${MASK}`],
];

/** Masks credentials embedded in free text (URLs with user:password@, password=...; pairs, ...). */
export function redact(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

/** The fields worth keeping from an Error, with every string redacted; follows `cause`. */
export function serializeError(err: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: err.name || err.constructor?.name || 'Error',
    message: redact(String(err.message)),
  };
  if (err.stack) out.stack = redact(err.stack);
  for (const [k, v] of Object.entries(err)) {
    if (k === 'cause' || k in out) continue;
    out[k] = redactValue(v, depth + 1);
  }
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined && depth < 5) {
    out.cause = cause instanceof Error ? serializeError(cause, depth + 1) : redactValue(cause, depth + 1);
  }
  return out;
}

/**
 * A deep copy of `value` safe to print: secret-keyed values become MASK, strings go through
 * `redact`, Errors become plain objects (their message and stack are not enumerable, so a plain
 * walk would drop them, and JSON.stringify would too).
 */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 20) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (value instanceof Error) return serializeError(value, depth);
    if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, seen));
    if (value instanceof Date || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
    if (value instanceof Map) {
      return redactValue(Object.fromEntries(value), depth, seen);
    }
    // Objects with their own serialisation (URL, Decimal, ...) are redacted in that form.
    const toJSON = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === 'function') return redactValue(toJSON.call(value), depth + 1, seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSecretKey(k) && v !== null && v !== undefined && v !== '' ? MASK : redactValue(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * A URL for messages: `postgres://u:p@host:5432/db?x=y` -> `postgres://host:5432/db`. User, password
 * and query (which may hold `password=`) are dropped; unparsable input shows its scheme only.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    // `user:pass@host` without `//` parses as an opaque path: the secret would sit in pathname.
    if (!u.host) return `${u.protocol}//<unparsable url>`;
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    // A string we cannot parse may still hold a secret; only its scheme is safe to show.
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    return scheme ? `${scheme}://<unparsable url>` : '<unparsable url>';
  }
}

/** `redact(text)` plus every occurrence of a known secret, also URL-encoded (drivers echo passwords). */
export function scrubSecret(text: string, secret: string | undefined): string {
  let out = text;
  if (secret) {
    out = out.split(secret).join(MASK);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join(MASK);
  }
  return redact(out);
}
