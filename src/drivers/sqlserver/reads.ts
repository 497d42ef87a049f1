// How SQL Server columns are read and compared without loss through tedious: the expression a
// column is SELECTed as (readExpression) and the type a key value is CAST to in a predicate
// (castTypeOf). Shared by the source (snapshots, changes) and the standby (scans).
import type { ColumnMeta } from '../../core/model.ts';

/** The base name of a sourceType string: "decimal(10,2)" -> "decimal". */
export function baseName(sourceType: string): string {
  const i = sourceType.indexOf('(');
  return (i < 0 ? sourceType : sourceType.slice(0, i)).trim().toLowerCase();
}

/**
 * Wraps a column expression so that tedious returns a lossless value: tedious turns decimal and money
 * into JS numbers and date/time types into millisecond Dates (dropping the offset of
 * datetimeoffset), so those travel as strings; the rest arrive exactly as they are.
 */
export function readExpression(expr: string, col: Pick<ColumnMeta, 'type' | 'sourceType'>): string {
  const base = baseName(col.sourceType);
  switch (base) {
    case 'money':
      return `CONVERT(varchar(50), CONVERT(decimal(19,4), ${expr}))`;
    case 'smallmoney':
      return `CONVERT(varchar(50), CONVERT(decimal(10,4), ${expr}))`;
    case 'rowversion':
    case 'timestamp':
      return `CONVERT(binary(8), ${expr})`;
    case 'xml':
    case 'json':
      return `CONVERT(nvarchar(max), ${expr})`;
    case 'hierarchyid':
      return `CONVERT(nvarchar(4000), ${expr})`;
  }
  switch (col.type.kind) {
    case 'decimal':
      return `CONVERT(varchar(50), ${expr})`;
    case 'date':
      return `CONVERT(varchar(10), ${expr}, 23)`;
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'datetimeoffset':
      return `CONVERT(varchar(40), ${expr}, 121)`;
    default:
      return expr;
  }
}

/**
 * The type a canonical key value is CAST to inside a predicate, so that the comparison runs in the
 * column's own type and collation (and an index seek stays possible).
 */
export function castTypeOf(col: Pick<ColumnMeta, 'sourceType'>): string {
  const base = baseName(col.sourceType);
  if (base === 'rowversion' || base === 'timestamp') return 'binary(8)';
  if (base === 'text') return 'varchar(max)';
  if (base === 'ntext') return 'nvarchar(max)';
  if (base === 'image') return 'varbinary(max)';
  return col.sourceType;
}
