// Every T-SQL statement the SQL Server standby dialect sends, as pure functions returning the text
// and its parameters: the catalog, DDL and state here; the staging of an upsert or delete in
// sqlserver-staging.ts and the key checks in sqlserver-keys.ts, re-exported so that this module
// stays the one place to look for a statement. Identifiers go through quoteIdent; values only
// travel as @parameters. Batch or sp_executesql: see sqlserver-staging.ts.
import { StandbyError } from '../../core/errors.ts';
import type { Row, TableMeta } from '../../core/model.ts';
import { planTableChange, type ColumnRules, type TableChange } from '../column-change.ts';
import type { StandbyColumn } from '../dialect.ts';
import { objectName, quoteIdent, quoteQualified } from '../../drivers/sqlserver/quote.ts';
import { keysetPageStatement } from '../../drivers/sqlserver/keyset.ts';
import type { Statement } from '../../drivers/sqlserver/params.ts';
import type { ParamValue } from '../../drivers/sqlserver/values.ts';
import type { ApplyState } from '../dialect.ts';
import { tableName } from '../messages.ts';
import { keyColumns } from '../table-shape.ts';
import { KEY_COLLATION } from './sqlserver-keys.ts';
import { ddlType, nativeTypeOf, parseSqlServerType, standbyColumns } from './sqlserver-types.ts';

export * from './sqlserver-staging.ts';
export { keyClashError, keyClashStatement, keyCollationError, stagingCollations } from './sqlserver-keys.ts';

/** sysname: identifiers hold at most 128 characters. */
const MAX_IDENTIFIER_CHARS = 128;

const nv = (value: string): ParamValue => ({ sqlType: 'nvarchar', value });
const batch = (sql: string): Statement => ({ sql, params: {} });

/** Throws a StandbyError naming the table when SQL Server cannot hold its shape. */
export function validateTable(table: TableMeta): void {
  keyColumns(table);
  for (const name of [table.schema, table.table, ...table.columns.map((c) => c.name)]) {
    if (name === '' || name.includes('\0') || name.length > MAX_IDENTIFIER_CHARS) {
      throw new StandbyError(
        `table ${tableName(table)}: identifier "${name}" cannot be used on SQL Server (empty, NUL, or longer than ${MAX_IDENTIFIER_CHARS} characters)`,
      );
    }
  }
  standbyColumns(table); // decimals SQL Server cannot hold
}

/**
 * Creates the schema when absent. CREATE SCHEMA must start its own batch, hence sp_executesql; the
 * name is quoted by QUOTENAME on the server, so it still travels as a parameter.
 */
export function ensureSchemaStatement(schema: string): Statement {
  return {
    sql: `IF SCHEMA_ID(@schema) IS NULL
BEGIN
  DECLARE @ddl nvarchar(max) = N'CREATE SCHEMA ' + QUOTENAME(@schema);
  EXEC sys.sp_executesql @ddl;
END;`,
    params: { schema: nv(schema) },
  };
}

export function objectIdStatement(table: TableMeta): Statement {
  return { sql: `SELECT OBJECT_ID(@qualifiedName, N'U') AS object_id;`, params: { qualifiedName: nv(objectName(table)) } };
}

/**
 * The table's columns with what describeTable needs (type, length, precision, scale, nullability,
 * key, computed, identity, default) and their collation (key checks, sqlserver-keys.ts); no rows:
 * no table.
 */
export function existingColumnsStatement(table: Pick<TableMeta, 'schema' | 'table'>): Statement {
  return {
    sql: `SELECT c.name, c.is_identity, c.is_computed, CAST(CASE WHEN c.default_object_id <> 0 THEN 1 ELSE 0 END AS bit) AS has_default,
  c.is_nullable, TYPE_NAME(c.system_type_id) AS type_name, c.max_length, c.precision, c.scale, c.collation_name,
  CAST(CASE WHEN EXISTS (
    SELECT 1 FROM sys.indexes AS i
    INNER JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
    WHERE i.object_id = c.object_id AND i.is_primary_key = 1 AND ic.column_id = c.column_id
  ) THEN 1 ELSE 0 END AS bit) AS in_key
FROM sys.columns AS c
WHERE c.object_id = OBJECT_ID(@qualifiedName, N'U')
ORDER BY c.column_id;`,
    params: { qualifiedName: nv(objectName(table)) },
  };
}

const truthy = (v: unknown) => v === true || v === 1;

/** Rows of existingColumnsStatement as StandbyColumns (an IDENTITY is `always`: only IDENTITY_INSERT writes it, no UPDATE can). */
export function standbyColumnsOf(rows: Record<string, unknown>[]): StandbyColumn[] {
  return rows.map((r) => ({
    name: String(r.name),
    nativeType: nativeTypeOf(r as Parameters<typeof nativeTypeOf>[0]),
    nullable: truthy(r.is_nullable),
    inKey: truthy(r.in_key),
    generated: truthy(r.is_computed),
    identity: truthy(r.is_identity) ? 'always' : null,
    hasDefault: truthy(r.has_default) || truthy(r.is_computed) || truthy(r.is_identity),
  }));
}

