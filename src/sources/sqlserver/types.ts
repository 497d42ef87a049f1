// SQL Server catalog types -> ctrelay ColumnType, and the SELECT expression that makes tedious hand
// over each type without loss. Microsoft docs followed: "Data types (Transact-SQL)", "sys.columns",
// "CAST and CONVERT (Transact-SQL)" (style 121 = ODBC canonical, the default for time, date,
// datetime2 and datetimeoffset, always prints the type's fractional digits; style 126 drops a zero
// fraction, so it is not used).
import type { ColumnMeta, ColumnType } from '../../core/model.ts';

/** One row of the catalog query (sql.ts columnsSql), already typed. */
export interface CatalogColumn {
  columnId: number;
  name: string;
  /** TYPE_NAME(user_type_id): the declared type, an alias type's own name, or a CLR type's name */
  typeName: string;
  /** TYPE_NAME(system_type_id): the system type an alias type is based on */
  baseTypeName: string;
  isUserDefined: boolean;
  isAssemblyType: boolean;
  /** bytes; -1 for (max) */
  maxLength: number;
  precision: number;
  scale: number;
  nullable: boolean;
  computed: boolean;
  identity: boolean;
  /** a default constraint is bound to the column (sys.columns.default_object_id <> 0) */
  hasDefault?: boolean;
  /** sys.columns.collation_name: the collation of a character column, null for the others */
  collation?: string | null;
  /** position in the primary key (1-based), null when not a key column */
  keyOrdinal: number | null;
}

export type TypeMapping =
  | { ok: true; type: ColumnType; sourceType: string }
  | { ok: false; sourceType: string; reason: string };

const UNSUPPORTED: Record<string, string> = {
  sql_variant: 'its values carry their own type per row, which no fixed Avro schema can hold',
  geography: 'spatial types have no lossless portable form ctrelay could replicate',
  geometry: 'spatial types have no lossless portable form ctrelay could replicate',
  vector: 'vector is not mapped yet',
  cursor: 'it is not a storable type',
  table: 'it is not a storable type',
};

/** The system type name that decides the mapping: an alias type maps as the type it is based on. */
export function effectiveTypeName(c: CatalogColumn): string {
  if (c.isAssemblyType) return c.typeName.toLowerCase();
  if (c.isUserDefined) return c.baseTypeName.toLowerCase();
  return c.typeName.toLowerCase();
}

function lengthSpec(maxLength: number, bytesPerChar: number): string {
  return maxLength === -1 ? 'max' : String(maxLength / bytesPerChar);
}

export function mapCatalogType(c: CatalogColumn): TypeMapping {
  const name = effectiveTypeName(c);
  const ok = (type: ColumnType, sourceType: string): TypeMapping => ({ ok: true, type, sourceType });
  switch (name) {
    case 'bit':
      return ok({ kind: 'boolean' }, 'bit');
    // tinyint is 0..255: int16 holds it; an int8 would not
    case 'tinyint':
      return ok({ kind: 'int16' }, 'tinyint');
    case 'smallint':
      return ok({ kind: 'int16' }, 'smallint');
    case 'int':
      return ok({ kind: 'int32' }, 'int');
    case 'bigint':
      return ok({ kind: 'int64' }, 'bigint');
    case 'real':
      return ok({ kind: 'float32' }, 'real');
    case 'float':
      return ok({ kind: 'float64' }, 'float');
    case 'decimal':
    case 'numeric':
      return ok({ kind: 'decimal', precision: c.precision, scale: c.scale }, `${name}(${c.precision},${c.scale})`);
    case 'money':
      return ok({ kind: 'decimal', precision: 19, scale: 4 }, 'money');
    case 'smallmoney':
      return ok({ kind: 'decimal', precision: 10, scale: 4 }, 'smallmoney');
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar': {
      const perChar = name.startsWith('n') ? 2 : 1;
      const len = lengthSpec(c.maxLength, perChar);
      const fixed = name === 'char' || name === 'nchar';
      const type: ColumnType = len === 'max' ? { kind: 'string' } : { kind: 'string', maxLength: Number(len), ...(fixed ? { fixedLength: true } : {}) };
      return ok(type, `${name}(${len})`);
    }
    case 'text':
    case 'ntext':
      return ok({ kind: 'string' }, name);
    case 'binary':
    case 'varbinary': {
      const len = lengthSpec(c.maxLength, 1);
      const type: ColumnType = len === 'max' ? { kind: 'bytes' } : { kind: 'bytes', maxLength: Number(len), ...(name === 'binary' ? { fixedLength: true } : {}) };
      return ok(type, `${name}(${len})`);
    }
    case 'image':
      return ok({ kind: 'bytes' }, 'image');
    case 'timestamp':
    case 'rowversion':
      return ok({ kind: 'bytes', maxLength: 8, fixedLength: true }, 'rowversion');
    case 'uniqueidentifier':
      return ok({ kind: 'uuid' }, 'uniqueidentifier');
    case 'date':
      return ok({ kind: 'date' }, 'date');
    // sys.columns.scale is the fractional-seconds precision of time, datetime2 and datetimeoffset
    case 'time':
      return ok({ kind: 'time', precision: c.scale }, `time(${c.scale})`);
    case 'datetime2':
      return ok({ kind: 'timestamp', precision: c.scale }, `datetime2(${c.scale})`);
    case 'datetimeoffset':
      return ok({ kind: 'datetimeoffset', precision: c.scale }, `datetimeoffset(${c.scale})`);
    // datetime keeps 1/300 s, rounded by the server to .000/.003/.007: three digits carry it exactly
    case 'datetime':
      return ok({ kind: 'timestamp', precision: 3 }, 'datetime');
    case 'smalldatetime':
      return ok({ kind: 'timestamp', precision: 0 }, 'smalldatetime');
    case 'xml':
      return ok({ kind: 'xml' }, 'xml');
    case 'json':
      return ok({ kind: 'json' }, 'json');
    // the canonical string form ('/1/3/') round-trips through CAST(... AS hierarchyid)
    case 'hierarchyid':
      return ok({ kind: 'string', maxLength: 4000 }, 'hierarchyid');
    case 'sysname':
      return ok({ kind: 'string', maxLength: 128 }, 'nvarchar(128)');
    default: {
      const reason = UNSUPPORTED[name] ?? (c.isAssemblyType ? 'it is a CLR user-defined type' : 'ctrelay does not know this type');
      return { ok: false, sourceType: c.typeName, reason };
    }
  }
}
