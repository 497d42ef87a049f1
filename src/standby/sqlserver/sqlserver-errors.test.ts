// The classification on the error classes mssql really raises (constructed here: no SQL Server runs
// where these tests run).
import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { isTransientSqlServer } from './sqlserver-errors.ts';

/** What mssql raises for a server error: a RequestError wrapping tedious's error with its number. */
const serverError = (number: number, message = `error ${number}`) =>
  new sql.RequestError(Object.assign(new Error(message), { info: { number, state: 1, class: 16 } }) as unknown as string, 'EREQUEST');

describe('isTransientSqlServer', () => {
  it.each([1205, 1222, 3960, 233, 10053, 10054, 40197, 40501, 40613])('server error %i is transient', (n) => {
    expect(isTransientSqlServer(serverError(n))).toBe(true);
  });

  it.each([229, 2627, 8152, 2628, 208, 18456])('server error %i is permanent', (n) => {
    expect(isTransientSqlServer(serverError(n))).toBe(false);
  });

  it('a broken or unanswered connection is transient, a refused login is not', () => {
    expect(isTransientSqlServer(new sql.ConnectionError('Failed to connect to 127.0.0.1:1 - Could not connect (sequence)', 'ESOCKET'))).toBe(true);
    expect(isTransientSqlServer(new sql.ConnectionError('Connection is closed.', 'ECONNCLOSED'))).toBe(true);
    expect(isTransientSqlServer(new sql.RequestError('Timeout: Request failed to complete in 15000ms', 'ETIMEOUT'))).toBe(true);
    expect(isTransientSqlServer(new sql.ConnectionError("Login failed for user 'ctr'.", 'ELOGIN'))).toBe(false);
    expect(isTransientSqlServer(new sql.TransactionError(new sql.ConnectionError('socket hang up', 'ESOCKET') as unknown as string, 'EABORT'))).toBe(true);
    // tedious's error for a request on a connection that closed, as mssql wraps it for a ROLLBACK
    const closed = Object.assign(new Error('Connection closed before request completed.'), { code: 'ECLOSE' });
    expect(isTransientSqlServer(new sql.TransactionError(closed as unknown as string))).toBe(true);
    expect(isTransientSqlServer(new Error('a bug'))).toBe(false);
  });
});
