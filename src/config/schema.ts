// The config file's schema. Every leaf carries a `.describe()` text: it is the "expected ..." part
// of the error message for that key (see format-issues.ts), so write it for an operator.
// Objects are strict: an unknown key is an error (a misspelt optional key would otherwise be
// silently ignored and its default used).

import { z } from 'zod';
import { exampleUrl, parseConnectionUrl, URL_SCHEMES, type DatabaseKind } from './connection-url.ts';
import { renderValue } from './format-issues.ts';
import { LOG_LEVELS } from '../log/logger.ts';
import { ConfigError } from '../core/errors.ts';
import { checkTableRef, formatTableName, IdentifierError, parseTableName, tableKey, type IdentifierDialect } from '../core/identifiers.ts';
import type { TableRef } from '../core/model.ts';
import { assertDistinctTopics, dataTopic } from '../core/topics.ts';

const positiveInt = (what: string) => z.number().int().positive().describe(`a positive integer (${what})`);
const port = z.number().int().min(0).max(65535).describe('a TCP port number 0-65535 (0 picks a free port)');
const host = z.string().min(1).describe('a host name or IP address to listen on');

const columnList = (what: string) => z.array(z.string().min(1).describe('a column name')).default([]).describe(what);

const TABLE_NAME_TEXT =
  'a table name "schema.table" in the source\'s own quoting (PostgreSQL: "Sales Ops"."Order Lines", unquoted names fold to lower case; SQL Server: [Order Details] or "Order Details")';

/**
 * A table entry as written: a name in the source's own quoting, or a mapping with that name or with
 * the schema and table exactly as the catalog spells them. The name is parsed once the source's
 * kind is known (see resolveTables): its quoting rules depend on it.
 */
function tableEntrySchema<Extra extends z.ZodRawShape>(extra: Extra, what: string) {
  const object = z
    .strictObject({
      name: z.string().describe(TABLE_NAME_TEXT).optional(),
      schema: z.string().describe('a schema name exactly as the catalog spells it (no quotes)').optional(),
      table: z.string().describe('a table name exactly as the catalog spells it (no quotes)').optional(),
      excludeColumns: columnList('columns to leave out'),
      ...extra,
    })
    .superRefine((value, ctx) => {
      const o = value as { name?: string; schema?: string; table?: string };
      const hasName = o.name !== undefined;
      const hasParts = o.schema !== undefined || o.table !== undefined;
      if (hasName && hasParts) ctx.addIssue({ code: 'custom', message: 'give either name or schema and table, not both' });
      else if (!hasName && (o.schema === undefined || o.table === undefined)) {
        ctx.addIssue({ code: 'custom', message: hasParts ? `missing ${o.schema === undefined ? 'schema' : 'table'} (give both schema and table)` : 'missing name (or schema and table)' });
      }
    });
  return z.union([z.string().describe(TABLE_NAME_TEXT), object]).describe(what);
}

const tableEntry = tableEntrySchema(
  {},
  'a table: "schema.table" (in the source\'s quoting), { name: "schema.table", excludeColumns: [...] } or { schema: ..., table: ..., excludeColumns: [...] }',
);

/** Column options of one standby for one source table: what this standby leaves out or keeps as text. */
const standbyTableEntry = tableEntrySchema(
  {
    textColumns: columnList(
      'columns this standby stores as text: the exact canonical string of each value (e.g. NaN, Infinity, -0 of a float column on MariaDB)',
    ),
  },
  'a table\'s column options on this standby: { name: "schema.table", excludeColumns: [...], textColumns: [...] } or { schema: ..., table: ..., ... }',
);

type RawEntry = string | { name?: string; schema?: string; table?: string; excludeColumns: string[]; textColumns?: string[] };

/** A configured table: where it is (`schema`, `table`: exact catalog names) and its options. */
export interface TableConfig {
  /** the table in the source's quoting, quoted only where needed: "public.orders", '"Sales Ops"."Order Lines"' */
  name: string;
  schema: string;
  table: string;
  excludeColumns: string[];
}

export interface StandbyTableConfig extends TableConfig {
  textColumns: string[];
}

/**
 * Entries -> tables, parsing names with the source kind's identifier rules. Problems become issues
 * at `path` (the list), naming the entry; a table listed twice is an error.
 */
