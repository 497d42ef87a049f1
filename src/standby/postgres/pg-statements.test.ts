// The PostgreSQL statements' text for pre-created tables (write-shape.ts): columns by name,
// generated columns left out, OVERRIDING SYSTEM VALUE for GENERATED ALWAYS identities, the read-back.
import { describe, expect, it } from 'vitest';
import type { ColumnMeta, ColumnType, TableMeta } from '../../core/model.ts';
import type { StandbyColumn } from '../dialect.ts';
import { plainShape, writeShape } from '../write-shape.ts';
import { readBackStatement, upsertStatement } from './pg-statements.ts';

const col = (name: string, type: ColumnType, nullable = true): ColumnMeta => ({ name, type, nullable, sourceType: type.kind });
const sb = (name: string, more: Partial<StandbyColumn> = {}): StandbyColumn => ({
  name, nativeType: 'x', nullable: true, inKey: false, generated: false, identity: null, hasDefault: false, ...more,
});
const t: TableMeta = {
  schema: 'public',
  table: 'child',
  key: ['id'],
  columns: [col('id', { kind: 'int32' }, false), col('qty', { kind: 'int32' }), col('total', { kind: 'decimal', precision: 20, scale: 2 })],
};

describe('PostgreSQL upsert of a pre-created table', () => {
  it('as ctrelay creates tables: every column, no override', () => {
    expect(upsertStatement(t, plainShape(t))).toBe(
      'INSERT INTO "public"."child" ("id", "qty", "total") SELECT * FROM unnest($1::integer[], $2::integer[], $3::numeric[])' +
        ' ON CONFLICT ("id") DO UPDATE SET "qty" = EXCLUDED."qty", "total" = EXCLUDED."total"',
    );
  });

  it('the generated column left out, the identity overridden, the read-back of the generated column by key', () => {
    const shape = writeShape(t, [sb('total', { generated: true }), sb('id', { inKey: true, identity: 'always' }), sb('qty')], false, 'PostgreSQL');
    expect(upsertStatement(t, shape)).toBe(
      'INSERT INTO "public"."child" ("id", "qty") OVERRIDING SYSTEM VALUE SELECT * FROM unnest($1::integer[], $2::integer[])' +
        ' ON CONFLICT ("id") DO UPDATE SET "qty" = EXCLUDED."qty"',
    );
    expect(readBackStatement(t, shape)).toBe(
      'SELECT t."id", t."total" FROM "public"."child" AS t JOIN unnest($1::integer[]) AS k(k0) ON t."id" = k.k0',
    );
  });

  it('nothing left to update: DO NOTHING', () => {
    const shape = writeShape(t, [sb('id', { inKey: true }), sb('qty', { generated: true }), sb('total', { generated: true })], false, 'PostgreSQL');
    expect(upsertStatement(t, shape)).toMatch(/\("id"\) SELECT .* ON CONFLICT \("id"\) DO NOTHING$/);
  });
});
