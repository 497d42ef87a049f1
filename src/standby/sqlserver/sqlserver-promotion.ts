// The SQL Server standby's side of failover (src/standby/promotion.ts): the statements, as pure
// functions (names as parameters, DDL assembled server-side with QUOTENAME), and the plan of
// advanceSequences. NOT RUN against a SQL Server (none where it was written): unit-tested on text.
//
// Protection: SQL Server has no database switch that spares one login (READ_ONLY stops the applier
// too; DENY does not bind db_owner, which applications often are). So each standby table gets
// Row-Level Security BLOCK predicates (AFTER INSERT, AFTER UPDATE, BEFORE UPDATE, BEFORE DELETE) of
// one security policy `<state schema>.ctrelay_protect`, through a schema-bound inline function that
// lets a row be written only when the session's SESSION_CONTEXT(N'ctrelay_applier') is 1; the
// applier sets it (read-only for the session) at the start of every transaction
// (applierSessionStatement). The predicates bind every user of the table, owners included; a login
// that may alter the policy can turn it off, and any session can set the key: it guards against
// mistakes, not malice.
// Tables the applier creates later get the predicates from ensureTable (protectTableStatement).
// unprotect turns the policy off (STATE = OFF). Needs CREATE FUNCTION, ALTER ANY SECURITY POLICY,
// ALTER on the state schema and REFERENCES/ALTER on the tables (db_owner has them).
import type { Statement } from '../../drivers/sqlserver/params.ts';
import type { ParamValue } from '../../drivers/sqlserver/values.ts';
import { objectName, quoteIdent, quoteQualified } from '../../drivers/sqlserver/quote.ts';
import type { TableRef } from '../../core/model.ts';
import { floorKey, nextCounterValue, type SequenceAdvance } from '../promotion.ts';

const nv = (value: string): ParamValue => ({ sqlType: 'nvarchar', value });
const big = (value: bigint): ParamValue => ({ sqlType: 'bigint', value });

export const POLICY = 'ctrelay_protect';
export const PREDICATE_FUNCTION = 'ctrelay_applier_only';
/** the SESSION_CONTEXT key the predicate reads */
export const SESSION_KEY = 'ctrelay_applier';

const names = (schema: string) => ({
  schema: nv(schema),
  fn: nv(quoteQualified(schema, PREDICATE_FUNCTION)),
  policy: nv(quoteQualified(schema, POLICY)),
});

/** Adds ctrelay_state.promoted_at to a state table created before it existed. */
export function ensurePromotedColumnStatement(schema: string): Statement {
  const t = quoteQualified(schema, 'ctrelay_state');
  return {
    sql: `IF OBJECT_ID(@qualifiedName, N'U') IS NOT NULL AND COL_LENGTH(@qualifiedName, N'promoted_at') IS NULL
  ALTER TABLE ${t} ADD promoted_at datetime2(3) NULL;`,
    params: { qualifiedName: nv(t) },
  };
}

/**
 * Sets promoted_at once, in one UPDATE holding the row (UPDLOCK, HOLDLOCK: it waits for an apply
 * transaction that locked the row in writeState and promotes at what that one committed);
 * idempotent. No row: the source has no state here.
 */
export function markPromotedStatement(schema: string, sourceId: string): Statement {
  return {
    sql: `UPDATE ${quoteQualified(schema, 'ctrelay_state')} WITH (UPDLOCK, HOLDLOCK) SET promoted_at = COALESCE(promoted_at, SYSUTCDATETIME())
OUTPUT inserted.promoted_at, inserted.version, inserted.batch_seq
WHERE source_id = @sourceId;`,
    params: { sourceId: nv(sourceId) },
  };
}

export function readPromotionStatement(schema: string, sourceId: string): Statement {
  return {
    sql: `SELECT promoted_at, version, batch_seq FROM ${quoteQualified(schema, 'ctrelay_state')} WHERE source_id = @sourceId AND promoted_at IS NOT NULL;`,
    params: { sourceId: nv(sourceId) },
  };
}

/** Marks the session as the applier's, once per session (read-only: nothing in it can change it). */
export function applierSessionStatement(): Statement {
  return {
    sql: `IF SESSION_CONTEXT(N'${SESSION_KEY}') IS NULL EXEC sys.sp_set_session_context @key = N'${SESSION_KEY}', @value = 1, @read_only = 1;`,
    params: {},
  };
}

