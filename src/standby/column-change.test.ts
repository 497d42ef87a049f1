// The rule of ensureTable (src/standby/column-change.ts) with each engine's spelling: what is
// added, widened, relaxed, and what is refused with which message.
import { describe, expect, it } from 'vitest';
import type { ColumnMeta, ColumnType, TableMeta } from '../core/model.ts';
import { ColumnChangeRefusedError, isEmptyChange, planTableChange } from './column-change.ts';
import type { StandbyColumn } from './dialect.ts';
import { MARIA_RULES } from './mariadb/mariadb-dialect.ts';
import { PG_RULES } from './postgres/postgres-dialect.ts';
import { SQLSERVER_RULES } from './sqlserver/sqlserver-statements.ts';

const col = (name: string, type: ColumnType, sourceType: string, nullable = true): ColumnMeta => ({ name, type, nullable, sourceType });
const sb = (name: string, nativeType: string, nullable = true, inKey = false, more: Partial<StandbyColumn> = {}): StandbyColumn => ({
  name, nativeType, nullable, inKey, generated: false, identity: null, hasDefault: false, ...more,
});

/** public.t as the source describes it after widening price, label and qty */
const widened: TableMeta = {
  schema: 'public',
  table: 't',
  key: ['id'],
  columns: [
    col('id', { kind: 'int32' }, 'integer', false),
    col('qty', { kind: 'int32' }, 'integer'),
    col('label', { kind: 'string', maxLength: 200 }, 'character varying(200)'),
    col('price', { kind: 'decimal', precision: 16, scale: 6 }, 'numeric(16,6)'),
    col('ratio', { kind: 'float64' }, 'double precision'),
    col('at', { kind: 'timestamp', precision: 6 }, 'timestamp(6) without time zone'),
    col('added', { kind: 'boolean' }, 'boolean'),
  ],
};

