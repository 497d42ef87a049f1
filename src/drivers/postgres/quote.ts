// PostgreSQL quoting for identifiers and string literals in SQL text, shared by the source (change
// tracking install, polls) and the standby. Values otherwise travel as parameters.

/** `"name"` with embedded double quotes doubled: any identifier PostgreSQL accepts, exactly. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `'text'` with embedded single quotes doubled (standard_conforming_strings is on: backslashes are literal). */
export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
