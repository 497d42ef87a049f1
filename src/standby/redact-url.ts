// Standby URLs carry credentials; every message that names a server goes through here so that no
// user name or password ever reaches a log line or an error shown to an operator.

/** `postgres://u:p@host:5432/db?x=y` -> `postgres://host:5432/db`; unparsable input -> a placeholder. */
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

/** Removes `user:pass@` from any URL inside free text (driver messages sometimes echo the URL). */
export function redactText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1');
}
