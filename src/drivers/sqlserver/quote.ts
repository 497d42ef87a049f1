// T-SQL identifier and literal quoting. Every identifier ctrelay puts into T-SQL goes through
// quoteIdent, so a hostile name (spaces, `]`, reserved words, unicode) can never change a statement's
// meaning. Values never go through here: they travel as @parameters.

/** Delimits an identifier with [] and doubles every `]` inside it (QUOTENAME semantics, any length). */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('empty SQL Server identifier');
  if (name.includes('\u0000')) throw new Error(`SQL Server identifier contains NUL: ${JSON.stringify(name)}`);
  return `[${name.replaceAll(']', ']]')}]`;
}

/** `[schema].[table]` */
export function quoteQualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/**
 * An N'...' literal. Only for generated admin scripts (ct enable/disable), which are run as text by
 * an operator and so cannot carry parameters; the source and the dialect never use it.
 */
export function nLiteral(text: string): string {
  return `N'${text.replaceAll("'", "''")}'`;
}

/** The value of @qualifiedName: a quoted two-part name, so OBJECT_ID resolves hostile names exactly. */
export function objectName(t: { schema: string; table: string }): string {
  return quoteQualified(t.schema, t.table);
}
