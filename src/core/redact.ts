// Masks credentials inside free text: URL userinfo passwords (scheme://user:pass@host) and
// key=value secrets of ADO/ODBC-style connection strings (Password=...;, Pwd=...).
// the password runs to the LAST '@' of the authority: drivers accept a raw '@' inside it
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^/?#\s]*)@/gi;
const KV_SECRET = /\b(password|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^;,\s]*)/gi;

export function redact(text: string): string {
  return text.replace(URL_PASSWORD, '$1***@').replace(KV_SECRET, '$1$2***');
}
