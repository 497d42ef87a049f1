// Reads and checks one table's catalog entry: the rules of ChangeSource.describe (missing table, no
// primary key, change tracking off, missing grants, unsupported types) as pure functions of the
// catalog rows, so that every message is unit-tested.
import { SourceError } from '../../core/errors.ts';
import type { ColumnMeta, TableMeta, TableRef } from '../../core/model.ts';
import { quoteQualified } from '../../drivers/sqlserver/quote.ts';
import type { TrackingInfo } from './rows.ts';
import { mapCatalogType, type CatalogColumn } from './types.ts';

export interface TablePrerequisites {
  objectId: number | null;
  changeTrackingOn: boolean;
  trackColumnsUpdated: boolean;
  canSelect: boolean;
  canViewChangeTracking: boolean;
}

function truthy(v: unknown): boolean {
  return v === true || v === 1;
}

export function readTablePrerequisites(rec: Record<string, unknown> | undefined): TablePrerequisites {
  return {
    objectId: typeof rec?.object_id === 'number' ? rec.object_id : null,
    changeTrackingOn: truthy(rec?.change_tracking_on),
    trackColumnsUpdated: truthy(rec?.is_track_columns_updated_on),
    canSelect: truthy(rec?.can_select),
    canViewChangeTracking: truthy(rec?.can_view_change_tracking),
  };
}

export function readCatalogColumn(rec: Record<string, unknown>): CatalogColumn {
  return {
    columnId: Number(rec.column_id),
    name: String(rec.name),
    typeName: String(rec.type_name),
    baseTypeName: String(rec.base_type_name),
    isUserDefined: truthy(rec.is_user_defined),
    isAssemblyType: truthy(rec.is_assembly_type),
    maxLength: Number(rec.max_length),
    precision: Number(rec.precision),
    scale: Number(rec.scale),
    nullable: truthy(rec.is_nullable),
    computed: truthy(rec.is_computed),
    identity: truthy(rec.is_identity),
    hasDefault: truthy(rec.has_default),
    collation: typeof rec.collation_name === 'string' ? rec.collation_name : null,
    keyOrdinal: rec.key_ordinal === null || rec.key_ordinal === undefined || Number(rec.key_ordinal) === 0 ? null : Number(rec.key_ordinal),
  };
}

/**
 * What keeps the table from being captured, each as a message a user can act on (empty when
 * nothing). A missing table has no other problem worth reporting.
 */
export function tablePrerequisiteProblems(ref: TableRef, server: string, p: TablePrerequisites): string[] {
  const name = `${ref.schema}.${ref.table}`;
  const quoted = quoteQualified(ref.schema, ref.table);
  if (p.objectId === null) {
    return [`table ${name} not found in ${server} (or the login may not see it: GRANT SELECT, VIEW CHANGE TRACKING ON ${quoted} TO <agent user>)`];
  }
  const out: string[] = [];
  if (!p.canSelect) out.push(`the login cannot read table ${name} in ${server}: GRANT SELECT ON ${quoted} TO <agent user>`);
  if (!p.canViewChangeTracking) {
    out.push(`the login cannot read the change tracking of table ${name} in ${server}: GRANT VIEW CHANGE TRACKING ON ${quoted} TO <agent user>`);
  }
  if (!p.changeTrackingOn) {
    out.push(`change tracking is not enabled on table ${name} in ${server}: run \`ctrelay ct enable\` or ALTER TABLE ${quoted} ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)`);
  }
  return out;
}

/** Throws the SourceError a user can act on when the table cannot be captured (its first problem). */
export function checkTablePrerequisites(ref: TableRef, server: string, p: TablePrerequisites): void {
  const problems = tablePrerequisiteProblems(ref, server, p);
  if (problems.length > 0) throw new SourceError(problems[0]);
}

/**
 * ONE SourceError listing every problem found across the tables (describe reports them all at
 * once), or null when there is none. A single problem is its own message.
 */
export function problemsError(problems: string[]): SourceError | null {
  if (problems.length === 0) return null;
  if (problems.length === 1) return new SourceError(problems[0]);
  return new SourceError(`${problems.length} problems with the source tables: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}`);
}