function resolveTables(entries: RawEntry[], dialect: IdentifierDialect, path: (string | number)[], ctx: z.RefinementCtx): StandbyTableConfig[] {
  const out: StandbyTableConfig[] = [];
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    let ref: TableRef;
    const at = typeof entry === 'object' && entry.name !== undefined ? [...path, i, 'name'] : [...path, i];
    try {
      if (typeof entry === 'string') ref = parseTableName(entry, dialect);
      else if (entry.name !== undefined) ref = parseTableName(entry.name, dialect);
      else ref = checkTableRef({ schema: entry.schema!, table: entry.table! }, dialect);
    } catch (err) {
      if (!(err instanceof IdentifierError)) throw err;
      ctx.addIssue({ code: 'custom', path: at, message: err.message });
      return;
    }
    const name = formatTableName(ref, dialect);
    const first = seen.get(tableKey(ref));
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: [...path, i], message: `table ${name} is listed twice (also at [${first}])` });
      return;
    }
    seen.set(tableKey(ref), i);
    const options = typeof entry === 'string' ? { excludeColumns: [] as string[], textColumns: [] as string[] } : { excludeColumns: entry.excludeColumns, textColumns: entry.textColumns ?? [] };
    out.push({ name, schema: ref.schema, table: ref.table, ...options });
  });
  return out;
}

function urlSchema(kinds: DatabaseKind[]) {
  const examples = kinds.map(exampleUrl);
  const expected = `a connection URL (${examples.slice(0, -1).join(', ')}${examples.length > 1 ? ' or ' : ''}${examples.at(-1)})`;
  return z
    .string()
    .describe(expected)
    .superRefine((text, ctx) => {
      const parts = parseConnectionUrl(text);
      const reason =
        typeof parts === 'string' ? parts : kinds.includes(parts.kind) ? undefined : `${parts.kind} is not supported here`;
      if (reason) ctx.addIssue({ code: 'custom', message: `expected ${expected}, got ${renderValue(text)}: ${reason}` });
    });
}

/** `kind` may be omitted: it follows from the URL's scheme. When both are given they must agree. */
function checkKindMatchesUrl(value: { kind?: DatabaseKind; url: string }, ctx: z.RefinementCtx) {
  if (typeof value?.url !== 'string') return;
  const parts = parseConnectionUrl(value.url);
  if (typeof parts === 'string' || !value.kind || parts.kind === value.kind) return;
  const schemes = URL_SCHEMES[value.kind].map((s) => `${s}://`).join(' or ');
  ctx.addIssue({
    code: 'custom',
    path: ['url'],
    message: `expected a ${schemes} URL because kind is "${value.kind}", got a ${parts.scheme}:// URL`,
  });
}