/**
 * What would act on a replicated table behind the applier's back, which SQL Server cannot switch
 * off for one session: its enabled DML triggers, and the enabled foreign keys on it or referencing
 * it (checked per statement, so the order inside a transaction would matter, and their ON DELETE /
 * ON UPDATE actions would repeat a cascade that arrives from the source as explicit deletes).
 * Rows: kind ('trigger' | 'foreign key'), name, and the table it is defined on (quoted two-part name).
 */
export function replicaBlockersStatement(table: Pick<TableMeta, 'schema' | 'table'>): Statement {
  return {
    sql: `SELECT N'trigger' AS kind, tr.name, QUOTENAME(OBJECT_SCHEMA_NAME(tr.parent_id)) + N'.' + QUOTENAME(OBJECT_NAME(tr.parent_id)) AS on_table
FROM sys.triggers AS tr
WHERE tr.parent_id = OBJECT_ID(@qualifiedName, N'U') AND tr.is_disabled = 0
UNION ALL
SELECT N'foreign key' AS kind, fk.name, QUOTENAME(OBJECT_SCHEMA_NAME(fk.parent_object_id)) + N'.' + QUOTENAME(OBJECT_NAME(fk.parent_object_id)) AS on_table
FROM sys.foreign_keys AS fk
WHERE (fk.parent_object_id = OBJECT_ID(@qualifiedName, N'U') OR fk.referenced_object_id = OBJECT_ID(@qualifiedName, N'U')) AND fk.is_disabled = 0
ORDER BY kind, name;`,
    params: { qualifiedName: nv(objectName(table)) },
  };
}

/**
 * The StandbyError for a table with blockers (rows of replicaBlockersStatement), naming each and the
 * statements that disable it while the standby replicates; null when there are none.
 */
export function replicaBlockersError(where: string, table: TableMeta, rows: Record<string, unknown>[]): StandbyError | null {
  if (rows.length === 0) return null;
  const named = rows.map((r) => `${String(r.kind)} ${quoteIdent(String(r.name))} on ${String(r.on_table)}`);
  const disable = rows.map((r) =>
    r.kind === 'trigger'
      ? `DISABLE TRIGGER ${quoteIdent(String(r.name))} ON ${String(r.on_table)}`
      : `ALTER TABLE ${String(r.on_table)} NOCHECK CONSTRAINT ${quoteIdent(String(r.name))}`,
  );
  return new StandbyError(
    `${where}: table ${tableName(table)} has ${named.join(', ')} enabled: SQL Server cannot keep triggers and foreign keys from acting in the applier's session, ` +
      'so a trigger would fire a second time for changes whose effects already arrive from the source, and a foreign key would make the order of the changes ' +
      'inside a transaction matter and repeat cascades the source already made. ' +
      `Disable them while the standby replicates (${disable.join('; ')}) and re-enable them when it is promoted ` +
      '(ENABLE TRIGGER …; ALTER TABLE … WITH CHECK CHECK CONSTRAINT …), then restart the applier',
  );
}

/** How SQL Server spells and widens column types (src/standby/column-change.ts). */
export const SQLSERVER_RULES: ColumnRules = {
  engine: 'SQL Server',
  // identifiers compare case-insensitively under the usual collations: never add "Name" next to "name"
  caseInsensitive: true,
  wanted: (table, col) => parseSqlServerType(ddlType(col.type, table.key.includes(col.name), `${tableName(table)} column ${col.name}`)),
  parse: parseSqlServerType,
  alterHint: (table, column, to) => `ALTER TABLE ${objectName(table)} ALTER COLUMN ${quoteIdent(column)} ${to.text} NULL`,
  cannotWiden: (_table, column) =>
    column.inKey
      ? 'a primary key column, which SQL Server cannot alter in place (the primary key would have to be dropped and re-created)'
      : column.identity
        ? 'an IDENTITY column, which SQL Server cannot alter in place'
        : null,
};

/**
 * What ensureTable does to an EXISTING table (existingColumnsStatement's rows): the change, and the
 * statements making it: adds, then one ALTER COLUMN per widened or relaxed column (SQL Server alters
 * one column per statement and resets nullability unless it is restated). Throws
 * ColumnChangeRefusedError before anything when a column cannot be changed safely; no statements
 * when the table already holds `table`.
 */
export function ensureExistingPlan(table: TableMeta, existingRows: Record<string, unknown>[]): { change: TableChange; statements: Statement[] } {
  const existing = standbyColumnsOf(existingRows);
  const change = planTableChange(table, existing, SQLSERVER_RULES);
  const out: Statement[] = [];
  if (change.add.length > 0) out.push(addColumnsStatement(table, change.add.map((c) => c.name)));
  const relax = new Set(change.dropNotNull.map((c) => c.name));
  const t = objectName(table);
  for (const w of change.widen) {
    const nullable = w.existing.nullable || relax.has(w.existing.name);
    out.push(batch(`ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(w.existing.name)} ${w.to.text} ${nullable ? 'NULL' : 'NOT NULL'};`));
    relax.delete(w.existing.name);
  }
  for (const c of change.dropNotNull) {
    if (relax.has(c.name)) out.push(batch(`ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(c.name)} ${c.nativeType} NULL;`));
  }
  return { change, statements: out };
}

