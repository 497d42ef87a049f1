// Binds ParamValues to an mssql Request with explicit types, so that no value is ever typed by
// guessing (mssql would send a JS number > 2^31 as float and a string as nvarchar(length)).
import type sql from 'mssql';
import { mssql } from './mssql.ts';
import type { ParamValue } from './values.ts';

/** A T-SQL statement and its @parameters: values only ever travel as parameters. */
export interface Statement {
  sql: string;
  params: Record<string, ParamValue>;
}

export function bindParams(request: sql.Request, params: Record<string, ParamValue>): sql.Request {
  for (const [name, p] of Object.entries(params)) {
    switch (p.sqlType) {
      case 'bit':
        request.input(name, mssql().Bit, p.value);
        break;
      case 'int':
        request.input(name, mssql().Int, p.value);
        break;
      case 'bigint':
        // tedious 19 writes a JS bigint exactly (validated to the int64 range)
        request.input(name, mssql().BigInt, p.value as unknown as number);
        break;
      case 'float':
        request.input(name, mssql().Float, p.value);
        break;
      case 'nvarchar':
        request.input(name, mssql().NVarChar(mssql().MAX), p.value);
        break;
      case 'varbinary':
        request.input(name, mssql().VarBinary(mssql().MAX), p.value);
        break;
    }
  }
  return request;
}

/**
 * Runs a statement. mssql's query() always goes through sp_executesql, whose scope ends with the
 * call: a SET TRANSACTION ISOLATION LEVEL made there is undone on return, a BEGIN TRANSACTION left
 * open there fails (error 266), and a #temp table created there is dropped. Statements without
 * parameters therefore run as plain batches (session scope). Statements with parameters run through
 * sp_executesql, never as batches: mssql would inline their values into the batch text.
 */
export async function execute(request: sql.Request, st: Statement): Promise<Record<string, unknown>[]> {
  const hasParams = Object.keys(st.params).length > 0;
  const result = hasParams ? await bindParams(request, st.params).query(st.sql) : await request.batch(st.sql);
  return (result.recordset ?? []) as Record<string, unknown>[];
}
