// Connection URLs name every database ctrelay talks to. They are validated at config load so that
// a typo is a config error naming the key, not a driver error at the first connect.

export type DatabaseKind = 'postgres' | 'sqlserver' | 'mariadb';

/** Accepted URL schemes per database kind; the first one is the one shown in messages. */
export const URL_SCHEMES: Record<DatabaseKind, readonly string[]> = {
  postgres: ['postgres', 'postgresql'],
  sqlserver: ['mssql', 'sqlserver'],
  mariadb: ['mariadb', 'mysql'],
};

export interface ConnectionUrlParts {
  kind: DatabaseKind;
  scheme: string;
  host: string;
  port?: number;
  /** database name from the path (or, for SQL Server, `?database=`); undefined when absent */
  database?: string;
  user?: string;
}

export function kindOfScheme(scheme: string): DatabaseKind | undefined {
  const s = scheme.toLowerCase();
  return (Object.keys(URL_SCHEMES) as DatabaseKind[]).find((k) => URL_SCHEMES[k].includes(s));
}

/** An example URL for messages: "postgres://..." */
export function exampleUrl(kind: DatabaseKind): string {
  return `${URL_SCHEMES[kind][0]}://...`;
}

/**
 * Parses a connection URL; returns a reason string (for a config error) when it is not one.
 * The input may carry a password, so reasons never quote it.
 */
export function parseConnectionUrl(text: string): ConnectionUrlParts | string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (!m) return 'not a URL (no scheme://)';
  const kind = kindOfScheme(m[1]);
  if (!kind) return `unsupported scheme "${m[1]}:"`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a parseable URL (percent-encode special characters in the user name and password)';
  }
  if (!url.hostname) return 'no host';
  let port: number | undefined;
  if (url.port) {
    port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return `invalid port ${url.port}`;
  }
  const fromPath = decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined;
  const database = fromPath ?? url.searchParams.get('database') ?? url.searchParams.get('databaseName') ?? undefined;
  return {
    kind,
    scheme: m[1].toLowerCase(),
    host: url.hostname,
    port,
    database,
    user: url.username ? decodeURIComponent(url.username) : undefined,
  };
}