/** "<kind>-<database>" (or "<kind>-<host>" when the URL names no database). */
function deriveId(kind: DatabaseKind, url: string): string {
  const parts = parseConnectionUrl(url);
  const name = typeof parts === 'string' ? 'default' : (parts.database ?? parts.host);
  return `${kind}-${name}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

function kindOf(value: { kind?: DatabaseKind; url: string }): DatabaseKind {
  if (value.kind) return value.kind;
  const parts = parseConnectionUrl(value.url);
  if (typeof parts === 'string') throw new Error('unreachable: url was validated');
  return parts.kind;
}

/** Keeps id and kind first in the printed effective config. */
function withoutIdKind<T extends { id?: string; kind?: DatabaseKind }>(value: T): Omit<T, 'id' | 'kind'> {
  const { id: _id, kind: _kind, ...rest } = value;
  return rest;
}

const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/)
  .describe('an identifier of letters, digits, ".", "_" and "-"');

/** source.commitTime values: src/sources/sqlserver/README.md ("commit time"). */
const COMMIT_TIME_MODES = ['utc', 'server-local', 'off'] as const;

/** Options of a SQL Server source; absent for other sources. */
interface SqlServerSourceOptions {
  allowNonSnapshot?: boolean;
  commitTime?: (typeof COMMIT_TIME_MODES)[number];
  pollTimeoutMs?: number;
}

const sourceSchema = z
  .strictObject({
    id: idSchema.optional(),
    kind: z.enum(['postgres', 'sqlserver']).describe('"postgres" or "sqlserver"').optional(),
    url: urlSchema(['postgres', 'sqlserver']),
    tables: z
      .array(tableEntry)
      .min(1)
      .describe('a non-empty list of tables ("schema.table" or { name, excludeColumns } or { schema, table, excludeColumns })'),
    pollIntervalMs: positiveInt('milliseconds').default(200),
    maxBatchRows: positiveInt('rows').default(5000),
    snapshotChunkRows: positiveInt('rows').default(10000),
    maxBatchBytes: positiveInt('bytes: a page of a window, and one source read, hold at most about this much').default(64 << 20),
    // SQL Server sources only (src/sources/sqlserver/README.md); defaults applied in the transform
    allowNonSnapshot: z
      .boolean()
      .describe('true or false (SQL Server sources: poll under READ COMMITTED when the database has ALLOW_SNAPSHOT_ISOLATION off)')
      .optional(),
    commitTime: z
      .enum(COMMIT_TIME_MODES)
      .describe('"utc", "server-local" or "off" (SQL Server sources: the time zone of the commit times change tracking records; off: none read)')
      .optional(),
    pollTimeoutMs: z
      .number()
      .int()
      .min(0)
      .describe('milliseconds, 0 = no limit (SQL Server sources: the request timeout of every statement of a poll)')
      .optional(),
  })
  .superRefine(checkKindMatchesUrl)
  .transform((s, ctx) => {
    const kind = kindOf(s) as 'postgres' | 'sqlserver';
    const { tables, allowNonSnapshot, commitTime, pollTimeoutMs, ...rest } = withoutIdKind(s);
    const resolved: TableConfig[] = resolveTables(tables, kind, ['tables'], ctx).map(({ textColumns: _t, ...t }) => t);
    // options only a SQL Server source reads: set elsewhere they would be silently ignored
    const sqlServerOnly: SqlServerSourceOptions = kind === 'sqlserver' ? { allowNonSnapshot: allowNonSnapshot ?? false, commitTime: commitTime ?? 'utc', pollTimeoutMs: pollTimeoutMs ?? 30 * 60_000 } : {};
    for (const [key, value] of Object.entries({ allowNonSnapshot, commitTime, pollTimeoutMs })) {
      if (kind !== 'sqlserver' && value !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `only for a SQL Server source (an mssql:// or sqlserver:// URL); this source is ${kind}: remove it` });
      }
    }
    return { id: s.id ?? deriveId(kind, s.url), kind, ...rest, tables: resolved, ...sqlServerOnly };
  })
  .describe('a mapping with url and tables (and optionally kind, id, pollIntervalMs, ...)');

const brokerSchema = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:,[\]]+):\d{1,5}$/)
  .describe('a broker address "host:port"');

const kafkaSchema = z
  .strictObject({
  brokers: z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((b) => b.trim()).filter(Boolean) : v),
    z.array(brokerSchema).min(1).describe('a list of brokers "host:port" (or one comma-separated string)'),
  ),
  topicPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .describe('a topic name prefix of letters, digits, ".", "_" and "-"')
    .default('ctrelay'),
  partitions: positiveInt('partitions per data topic').default(3),
  replicationFactor: positiveInt('replicas per partition').default(1),
  clientId: z.string().min(1).describe('a Kafka client id').default('ctrelay'),
  chunkBytes: z
    .number()
    .int()
    .min(0)
    .describe('bytes: an event larger than this travels as chunk records (0 = never split; an event larger than its topic takes then stops capture)')
    .default(1024 * 1024 - 64 * 1024),
  })
  .describe('a mapping with brokers (and optionally topicPrefix, partitions, ...)');

const standbySchema = z
  .strictObject({
    id: idSchema.optional(),
    kind: z.enum(['postgres', 'mariadb', 'sqlserver']).describe('"postgres", "mariadb" or "sqlserver"').optional(),
    url: urlSchema(['postgres', 'mariadb', 'sqlserver']),
    schema: z.string().min(1).describe('the target schema (PostgreSQL, SQL Server) or database (MariaDB)').optional(),
    mergeBatches: positiveInt('batches merged into one standby transaction in async mode').default(10),
    mergeBytes: positiveInt('bytes of records merged into one standby transaction in async mode (a larger window is applied alone)').default(64 << 20),
    protect: z
      .boolean()
      .describe(
        'protect the standby against writes by anyone but the applier while it is a standby (PostgreSQL: the database defaults to read-only ' +
          'transactions; MariaDB: the WHOLE server\'s read_only, set it false on a server shared with other applications; SQL Server: ' +
          'row-level security block predicates); lifted by ctrelay promote',
      )
      .default(true),
    // names are parsed with the SOURCE's identifier rules (they name source tables): see configSchema
    tables: z.array(standbyTableEntry).default([]).describe('per-table column options of this standby (only for tables that need them)'),
  })
  .superRefine(checkKindMatchesUrl)
  .transform((s) => {
    const kind = kindOf(s);
    return { id: s.id ?? deriveId(kind, s.url), kind, ...withoutIdKind(s) };
  })
  .describe('a mapping with url (and optionally kind, id, schema, mergeBatches)');

