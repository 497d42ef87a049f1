// Shared table fixtures for the SQL Server unit tests.
import type { TableMeta } from '../../core/model.ts';

export const orders: TableMeta = {
  schema: 'dbo',
  table: 'orders',
  key: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' },
    { name: 'amount', type: { kind: 'decimal', precision: 10, scale: 2 }, nullable: true, sourceType: 'decimal(10,2)' },
    { name: 'note', type: { kind: 'string', maxLength: 100 }, nullable: true, sourceType: 'nvarchar(100)' },
  ],
};

/** composite key (tenant, day, line) in key order different from column order, hostile names */
export const lines: TableMeta = {
  schema: 'sales data',
  table: 'order]lines',
  key: ['tenant', 'day', 'line no'],
  columns: [
    { name: 'line no', type: { kind: 'int16' }, nullable: false, sourceType: 'smallint' },
    { name: 'tenant', type: { kind: 'uuid' }, nullable: false, sourceType: 'uniqueidentifier' },
    { name: 'day', type: { kind: 'date' }, nullable: false, sourceType: 'date' },
    { name: 'at', type: { kind: 'datetimeoffset', precision: 7 }, nullable: true, sourceType: 'datetimeoffset(7)' },
    { name: 'price', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: true, sourceType: 'money' },
  ],
};
