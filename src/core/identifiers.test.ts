import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { checkTableRef, formatIdentifier, formatTableName, IdentifierError, parseTableName, type IdentifierDialect } from './identifiers.ts';

const pg = (s: string, def?: string) => parseTableName(s, 'postgres', def);
const ms = (s: string, def?: string) => parseTableName(s, 'sqlserver', def);
const t = (schema: string, table: string) => ({ schema, table });

function failure(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(IdentifierError);
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected an IdentifierError');
}

describe('PostgreSQL table names', () => {
  it('folds unquoted names to lower case (ASCII only, as PostgreSQL does in UTF-8) and keeps quoted ones', () => {
    expect(pg('public.orders')).toEqual(t('public', 'orders'));
    expect(pg('Public.ORDERS')).toEqual(t('public', 'orders'));
    expect(pg('"Public"."ORDERS"')).toEqual(t('Public', 'ORDERS'));
    expect(pg('"MixedCase".select')).toEqual(t('MixedCase', 'select'));
    expect(pg('ÜBER.Straße')).toEqual(t('Über', 'straße'));
    expect(pg('public.注文明細')).toEqual(t('public', '注文明細'));
    expect(pg('_x$1.y_2')).toEqual(t('_x$1', 'y_2'));
    expect(pg('public."🦜"')).toEqual(t('public', '🦜'));
  });

  it('reads every character inside double quotes, "" as one quote', () => {
    expect(pg('"Sales Ops"."Order Lines"')).toEqual(t('Sales Ops', 'Order Lines'));
    expect(pg('"a.b"."c"')).toEqual(t('a.b', 'c'));
    expect(pg('a."b.c"')).toEqual(t('a', 'b.c'));
    expect(pg('a."b c"')).toEqual(t('a', 'b c'));
    expect(pg('"say ""hi"""."t"')).toEqual(t('say "hi"', 't'));
    expect(pg('"""".""""""')).toEqual(t('"', '""'));
    expect(pg('"a]b"."[c]"')).toEqual(t('a]b', '[c]'));
    expect(pg('" leading"."trailing "')).toEqual(t(' leading', 'trailing '));
    expect(pg('"tab\there"."new\nline"')).toEqual(t('tab\there', 'new\nline'));
    expect(pg('"select"."from"')).toEqual(t('select', 'from'));
  });

  it('U&"..." with \\XXXX, \\+XXXXXX and UESCAPE', () => {
    expect(pg('public.U&"d\\0061t\\+000061"')).toEqual(t('public', 'data'));
    expect(pg('u&"\\00fcber".x')).toEqual(t('über', 'x'));
    expect(pg('public.U&"d!0061t!!" UESCAPE \'!\'')).toEqual(t('public', 'dat!'));
    expect(pg('U&"a\\\\b".c')).toEqual(t('a\\b', 'c'));
    expect(pg('public.U&"\\+01F99C"')).toEqual(t('public', '🦜'));
    expect(failure(() => pg('public.U&"\\00"'))).toContain('invalid Unicode escape');
    expect(failure(() => pg('public.U&"\\D800"'))).toContain('invalid Unicode code point');
    expect(failure(() => pg('public.U&"x" UESCAPE \'a\''))).toContain('UESCAPE');
  });

  it('allows whitespace around names and dots', () => {
    expect(pg('  "Sales Ops" . "Order Lines"  ')).toEqual(t('Sales Ops', 'Order Lines'));
    expect(pg('public\t.\norders')).toEqual(t('public', 'orders'));
  });

  it('one part is the default schema only where the caller gives one', () => {
    expect(pg('orders', 'public')).toEqual(t('public', 'orders'));
    expect(pg('"Order Lines"', 'public')).toEqual(t('public', 'Order Lines'));
    expect(failure(() => pg('orders'))).toBe('invalid table name "orders": expected schema.table, got one name (write public.orders for the default schema)');
    expect(failure(() => pg('"Order Lines"'))).toContain('(write public."Order Lines" for the default schema)');
  });

  it('refuses what PostgreSQL refuses, saying where', () => {
    expect(failure(() => pg(''))).toContain('expected schema.table');
    expect(failure(() => pg('   '))).toContain('expected schema.table');
    expect(failure(() => pg('a b.c'))).toBe('invalid table name "a b.c": unexpected "b" at position 3; names with spaces or other characters need quotes: "Sales Ops"."Order Lines"');
    expect(failure(() => pg('x.""'))).toContain('"" at position 3 is an empty name');
    expect(failure(() => pg('"abc.d'))).toContain('" at position 1 is never closed');
    expect(failure(() => pg('"a"b.c'))).toContain('unexpected "b" at position 4');
    expect(failure(() => pg('a.'))).toContain('expected a name');
    expect(failure(() => pg('.a'))).toContain('unexpected "." at position 1');
    expect(failure(() => pg('a..b'))).toContain('unexpected "." at position 3');
    expect(failure(() => pg('a.b.c'))).toContain('got more parts');
    expect(failure(() => pg('1a.b'))).toContain('unexpected "1" at position 1');
    expect(failure(() => pg('$a.b'))).toContain('unexpected "$"');
    expect(failure(() => pg('a.b-c'))).toContain('unexpected "-" at position 4');
    expect(failure(() => pg('[a].b'))).toContain('unexpected "["');
    expect(failure(() => pg('"a\u0000b".c'))).toContain('contains NUL');
    expect(failure(() => pg('"\uD800".c'))).toContain('lone surrogate');
  });

  it('refuses names longer than PostgreSQL keeps (63 bytes of UTF-8) instead of truncating them', () => {
    expect(pg(`a."${'x'.repeat(63)}"`).table).toHaveLength(63);
    expect(pg(`a.${'x'.repeat(63)}`).table).toHaveLength(63);
    expect(failure(() => pg(`a.${'x'.repeat(64)}`))).toContain('is 64 bytes long: PostgreSQL keeps at most 63 bytes');
    expect(pg(`a."${'é'.repeat(31)}x"`).table).toHaveLength(32); // 63 bytes
    expect(failure(() => pg(`a."${'é'.repeat(32)}"`))).toContain('is 64 bytes long');
  });
});

