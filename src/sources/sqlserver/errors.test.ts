// The SQL Server classification table (errors.ts). No SQL Server runs here: every error below is a
// FAKE, built with mssql's own error classes the way mssql 12 builds them from tedious (a server
// error: `new RequestError(Error + info{number,...}, 'EREQUEST')`, as in lib/tedious/request.js; a
// connection failure: `new ConnectionError(tedious ConnectionError)`, which keeps tedious's code;
// pool states: `new ConnectionError('Connection is closed.', 'ECONNCLOSED')`). The error numbers
// and texts are Microsoft's; whether a real server sends exactly these is for the first real run.
import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { isTransient, SourceError, SourceUnavailableError } from '../../core/errors.ts';
import { classifySqlServerError, POLL_TRANSACTION_GONE, serverErrorNumbers } from './errors.ts';

/** FAKE: a server error as mssql reports it (RequestError with the server's number). */
function serverError(number: number, message: string): sql.RequestError {
  const e = Object.assign(new Error(message), { info: { number, state: 1, class: 16, message, serverName: 'db1', procName: '', lineNumber: 1 } });
  return new sql.RequestError(e as unknown as string, 'EREQUEST');
}

/** FAKE: a tedious error with a code, wrapped by mssql as `kind`. */
function driverError(kind: 'ConnectionError' | 'RequestError', code: string, message: string, extra: Record<string, unknown> = {}): Error {
  const tedious = Object.assign(new Error(message), { name: kind, code, ...extra });
  return kind === 'ConnectionError' ? new sql.ConnectionError(tedious as unknown as string) : new sql.RequestError(tedious as unknown as string, 'EREQUEST');
}

const ctx = { server: 'db1:1433/shop', what: 'reading the changes of dbo.items', table: 'dbo.items', secret: 'S3cret!pw' };

describe('classifySqlServerError: transient (SourceUnavailableError)', () => {
  it.each([
    [1205, 'Transaction (Process ID 53) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.'],
    [1222, 'Lock request time out period exceeded.'],
    [3960, 'Snapshot isolation transaction aborted due to update conflict.'],
    [233, 'A transport-level error has occurred when receiving results from the server.'],
    [10053, 'A transport-level error has occurred when receiving results from the server.'],
    [10054, 'An existing connection was forcibly closed by the remote host.'],
    [10060, 'A network-related or instance-specific error occurred.'],
    [40197, 'The service has encountered an error processing your request. Please try again.'],
    [40501, 'The service is currently busy. Retry the request after 10 seconds.'],
    [40613, "Database 'shop' on server 'db1' is not currently available."],
    [49918, 'Cannot process request. Not enough resources to process request.'],
    [49919, 'Cannot process create or update request.'],
    [49920, 'Cannot process request. Too many operations in progress.'],
    [596, 'Cannot continue the execution because the session is in the kill state.'],
    [POLL_TRANSACTION_GONE, 'ctrelay: the poll transaction is gone (connection reset); the poll must be retried'],
  ])('error %i', (number, message) => {
    const err = classifySqlServerError(serverError(number, message), ctx);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(isTransient(err)).toBe(true);
    expect(err.message).toContain(`(error ${number})`);
    expect(err.message).toMatch(/^SQL Server source db1:1433\/shop: reading the changes of dbo\.items: /);
  });

  it.each([
    ['ConnectionError', 'ESOCKET', 'Failed to connect to db1:1433 - connect ECONNREFUSED 10.0.0.5:1433'],
    ['ConnectionError', 'ESOCKET', 'Connection lost - read ECONNRESET'],
    ['ConnectionError', 'ETIMEOUT', 'Failed to connect to db1:1433 in 15000ms'],
    ['ConnectionError', 'EINSTLOOKUP', 'Failed to get response from SQL Server Browser on db1'],
    ['RequestError', 'ETIMEOUT', 'Timeout: Request failed to complete in 15000ms'],
    ['RequestError', 'ECLOSE', 'Connection closed before request completed.'],
    ['RequestError', 'ECONNRESET', 'read ECONNRESET'],
  ] as const)('%s %s', (kind, code, message) => {
    const err = classifySqlServerError(driverError(kind, code, message), ctx);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toContain(message);
  });

  it('mssql pool states: closed and not yet open', () => {
    expect(isTransient(classifySqlServerError(new sql.ConnectionError('Connection is closed.', 'ECONNCLOSED'), ctx))).toBe(true);
    expect(isTransient(classifySqlServerError(new sql.ConnectionError('Connection not yet open.', 'ENOTOPEN'), ctx))).toBe(true);
  });

  it('a login error tedious marks transient (e.g. Azure SQL database starting)', () => {
    const err = classifySqlServerError(driverError('ConnectionError', 'ELOGIN', "Database 'shop' on server 'db1' is not currently available.", { isTransient: true }), ctx);
    expect(err).toBeInstanceOf(SourceUnavailableError);
  });

  it('a deadlock reported among the preceding errors of a batch', () => {
    const last = serverError(3621, 'The statement has been terminated.');
    (last as unknown as { precedingErrors: unknown[] }).precedingErrors = [serverError(1205, 'chosen as the deadlock victim')];
    expect(serverErrorNumbers(last)).toEqual([3621, 1205]);
    expect(isTransient(classifySqlServerError(last, ctx))).toBe(true);
  });
});