export function stateTableName(schema: string): string {
  return quoteQualified(schema, 'ctrelay_state');
}

export function createStateTableStatement(schema: string): Statement {
  const t = stateTableName(schema);
  return {
    sql: `IF OBJECT_ID(@qualifiedName, N'U') IS NULL
  CREATE TABLE ${t} (
    source_id nvarchar(200) COLLATE ${KEY_COLLATION} NOT NULL PRIMARY KEY,
    batch_seq bigint NOT NULL,
    version bigint NOT NULL,
    batch_offset bigint NOT NULL,
    applied_at datetime2(3) NOT NULL,
    promoted_at datetime2(3) NULL
  );`,
    params: { qualifiedName: nv(t) },
  };
}

export function readStateStatement(schema: string, sourceId: string): Statement {
  return {
    // every column: a state table from before promoted_at existed reads as not promoted
    sql: `SELECT * FROM ${stateTableName(schema)} WHERE source_id = @sourceId;`,
    params: { sourceId: nv(sourceId) },
  };
}

/**
 * Forward only: the row is read first under UPDLOCK, HOLDLOCK (a markPromoted that committed
 * meanwhile is seen, one in flight waits for this transaction); a promoted row is left as it is
 * (`promoted_at` returned, rows_written 0); else updated only when its batch_seq is below ours,
 * inserted only when absent (two appliers cannot both insert); `rows_written` = 0 means another
 * applier is at or past our batch.
 */
export function writeStateStatement(schema: string, state: ApplyState): Statement {
  const t = stateTableName(schema);
  return {
    sql: `DECLARE @written int = 0, @promoted datetime2(3), @promotedVersion bigint, @promotedSeq bigint;
SELECT @promoted = promoted_at, @promotedVersion = version, @promotedSeq = batch_seq FROM ${t} WITH (UPDLOCK, HOLDLOCK) WHERE source_id = @sourceId;
IF @promoted IS NULL
BEGIN
UPDATE ${t} SET batch_seq = @batchSeq, version = @version, batch_offset = @batchOffset, applied_at = SYSUTCDATETIME() WHERE source_id = @sourceId AND batch_seq < @batchSeq;
SET @written = @@ROWCOUNT;
IF @written = 0 AND NOT EXISTS (SELECT 1 FROM ${t} WITH (UPDLOCK, HOLDLOCK) WHERE source_id = @sourceId)
BEGIN
  INSERT INTO ${t} (source_id, batch_seq, version, batch_offset, applied_at) VALUES (@sourceId, @batchSeq, @version, @batchOffset, SYSUTCDATETIME());
  SET @written = @@ROWCOUNT;
END
END
SELECT @written AS rows_written, @promoted AS promoted_at, @promotedVersion AS promoted_version, @promotedSeq AS promoted_seq;`,
    params: {
      sourceId: nv(state.sourceId),
      batchSeq: { sqlType: 'bigint', value: state.batchSeq },
      version: { sqlType: 'bigint', value: state.version },
      batchOffset: { sqlType: 'bigint', value: state.batchOffset },
    },
  };
}

/** The table with its primary key; string key columns compare binary (KEY_COLLATION, see sqlserver-keys.ts). */
export function createTableStatement(table: TableMeta): Statement {
  const keys = new Set(table.key);
  const cols = standbyColumns(table).map((c) => {
    const collate = keys.has(c.name) && c.type.kind === 'string' ? ` COLLATE ${KEY_COLLATION}` : '';
    return `  ${quoteIdent(c.name)} ${c.sourceType}${collate} ${keys.has(c.name) || !c.nullable ? 'NOT NULL' : 'NULL'}`;
  });
  return {
    sql: `IF OBJECT_ID(@qualifiedName, N'U') IS NULL
  CREATE TABLE ${objectName(table)} (
${cols.map((c) => `  ${c},`).join('\n')}
    PRIMARY KEY (${table.key.map(quoteIdent).join(', ')})
  );`,
    params: { qualifiedName: nv(objectName(table)) },
  };
}

/** Columns added to an existing table are nullable: its rows have no value for them. */
export function addColumnsStatement(table: TableMeta, names: string[]): Statement {
  const byName = new Map(standbyColumns(table).map((c) => [c.name, c]));
  const defs = names.map((n) => `${quoteIdent(n)} ${byName.get(n)!.sourceType} NULL`);
  return batch(`ALTER TABLE ${objectName(table)} ADD ${defs.join(', ')};`);
}

/** Empties the table (a re-snapshot begins). DELETE, not TRUNCATE: TRUNCATE needs ALTER permission on the table. */
export function deleteAllStatement(table: TableMeta): Statement {
  return batch(`DELETE FROM ${objectName(table)};`);
}

/** Key-ordered read of the standby table (verify, tests): the driver's keyset page on standby types. */
export function scanStatement(table: TableMeta, afterKey: Row | null, limit: number): Statement {
  return keysetPageStatement({ ...table, columns: standbyColumns(table) }, afterKey, limit);
}