export interface DescribedTable {
  meta: TableMeta;
  info: TrackingInfo;
}

/** Builds TableMeta from the catalog rows, applying the configured exclusions; throws the table's problems (all of them). */
export function buildTableMeta(ref: TableRef, server: string, p: TablePrerequisites, rows: CatalogColumn[], excluded: Set<string> = new Set()): DescribedTable {
  const r = describeTableRows(ref, server, p, rows, excluded);
  if ('problems' in r) throw problemsError(r.problems)!;
  return r;
}

/**
 * The table's meta, or every problem that keeps it from being captured (misspelt or key
 * exclusions, no primary key, each column of a type ctrelay cannot replicate), each naming table
 * and column. Each column reports hasDefault (a default constraint, or IDENTITY) and generated (computed).
 */
export function describeTableRows(
  ref: TableRef, server: string, p: TablePrerequisites, rows: CatalogColumn[], excluded: Set<string> = new Set(),
): DescribedTable | { problems: string[] } {
  const name = `${ref.schema}.${ref.table}`;
  const problems: string[] = [];
  const known = new Set(rows.map((r) => r.name));
  for (const x of excluded) {
    if (!known.has(x)) problems.push(`excludeColumns names column ${x} of table ${name}, which has no such column (in ${server})`);
  }
  const keyRows = rows.filter((r) => r.keyOrdinal !== null).sort((a, b) => a.keyOrdinal! - b.keyOrdinal!);
  if (keyRows.length === 0) problems.push(`table ${name} in ${server} has no primary key; change tracking and ctrelay need one`);
  const columns: ColumnMeta[] = [];
  const columnIds = p.trackColumnsUpdated ? new Map<string, number>() : null;
  const computed = new Set<string>();
  const keyCollations = new Map<string, string>();
  for (const r of rows) {
    if (r.keyOrdinal !== null && r.collation) keyCollations.set(r.name, r.collation);
    if (excluded.has(r.name)) {
      if (r.keyOrdinal !== null) problems.push(`excludeColumns cannot exclude column ${r.name} of table ${name}: it is part of the primary key`);
      continue;
    }
    const m = mapCatalogType(r);
    if (!m.ok) {
      problems.push(
        `table ${name} column ${r.name} has type ${m.sourceType}, which ctrelay cannot replicate (${m.reason}); ` +
          `exclude it with source.excludeColumns: { "${name}": ["${r.name}"] }`,
      );
      continue;
    }
    // an IDENTITY column added to a table numbers its existing rows, like a default fills them
    columns.push({ name: r.name, type: m.type, nullable: r.nullable, sourceType: m.sourceType, hasDefault: r.hasDefault === true || r.identity, generated: r.computed });
    if (r.computed) computed.add(r.name);
    else if (columnIds && r.keyOrdinal === null) columnIds.set(r.name, r.columnId);
  }
  if (problems.length > 0) return { problems };
  return {
    meta: { schema: ref.schema, table: ref.table, columns, key: keyRows.map((r) => r.name) },
    info: { columnIds, computed, keyCollations },
  };
}

/**
 * TrackingInfo for a TableMeta that came from elsewhere (e.g. a restart that reads the schema from
 * Kafka): only the columns the TableMeta carries count, so exclusions need not be known here.
 */
export function trackingInfoFor(table: TableMeta, p: TablePrerequisites, rows: CatalogColumn[]): TrackingInfo {
  const wanted = new Set(table.columns.map((c) => c.name));
  const keys = new Set(table.key);
  const columnIds = p.trackColumnsUpdated ? new Map<string, number>() : null;
  const computed = new Set<string>();
  const keyCollations = new Map<string, string>();
  for (const r of rows) {
    if (keys.has(r.name) && r.collation) keyCollations.set(r.name, r.collation);
    if (!wanted.has(r.name) || keys.has(r.name)) continue;
    if (r.computed) computed.add(r.name);
    else columnIds?.set(r.name, r.columnId);
  }
  return { columnIds, computed, keyCollations };
}