const archiveSchema = z
  .strictObject({
    target: z.string().min(1).describe('where the archive lives: a directory path, file:///dir or s3://bucket/prefix (default ./ctrelay-archive/<kafka.topicPrefix>)').optional(),
    segmentBytes: positiveInt('bytes of records buffered before the archive writes a segment of files').default(64 << 20),
    segmentMs: positiveInt('milliseconds after which the archive writes the open segment').default(60_000),
    codec: z.enum(['deflate', 'snappy']).describe('"deflate" or "snappy" (the Avro container codec of the archive files)').default('deflate'),
    retention: z
      .strictObject({
        fulls: positiveInt('fulls kept (synthetic fulls of ctrelay archive compact, and the archive\'s beginning until retention first drops it); what no restore at or after the oldest of them needs is deleted'),
      })
      .describe('unset: the archive keeps everything')
      .optional(),
    // only for an s3:// target; unset keys fall back to the AWS SDK's defaults (AWS_REGION, the credential chain)
    s3: z
      .strictObject({
        endpoint: z.string().url().describe('the endpoint URL of an S3-compatible server, e.g. http://minio:9000').optional(),
        region: z.string().min(1).describe('the bucket\'s region').optional(),
        forcePathStyle: z.boolean().describe('true or false: the bucket in the path (default true with an endpoint)').optional(),
        accessKeyId: z.string().min(1).describe('an access key id (use ${ENV})').optional(),
        secretAccessKey: z.string().min(1).describe('a secret access key (use ${ENV})').optional(),
        sessionToken: z.string().min(1).describe('a session token (use ${ENV})').optional(),
        serverSideEncryption: z.enum(['AES256', 'aws:kms']).describe('"AES256" or "aws:kms"').optional(),
        kmsKeyId: z.string().min(1).describe('the KMS key of aws:kms encryption').optional(),
      })
      .optional(),
  })
  .describe('a mapping with target (and optionally segmentBytes, segmentMs, codec, retention, s3)');

const listener = (defaultPort: number) =>
  z.strictObject({ host: host.default('127.0.0.1'), port: port.default(defaultPort) }).prefault({});

const configObject = z.strictObject({
  source: sourceSchema,
  kafka: kafkaSchema,
  mode: z.enum(['async', 'sync']).describe('"async" or "sync"').default('async'),
  sync: z
    .strictObject({
      timeoutMs: positiveInt('milliseconds').default(5000),
      policy: z.enum(['degrade', 'block']).describe('"degrade" or "block"').default('degrade'),
    })
    .prefault({}),
  standby: standbySchema.optional(),
  archive: archiveSchema.prefault({}),
  http: z.strictObject({ capture: listener(9464), apply: listener(9465), archive: listener(9466) }).prefault({}),
  log: z
    .strictObject({ level: z.enum(LOG_LEVELS).describe('one of trace, debug, info, warn, error').default('info') })
    .prefault({}),
});

/**
 * The whole file. Checks that need two sections run last: standby.tables names are parsed with the
 * source's identifier rules, and every source table must get a valid data topic under the prefix.
 */
export const configSchema = configObject.transform((c, ctx) => {
  const dialect = c.source.kind;
  const topicsOk = c.source.tables.filter((t, i) => {
    try {
      dataTopic(c.kafka.topicPrefix, t);
      return true;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      ctx.addIssue({ code: 'custom', path: ['source', 'tables', i], message: err.message });
      return false;
    }
  });
  try {
    assertDistinctTopics(c.kafka.topicPrefix, topicsOk);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    ctx.addIssue({ code: 'custom', path: ['source', 'tables'], message: err.message.replace(/^source\.tables: /, '') });
  }
  if (!c.standby) return { ...c, standby: undefined };
  const tables = resolveTables(c.standby.tables as unknown as RawEntry[], dialect, ['standby', 'tables'], ctx);
  return { ...c, standby: { ...c.standby, tables } };
});

/** The validated configuration with every default applied. */
export type Config = z.output<typeof configSchema>;
export type SourceConfig = Config['source'];
export type KafkaConfig = Config['kafka'];
export type StandbyConfig = NonNullable<Config['standby']>;