describe('SQL Server table names', () => {
  it('[brackets] with ]] inside, "double quotes" with "" inside, case kept', () => {
    expect(ms('dbo.[Order Details]')).toEqual(t('dbo', 'Order Details'));
    expect(ms('[Sales Ops].[Order Lines]')).toEqual(t('Sales Ops', 'Order Lines'));
    expect(ms('[a]]b].[c]]]]]')).toEqual(t('a]b', 'c]]'));
    expect(ms('[a[b].c')).toEqual(t('a[b', 'c'));
    expect(ms('"Sales Ops"."Order ""Lines"""')).toEqual(t('Sales Ops', 'Order "Lines"'));
    expect(ms('[a.b].[c]')).toEqual(t('a.b', 'c'));
    expect(ms('dbo.Orders')).toEqual(t('dbo', 'Orders'));
    expect(ms('DBO.ORDERS')).toEqual(t('DBO', 'ORDERS'));
    expect(ms('dbo.[select]')).toEqual(t('dbo', 'select'));
    expect(ms('dbo.select')).toEqual(t('dbo', 'select'));
    expect(ms('dbo.Straße_2$x#y@z')).toEqual(t('dbo', 'Straße_2$x#y@z'));
    expect(ms('dbo.注文')).toEqual(t('dbo', '注文'));
    expect(ms('[Order Details]', 'dbo')).toEqual(t('dbo', 'Order Details'));
    expect(ms(' dbo . [x] ')).toEqual(t('dbo', 'x'));
  });

  it('refuses what SQL Server refuses', () => {
    expect(failure(() => ms('dbo.Order Details'))).toContain('[Sales Ops].[Order Lines]');
    expect(failure(() => ms('dbo.[]'))).toContain('[] at position 5 is an empty name');
    expect(failure(() => ms('dbo.[x'))).toContain('[ at position 5 is never closed');
    expect(failure(() => ms('dbo.1x'))).toContain('unexpected "1"');
    expect(failure(() => ms('dbo.$x'))).toContain('unexpected "$"');
    expect(failure(() => ms('db.dbo.t'))).toContain('got more parts');
    expect(failure(() => ms('t'))).toContain('write dbo.t for the default schema');
    expect(ms(`dbo.[${'x'.repeat(128)}]`).table).toHaveLength(128);
    expect(failure(() => ms(`dbo.[${'x'.repeat(129)}]`))).toContain('is 129 characters long: SQL Server names hold at most 128');
  });
});

describe('object form and formatting', () => {
  it('checks names given as { schema, table } without parsing them', () => {
    expect(checkTableRef(t('Sales Ops', '"x".y'), 'postgres')).toEqual(t('Sales Ops', '"x".y'));
    expect(failure(() => checkTableRef(t('', 'x'), 'postgres'))).toBe('invalid schema name "": it is empty');
    expect(failure(() => checkTableRef(t('s', 'a\u0000'), 'sqlserver'))).toContain('invalid table name');
  });

  it('quotes only where needed', () => {
    expect(formatTableName(t('public', 'orders'), 'postgres')).toBe('public.orders');
    expect(formatTableName(t('Public', 'orders'), 'postgres')).toBe('"Public".orders');
    expect(formatTableName(t('a', 'say "hi"'), 'postgres')).toBe('a."say ""hi"""');
    expect(formatTableName(t('dbo', 'Orders'), 'sqlserver')).toBe('dbo.Orders');
    expect(formatTableName(t('dbo', 'a]b c'), 'sqlserver')).toBe('dbo.[a]]b c]');
    expect(formatIdentifier('select', 'postgres')).toBe('select');
  });

  it('parse(format(name)) is the name, for random hostile names', () => {
    let seed = 7;
    const rand = (n: number) => {
      // mulberry32: a small seeded generator, so a failure reproduces
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return (((x ^ (x >>> 14)) >>> 0) / 4294967296) * n | 0;
    };
    const alphabet = ['a', 'Z', '_', '$', '#', '@', '0', '.', ' ', '"', '""', ']', '[', "'", '-', 'é', 'Ü', '注', '🦜', '\t', 'U&', '\\'];
    for (const dialect of ['postgres', 'sqlserver'] as IdentifierDialect[]) {
      for (let i = 0; i < 2000; i++) {
        const name = () => Array.from({ length: 1 + rand(12) }, () => alphabet[rand(alphabet.length)]).join('');
        const ref = t(name(), name());
        expect(parseTableName(formatTableName(ref, dialect), dialect), `${dialect} ${JSON.stringify(ref)}`).toEqual(ref);
      }
    }
  });
});
