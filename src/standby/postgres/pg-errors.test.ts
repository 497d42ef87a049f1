import { describe, expect, it } from 'vitest';
import { isTransientPg } from './pg-errors.ts';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('isTransientPg', () => {
  it.each([
    ['08006', 'connection_failure'],
    ['08001', 'sqlclient_unable_to_establish_sqlconnection'],
    ['57P01', 'admin_shutdown (pg_terminate_backend)'],
    ['57P02', 'crash_shutdown'],
    ['57P03', 'cannot_connect_now'],
    ['53300', 'too_many_connections'],
    ['40P01', 'deadlock_detected'],
    ['40001', 'serialization_failure'],
    ['55P03', 'lock_not_available'],
    // a statement timeout or an operator's pg_cancel_backend: retried with backoff (shared rule with the source)
    ['57014', 'query_canceled'],
    ['ECONNREFUSED', 'nothing listens'],
    ['ECONNRESET', 'reset by peer'],
  ])('%s (%s) is transient', (code) => {
    expect(isTransientPg(pgError(code))).toBe(true);
  });

  it.each([
    ['28P01', 'invalid_password'],
    ['28000', 'invalid_authorization_specification (unknown role)'],
    ['42501', 'insufficient_privilege'],
    ['22001', 'string_data_right_truncation'],
    ['23505', 'unique_violation'],
    ['42P01', 'undefined_table'],
    ['3D000', 'invalid_catalog_name'],
  ])('%s (%s) is permanent', (code) => {
    expect(isTransientPg(pgError(code))).toBe(false);
  });

  it("knows node-postgres's code-less errors of a broken connection, and only those", () => {
    expect(isTransientPg(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientPg(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(isTransientPg(new Error('Connection terminated due to connection timeout'))).toBe(true);
    expect(isTransientPg(new Error('something else'))).toBe(false);
    // a server error whose message happens to look alike keeps its SQLSTATE's class
    expect(isTransientPg(pgError('42501', 'Connection terminated by policy'))).toBe(false);
  });
});