/** The predicate function: a row may be written only by a session marked as the applier's. */
export function predicateFunctionStatement(schema: string): Statement {
  return {
    sql: `IF OBJECT_ID(@fn, N'IF') IS NULL
BEGIN
  DECLARE @ddl nvarchar(max) = N'CREATE FUNCTION ' + @fn + N'(@marker int) RETURNS TABLE WITH SCHEMABINDING AS RETURN SELECT 1 AS ok WHERE CAST(SESSION_CONTEXT(N''${SESSION_KEY}'') AS int) = @marker';
  EXEC sys.sp_executesql @ddl;
END;`,
    params: { fn: names(schema).fn },
  };
}

/** Every user table outside the state schema, as `[schema].[table]`: what protect() covers. */
export function userTablesStatement(schema: string): Statement {
  return {
    sql: `SELECT QUOTENAME(s.name) + N'.' + QUOTENAME(t.name) AS name FROM sys.tables AS t INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id
WHERE t.is_ms_shipped = 0 AND s.name <> @schema ORDER BY s.name, t.name;`,
    params: { schema: nv(schema) },
  };
}

/**
 * The four block predicates on one table (`quoted`: `[schema].[table]`), when the protection is set
 * up (the function exists) and the table has none of the policy yet; creates the policy (ON) with
 * its first table.
 */
export function protectTableStatement(schema: string, quoted: string): Statement {
  const ops = ['AFTER INSERT', 'AFTER UPDATE', 'BEFORE UPDATE', 'BEFORE DELETE'];
  const adds = ops.map((op) => `N'ADD BLOCK PREDICATE ' + @pred + N' ${op}'`).join(` + N', ' + `);
  return {
    sql: `IF OBJECT_ID(@fn, N'IF') IS NOT NULL AND OBJECT_ID(@qualifiedName, N'U') IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM sys.security_predicates AS p INNER JOIN sys.security_policies AS sp ON sp.object_id = p.object_id
  WHERE sp.object_id = OBJECT_ID(@policy, N'SP') AND p.target_object_id = OBJECT_ID(@qualifiedName))
BEGIN
  DECLARE @pred nvarchar(max) = @fn + N'(1) ON ' + @qualifiedName;
  DECLARE @adds nvarchar(max) = ${adds};
  DECLARE @ddl nvarchar(max) = CASE WHEN OBJECT_ID(@policy, N'SP') IS NULL
    THEN N'CREATE SECURITY POLICY ' + @policy + N' ' + @adds + N' WITH (STATE = ON, SCHEMABINDING = ON)'
    ELSE N'ALTER SECURITY POLICY ' + @policy + N' ' + @adds END;
  EXEC sys.sp_executesql @ddl;
END;`,
    params: { fn: names(schema).fn, policy: names(schema).policy, qualifiedName: nv(quoted) },
  };
}

/** Turns the policy on (protect) or off (unprotect; without a policy the function goes, so later tables stay open). */
export function policyStateStatement(schema: string, on: boolean): Statement {
  return {
    sql: on
      ? `IF OBJECT_ID(@policy, N'SP') IS NOT NULL
BEGIN
  DECLARE @ddl nvarchar(max) = N'ALTER SECURITY POLICY ' + @policy + N' WITH (STATE = ON)';
  EXEC sys.sp_executesql @ddl;
END;`
      : `DECLARE @ddl nvarchar(max) = CASE
  WHEN OBJECT_ID(@policy, N'SP') IS NOT NULL THEN N'ALTER SECURITY POLICY ' + @policy + N' WITH (STATE = OFF)'
  WHEN OBJECT_ID(@fn, N'IF') IS NOT NULL THEN N'DROP FUNCTION ' + @fn END;
IF @ddl IS NOT NULL EXEC sys.sp_executesql @ddl;`,
    params: on ? { policy: names(schema).policy } : { policy: names(schema).policy, fn: names(schema).fn },
  };
}

export function isProtectedStatement(schema: string): Statement {
  return {
    sql: `SELECT is_enabled FROM sys.security_policies WHERE object_id = OBJECT_ID(@policy, N'SP');`,
    params: { policy: names(schema).policy },
  };
}

