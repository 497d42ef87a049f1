// mssql://user:pass@host:port/db?encrypt=false&trustServerCertificate=true -> mssql config, and the
// redacted forms used in every message: the password must never reach a log or an error.
import type { config as MssqlConfig } from 'mssql';
import { ConfigError } from '../../core/errors.ts';
import { redactUrl } from '../../core/redact.ts';

const BOOLEAN_OPTIONS = new Set(['encrypt', 'trustServerCertificate', 'multiSubnetFailover']);
const NUMBER_OPTIONS = new Set(['connectTimeoutMs', 'requestTimeoutMs']);

export interface ParsedUrl {
  config: MssqlConfig;
  /** "host:port/db" for messages */
  label: string;
}

function parseBool(key: string, v: string): boolean {
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new ConfigError(`SQL Server URL option ${key} must be true or false, got ${JSON.stringify(v)}`);
}

export function parseSqlServerUrl(url: string): ParsedUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`not a valid SQL Server URL: ${redactUrl(url)} (expected mssql://user:password@host:port/database)`);
  }
  if (u.protocol !== 'mssql:' && u.protocol !== 'sqlserver:') {
    throw new ConfigError(`SQL Server URL must start with mssql://, got ${u.protocol}// in ${redactUrl(url)}`);
  }
  const server = u.hostname.replace(/^\[|\]$/g, '');
  if (!server) throw new ConfigError(`SQL Server URL has no host: ${redactUrl(url)}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError(`SQL Server URL names no database: ${redactUrl(url)} (add /<database>)`);
  const port = u.port ? Number(u.port) : 1433;
  const options: NonNullable<MssqlConfig['options']> = {
    encrypt: true,
    trustServerCertificate: false,
    // tedious returns times as UTC instants; ctrelay selects them as strings anyway
    useUTC: true,
    appName: 'ctrelay',
  };
  const config: MssqlConfig = {
    server,
    port,
    database,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    options,
  };
  for (const [key, value] of u.searchParams) {
    if (BOOLEAN_OPTIONS.has(key)) (options as Record<string, unknown>)[key] = parseBool(key, value);
    else if (key === 'instanceName') options.instanceName = value;
    else if (NUMBER_OPTIONS.has(key)) {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`SQL Server URL option ${key} must be a positive integer (ms), got ${JSON.stringify(value)}`);
      if (key === 'connectTimeoutMs') config.connectionTimeout = n;
      else config.requestTimeout = n;
    } else throw new ConfigError(`unknown SQL Server URL option ${key} in ${redactUrl(url)} (known: encrypt, trustServerCertificate, multiSubnetFailover, instanceName, connectTimeoutMs, requestTimeoutMs)`);
  }
  return { config, label: `${server}:${port}/${database}` };
}
