// Binds ParamValues to an mssql Request with explicit types, so that no value is ever typed by
// guessing (mssql would send a JS number > 2^31 as float and a string as nvarchar(length)).
import sql from 'mssql';
import type { ParamValue } from './values.ts';

export function bindParams(request: sql.Request, params: Record<string, ParamValue>): sql.Request {
  for (const [name, p] of Object.entries(params)) {
    switch (p.sqlType) {
      case 'bit':
        request.input(name, sql.Bit, p.value);
        break;
      case 'int':
        request.input(name, sql.Int, p.value);
        break;
      case 'bigint':
        // tedious 19 writes a JS bigint exactly (validated to the int64 range)
        request.input(name, sql.BigInt, p.value as unknown as number);
        break;
      case 'float':
        request.input(name, sql.Float, p.value);
        break;
      case 'nvarchar':
        request.input(name, sql.NVarChar(sql.MAX), p.value);
        break;
      case 'varbinary':
        request.input(name, sql.VarBinary(sql.MAX), p.value);
        break;
    }
  }
  return request;
}