/**
 * The counters feeding columns of `table`: IDENTITY columns (sys.identity_columns) and sequences a
 * column default takes NEXT VALUE FOR from (sys.sql_expression_dependencies; last_used_value:
 * SQL Server 2017 and later). Numbers as text: last_value, increment, seed (NULL last_value: never used).
 */
export function countersStatement(table: TableRef): Statement {
  const num = (e: string) => `CONVERT(nvarchar(40), CAST(${e} AS decimal(38, 0)))`;
  return {
    sql: `SELECT c.name AS column_name, N'identity' AS kind, @qualifiedName AS object_name,
  ${num('ic.last_value')} AS last_value, ${num('ic.increment_value')} AS increment, ${num('ic.seed_value')} AS seed
FROM sys.identity_columns AS ic INNER JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE ic.object_id = OBJECT_ID(@qualifiedName)
UNION ALL
SELECT c.name, N'sequence', QUOTENAME(SCHEMA_NAME(sq.schema_id)) + N'.' + QUOTENAME(sq.name),
  CASE WHEN sq.last_used_value IS NULL THEN NULL ELSE ${num('sq.current_value')} END, ${num('sq.increment')}, ${num('sq.start_value')}
FROM sys.default_constraints AS dc
INNER JOIN sys.columns AS c ON c.object_id = dc.parent_object_id AND c.column_id = dc.parent_column_id
INNER JOIN sys.sql_expression_dependencies AS d ON d.referencing_id = dc.object_id
INNER JOIN sys.sequences AS sq ON sq.object_id = d.referenced_id
WHERE dc.parent_object_id = OBJECT_ID(@qualifiedName);`,
    params: { qualifiedName: nv(objectName(table)) },
  };
}

export function columnMaxStatement(table: TableRef, column: string): Statement {
  return { sql: `SELECT CONVERT(nvarchar(40), MAX(${quoteIdent(column)})) AS m FROM ${objectName(table)};`, params: {} };
}

export interface CounterRow {
  column_name: string;
  kind: 'identity' | 'sequence';
  object_name: string;
  last_value: string | null;
  increment: string;
  seed: string;
}

/**
 * What advanceSequences does to one table's counters (rows of countersStatement, the columns'
 * largest values): a DBCC CHECKIDENT … RESEED or an ALTER SEQUENCE … RESTART WITH for each counter
 * that must move forward. RESEED n makes the next identity n + increment once a row was ever
 * inserted, n itself before (Microsoft: DBCC CHECKIDENT); RESTART WITH n hands out n next.
 */
export function counterPlan(table: TableRef, rows: CounterRow[], maxes: ReadonlyMap<string, bigint | null>, floors: ReadonlyMap<string, bigint>): { statements: Statement[]; advances: SequenceAdvance[] } {
  const statements: Statement[] = [];
  const advances: SequenceAdvance[] = [];
  for (const r of rows) {
    const inc = BigInt(r.increment);
    if (inc <= 0n) continue; // a descending counter hands out values below what it holds
    const before = r.last_value === null ? BigInt(r.seed) : BigInt(r.last_value) + inc;
    const next = nextCounterValue(before, maxes.get(r.column_name) ?? null, floors.get(floorKey(table, r.column_name)));
    if (next <= before) continue;
    if (r.kind === 'identity') {
      const reseed = r.last_value === null ? next : next - inc;
      statements.push({ sql: 'DBCC CHECKIDENT (@qualifiedName, RESEED, @reseed) WITH NO_INFOMSGS;', params: { qualifiedName: nv(r.object_name), reseed: big(reseed) } });
    } else {
      statements.push({
        sql: `DECLARE @ddl nvarchar(max) = N'ALTER SEQUENCE ' + @sequence + N' RESTART WITH ' + CONVERT(nvarchar(40), @next);
EXEC sys.sp_executesql @ddl;`,
        params: { sequence: nv(r.object_name), next: big(next) },
      });
    }
    advances.push({ table: `${table.schema}.${table.table}`, column: r.column_name, sequence: r.kind === 'identity' ? `IDENTITY of ${r.object_name}` : r.object_name, before, next });
  }
  return { statements, advances };
}
