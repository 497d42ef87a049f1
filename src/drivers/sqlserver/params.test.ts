import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { execute } from './params.ts';

/** A FAKE mssql Request (no SQL Server runs here): records what mssql would be asked to do. */
function fakeRequest() {
  const calls: { kind: string; text?: string; name?: string; type?: unknown; value?: unknown }[] = [];
  const req = {
    input(name: string, type: unknown, value: unknown) {
      calls.push({ kind: 'input', name, type, value });
      return req;
    },
    async query(text: string) {
      calls.push({ kind: 'query', text });
      return { recordset: [{ a: 1 }] };
    },
    async batch(text: string) {
      calls.push({ kind: 'batch', text });
      return { recordset: [{ b: 2 }] };
    },
  };
  return { req: req as unknown as sql.Request, calls };
}

describe('execute', () => {
  it('runs parameterless statements as batches (session scope for SET / BEGIN TRAN / #temp)', async () => {
    const { req, calls } = fakeRequest();
    expect(await execute(req, { sql: 'BEGIN TRANSACTION;', params: {} })).toEqual([{ b: 2 }]);
    expect(calls).toEqual([{ kind: 'batch', text: 'BEGIN TRANSACTION;' }]);
  });
  it('runs parameterised statements through sp_executesql with explicit types', async () => {
    const { req, calls } = fakeRequest();
    await execute(req, { sql: 'SELECT @v, @s, @b', params: { v: { sqlType: 'bigint', value: 9223372036854775807n }, s: { sqlType: 'nvarchar', value: "it's" }, b: { sqlType: 'varbinary', value: null } } });
    expect(calls.map((c) => c.kind)).toEqual(['input', 'input', 'input', 'query']);
    expect(calls[0]).toMatchObject({ name: 'v', type: sql.BigInt, value: 9223372036854775807n });
    expect(calls[1]).toMatchObject({ name: 's', value: "it's" });
    expect(calls[3].text).toBe('SELECT @v, @s, @b');
  });
});
