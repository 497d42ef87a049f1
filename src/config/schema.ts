// The config file's schema. Every leaf carries a `.describe()` text: it is the "expected ..." part
// of the error message for that key (see format-issues.ts), so write it for an operator.
// Objects are strict: an unknown key is an error (a misspelt optional key would otherwise be
// silently ignored and its default used).

import { z } from 'zod';
import { exampleUrl, parseConnectionUrl, URL_SCHEMES, type DatabaseKind } from './connection-url.ts';
import { renderValue } from './format-issues.ts';
import { LOG_LEVELS } from '../log/logger.ts';

const positiveInt = (what: string) => z.number().int().positive().describe(`a positive integer (${what})`);
const port = z.number().int().min(0).max(65535).describe('a TCP port number 0-65535 (0 picks a free port)');
const host = z.string().min(1).describe('a host name or IP address to listen on');

const TABLE_NAME = /^[A-Za-z_][\w$#@]*\.[A-Za-z_][\w$#@]*$/;
const tableName = z.string().regex(TABLE_NAME).describe('a table name "schema.table"');

const tableEntry = z
  .union([
    tableName,
    z.strictObject({
      name: tableName,
      excludeColumns: z.array(z.string().min(1).describe('a column name')).default([]),
    }),
  ])
  .describe('a table: "schema.table" or { name: "schema.table", excludeColumns: [column, ...] }')
  .transform((entry) => {
    const { name, excludeColumns } = typeof entry === 'string' ? { name: entry, excludeColumns: [] } : entry;
    const [schema, table] = name.split('.');
    return { name, schema, table, excludeColumns };
  });

export type TableConfig = z.output<typeof tableEntry>;

/** Column options of one standby for one source table: what this standby leaves out or keeps as text. */
const standbyTableEntry = z
  .strictObject({
    name: tableName,
    excludeColumns: z.array(z.string().min(1).describe('a column name')).default([]),
    textColumns: z
      .array(z.string().min(1).describe('a column name'))
      .default([])
      .describe('columns this standby stores as text: the exact canonical string of each value (e.g. NaN, Infinity, -0 of a float column on MariaDB)'),
  })
  .describe('a table\'s column options on this standby: { name: "schema.table", excludeColumns: [...], textColumns: [...] }')
  .transform((entry) => {
    const [schema, table] = entry.name.split('.');
    return { ...entry, schema, table };
  });

export type StandbyTableConfig = z.output<typeof standbyTableEntry>;

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

const sourceSchema = z
  .strictObject({
    id: idSchema.optional(),
    kind: z.enum(['postgres', 'sqlserver']).describe('"postgres" or "sqlserver"').optional(),
    url: urlSchema(['postgres', 'sqlserver']),
    tables: z
      .array(tableEntry)
      .min(1)
      .describe('a non-empty list of tables ("schema.table" or { name, excludeColumns })')
      .superRefine((tables, ctx) => {
        const seen = new Set<string>();
        // Refinements also run when some entries failed, so entries may be of any shape here.
        tables.forEach((t, i) => {
          if (typeof t?.name !== 'string') return;
          const key = t.name.toLowerCase();
          if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `table "${t.name}" is listed twice` });
          seen.add(key);
        });
      }),
    pollIntervalMs: positiveInt('milliseconds').default(200),
    maxBatchRows: positiveInt('rows').default(5000),
    snapshotChunkRows: positiveInt('rows').default(10000),
  })
  .superRefine(checkKindMatchesUrl)
  .transform((s) => {
    const kind = kindOf(s) as 'postgres' | 'sqlserver';
    return { id: s.id ?? deriveId(kind, s.url), kind, ...withoutIdKind(s) };
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
  schemaRegistry: z
    .strictObject({
      url: z
        .string()
        .regex(/^https?:\/\/[^\s/]+/)
        .describe('a schema registry URL (http://host:port or https://...)'),
    })
    .optional(),
  })
  .describe('a mapping with brokers (and optionally topicPrefix, partitions, ...)');

const standbySchema = z
  .strictObject({
    id: idSchema.optional(),
    kind: z.enum(['postgres', 'mariadb', 'sqlserver']).describe('"postgres", "mariadb" or "sqlserver"').optional(),
    url: urlSchema(['postgres', 'mariadb', 'sqlserver']),
    schema: z.string().min(1).describe('the target schema (PostgreSQL, SQL Server) or database (MariaDB)').optional(),
    mergeBatches: positiveInt('batches merged into one standby transaction in async mode').default(10),
    tables: z.array(standbyTableEntry).default([]).describe('per-table column options of this standby (only for tables that need them)'),
  })
  .superRefine(checkKindMatchesUrl)
  .transform((s) => {
    const kind = kindOf(s);
    return { id: s.id ?? deriveId(kind, s.url), kind, ...withoutIdKind(s) };
  })
  .describe('a mapping with url (and optionally kind, id, schema, mergeBatches)');

const listener = (defaultPort: number) =>
  z.strictObject({ host: host.default('127.0.0.1'), port: port.default(defaultPort) }).prefault({});

export const configSchema = z.strictObject({
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
  http: z.strictObject({ capture: listener(9464), apply: listener(9465) }).prefault({}),
  log: z
    .strictObject({ level: z.enum(LOG_LEVELS).describe('one of trace, debug, info, warn, error').default('info') })
    .prefault({}),
});

/** The validated configuration with every default applied. */
export type Config = z.output<typeof configSchema>;
export type SourceConfig = Config['source'];
export type KafkaConfig = Config['kafka'];
export type StandbyConfig = NonNullable<Config['standby']>;