describe('classifySqlServerError: permanent (SourceError, exit 3)', () => {
  it.each([
    [229, "The SELECT permission was denied on the object 'items', database 'shop', schema 'dbo'.", /permission denied on dbo\.items \(error 229\): .*GRANT SELECT, VIEW CHANGE TRACKING ON dbo\.items/],
    [230, "The SELECT permission was denied on the column 'note' of the object 'items'.", /permission denied on dbo\.items \(error 230\)/],
    [297, 'The user does not have permission to perform this action.', /permission denied on dbo\.items \(error 297\)/],
    [300, "VIEW DATABASE STATE permission was denied on object 'shop', database 'shop'.", /permission denied on dbo\.items \(error 300\)/],
    [15247, 'User does not have permission to perform this action.', /permission denied on dbo\.items \(error 15247\)/],
    [916, "The server principal 'agent' is not able to access the database 'shop' under the current security context.", /permission denied on dbo\.items \(error 916\)/],
    [18456, "Login failed for user 'agent'.", /login failed: .*check the user, password and database/],
    [208, "Invalid object name 'dbo.items'.", /table dbo\.items does not exist: .*`ctrelay ct enable dbo\.items`/],
    [22105, "Change tracking is not enabled on table 'dbo.items'.", /change tracking is not enabled on table dbo\.items: .*`ctrelay ct enable dbo\.items`/],
    [102, "Incorrect syntax near ')'.", /failed \(error 102\): Incorrect syntax/],
  ])('error %i', (number, message, expected) => {
    const err = classifySqlServerError(serverError(number, message), ctx);
    expect(err).toBeInstanceOf(SourceError);
    expect(isTransient(err)).toBe(false);
    expect((err as SourceError).exitCode).toBe(3);
    expect(err.message).toMatch(expected);
  });

  it('login failed as tedious reports it (ELOGIN, no number)', () => {
    const err = classifySqlServerError(driverError('ConnectionError', 'ELOGIN', "Login failed for user 'agent'."), { ...ctx, table: undefined, what: 'connecting' });
    expect(err).toBeInstanceOf(SourceError);
    expect(isTransient(err)).toBe(false);
    expect(err.message).toMatch(/^SQL Server source db1:1433\/shop: connecting: login failed: Login failed for user 'agent'\./);
  });

  it('configuration refusals are permanent', () => {
    const err = classifySqlServerError(driverError('ConnectionError', 'EENCRYPT', "Server requires encryption, set 'encrypt' config option to true."), ctx);
    expect(isTransient(err)).toBe(false);
    expect(err.message).toMatch(/check the options of source\.url/);
  });

  it.each(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID'])(
    'an untrusted TLS certificate (%s, inside tedious\'s ESOCKET) is permanent and says how to fix it',
    (code) => {
      // FAKE: tedious reports a failed TLS handshake as a socket error whose cause carries node's code
      const tls = Object.assign(new Error('self-signed certificate'), { code });
      const err = classifySqlServerError(driverError('ConnectionError', 'ESOCKET', 'Failed to connect to db1:1433 - self-signed certificate', { cause: tls }), ctx);
      expect(err).toBeInstanceOf(SourceError);
      expect(isTransient(err)).toBe(false);
      expect(err.message).toMatch(/db1:1433\/shop: .*the server's TLS certificate was not accepted: .*trustServerCertificate=true/);
    },
  );
});

describe('classifySqlServerError: what it leaves alone, and what it never shows', () => {
  it('returns classified errors and JavaScript bugs unchanged', () => {
    for (const e of [new SourceError('x'), new SourceUnavailableError('y'), new TypeError('x is not a function')]) expect(classifySqlServerError(e, ctx)).toBe(e);
  });
  it('scrubs the password', () => {
    const err = classifySqlServerError(driverError('ConnectionError', 'ESOCKET', 'Failed: Server=db1;User Id=agent;Password=S3cret!pw;'), ctx);
    expect(err.message).not.toContain('S3cret!pw');
  });
});