describe('planTableChange on PostgreSQL', () => {
  const before = [
    sb('id', 'integer', false, true),
    sb('qty', 'smallint'),
    sb('label', 'character varying(20)'),
    sb('price', 'numeric(12,2)', false),
    sb('ratio', 'real'),
    sb('at', 'timestamp(3) without time zone'),
    sb('gone', 'text', false),
  ];

  it('adds, widens every widened type, drops NOT NULL where the source allows NULL or lost the column', () => {
    const c = planTableChange(widened, before, PG_RULES);
    expect(c.add.map((a) => a.name)).toEqual(['added']);
    expect(c.widen.map((w) => [w.existing.name, w.from.text, w.to.text])).toEqual([
      ['qty', 'smallint', 'integer'],
      ['label', 'character varying(20)', 'varchar(200)'],
      ['price', 'numeric(12,2)', 'numeric(16,6)'],
      ['ratio', 'real', 'double precision'],
      ['at', 'timestamp(3) without time zone', 'timestamp(6)'],
    ]);
    expect(c.dropNotNull.map((d) => d.name)).toEqual(['price', 'gone']);
    expect(c.orphaned.map((d) => d.name)).toEqual(['gone']);
  });

  it('does nothing for a table that already holds the definition (spelt the catalog way)', () => {
    const same = [
      sb('id', 'integer', false, true),
      sb('qty', 'integer'),
      sb('label', 'character varying(200)'),
      sb('price', 'numeric(16,6)'),
      sb('ratio', 'double precision'),
      sb('at', 'timestamp(6) without time zone'),
      sb('added', 'boolean'),
    ];
    expect(isEmptyChange(planTableChange(widened, same, PG_RULES))).toBe(true);
  });

  it('refuses a narrowing naming table, column, both types and the ways out, and changes nothing', () => {
    const narrowed: TableMeta = { ...widened, columns: widened.columns.map((c) => (c.name === 'label' ? col('label', { kind: 'string', maxLength: 20 }, 'character varying(20)') : c)) };
    const err = (() => {
      try {
        planTableChange(narrowed, [...before.slice(0, 2), sb('label', 'character varying(200)'), ...before.slice(3)], PG_RULES);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ColumnChangeRefusedError);
    const m = err!.message;
    expect(m).toContain('PostgreSQL standby table public.t');
    expect(m).toContain('column label: the standby column is character varying(200), the source\'s is character varying(20) now and needs varchar(20) here');
    expect(m).toContain('narrower');
    expect(m).toContain('ALTER TABLE "public"."t" ALTER COLUMN "label" TYPE varchar(20)');
    expect(m).toContain('ctrelay ct disable');
    // only the refused column is named
    expect(m).not.toContain('column qty');
  });

  it('refuses conversions and a scale that goes down, every column in one message', () => {
    const t: TableMeta = {
      ...widened,
      columns: [widened.columns[0], col('qty', { kind: 'string' }, 'text'), col('price', { kind: 'decimal', precision: 16, scale: 1 }, 'numeric(16,1)')],
    };
    expect(() => planTableChange(t, before, PG_RULES)).toThrow(/column qty: the standby column is smallint, .* needs text here: a change of kind.*; column price: the standby column is numeric\(12,2\)/);
  });

  it('refuses to widen a temporal column kept as text: its stored strings would keep the old precision', () => {
    const t: TableMeta = { schema: 's', table: 't', key: ['id'], columns: [col('id', { kind: 'int32' }, 'int', false), col('at', { kind: 'datetimeoffset', precision: 7 }, 'datetimeoffset(7)')] };
    expect(() => planTableChange(t, [sb('id', 'integer', false, true), sb('at', 'character varying(29)')], PG_RULES)).toThrow(
      /column at: the standby column is character varying\(29\), .*needs varchar\(33\) here: a datetimeoffset kept as its canonical text/,
    );
    expect(() => planTableChange(t, [sb('id', 'int(11)', false, true), sb('at', 'varchar(29) CHARACTER SET ascii COLLATE ascii_bin')], MARIA_RULES)).toThrow(/kept as its canonical text/);
  });

  it('refuses a primary key that is not the source\'s', () => {
    expect(() => planTableChange(widened, [sb('id', 'integer', false, true), sb('qty', 'integer', false, true)], PG_RULES)).toThrow(
      /primary key on the standby is \(id, qty\) but the source's is \(id\)/,
    );
  });
});

describe('planTableChange on MariaDB', () => {
  it('compares names case-insensitively and restates character sets', () => {
    const t: TableMeta = { schema: 'db', table: 't', key: ['id'], columns: [col('id', { kind: 'int32' }, 'integer', false), col('Name', { kind: 'string', maxLength: 300 }, 'varchar(300)')] };
    const c = planTableChange(t, [sb('ID', 'int(11)', false, true), sb('name', 'varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin')], MARIA_RULES);
    expect(c.add).toEqual([]);
    expect(c.widen.map((w) => w.to.text)).toEqual(['LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin']);
  });

  it('refuses a float column that is DOUBLE on the standby (as ctrelay created float32 before) with the hint', () => {
    const t: TableMeta = { schema: 'db', table: 't', key: ['id'], columns: [col('id', { kind: 'int32' }, 'integer', false), col('r', { kind: 'float32' }, 'real')] };
    expect(() => planTableChange(t, [sb('id', 'int(11)', false, true), sb('r', 'double')], MARIA_RULES)).toThrow(
      /MariaDB standby table db\.t: column r: the standby column is double, the source's is real now and needs FLOAT here.*ALTER TABLE `db`\.`t` MODIFY COLUMN `r` FLOAT/,
    );
  });
});

describe('planTableChange on SQL Server', () => {
  it('widens a non-key column, and refuses to alter a primary key column in place', () => {
    const t: TableMeta = {
      schema: 'dbo', table: 't', key: ['k'],
      columns: [col('k', { kind: 'string', maxLength: 40 }, 'nvarchar(40)', false), col('v', { kind: 'string', maxLength: 40 }, 'nvarchar(40)')],
    };
    const c = planTableChange({ ...t, key: ['k'] }, [sb('k', 'nvarchar(40)', false, true), sb('v', 'nvarchar(20)')], SQLSERVER_RULES);
    expect(c.widen.map((w) => [w.from.text, w.to.text])).toEqual([['nvarchar(20)', 'nvarchar(40)']]);
    expect(() => planTableChange(t, [sb('k', 'nvarchar(20)', false, true), sb('v', 'nvarchar(40)')], SQLSERVER_RULES)).toThrow(
      /column k: .*a primary key column, which SQL Server cannot alter in place/,
    );
  });
});

describe('planTableChange on a pre-created table', () => {
  const t: TableMeta = {
    schema: 'public',
    table: 'items',
    key: ['id'],
    columns: [col('id', { kind: 'int64' }, 'bigint', false), col('qty', { kind: 'int32' }, 'integer'), col('total', { kind: 'decimal', precision: 20, scale: 2 }, 'numeric(20,2)')],
  };

  it('keeps the NOT NULL of standby-only columns that get a value (a default, generated, identity); relaxes only those without', () => {
    const c = planTableChange(t, [
      sb('id', 'bigint', false, true, { identity: 'always', hasDefault: true }),
      sb('qty', 'integer'),
      sb('total', 'numeric(20,2)', true, false, { generated: true, hasDefault: true }),
      sb('site', 'character varying(20)', false, false, { hasDefault: true }),
      sb('computed', 'integer', false, false, { generated: true, hasDefault: true }),
      sb('counter', 'bigint', false, false, { identity: 'default', hasDefault: true }),
      sb('plain', 'text', false),
    ], PG_RULES);
    expect(c.dropNotNull.map((d) => d.name)).toEqual(['plain']);
    expect(c.orphaned.map((d) => d.name)).toEqual(['plain']);
  });

  it('never alters a generated column: no NOT NULL dropped, a widening refused naming it', () => {
    const nullable = planTableChange(t, [sb('id', 'bigint', false, true), sb('qty', 'integer'), sb('total', 'numeric(20,2)', false, false, { generated: true, hasDefault: true })], PG_RULES);
    expect(isEmptyChange(nullable)).toBe(true);
    expect(() => planTableChange(t, [sb('id', 'bigint', false, true), sb('qty', 'integer'), sb('total', 'numeric(12,2)', true, false, { generated: true, hasDefault: true })], PG_RULES)).toThrow(
      /column total: the standby column is numeric\(12,2\), .*needs numeric\(20,2\) here: a generated column on the standby, which ctrelay never alters/,
    );
  });

  it('SQL Server cannot widen an IDENTITY column in place', () => {
    const s: TableMeta = { ...t, schema: 'dbo', key: ['qty'] };
    expect(() => planTableChange(s, [sb('id', 'int', false, false, { identity: 'always', hasDefault: true }), sb('qty', 'int', false, true), sb('total', 'decimal(20,2)')], SQLSERVER_RULES)).toThrow(
      /column id: .*an IDENTITY column, which SQL Server cannot alter in place/,
    );
  });
});
