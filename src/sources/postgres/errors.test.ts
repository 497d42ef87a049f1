// The PostgreSQL classification table (errors.ts). The error objects are built the way
// node-postgres builds them: server errors as pg.DatabaseError with the fields pg-protocol's parser
// sets (severity, code, ...), socket errors as node's net module raises them, and the code-less
// errors pg and pg-pool create. One case is real: a connection to a closed port. The same errors
// from a real server (pg_terminate_backend, REVOKE, a disabled table) are exercised by the
// change-source conformance suite (test/integration/conformance-postgres.test.ts).
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ConfigError, isTransient, SourceError, SourceUnavailableError } from '../../core/errors.ts';
import { classifyPgError, isPgConnectionLost, pgCaller, urlPassword } from './errors.ts';

function serverError(code: string, message: string): pg.DatabaseError {
  const e = new pg.DatabaseError(message, message.length, 'error');
  e.severity = code.startsWith('57P0') || code.startsWith('28') ? 'FATAL' : 'ERROR';
  e.code = code;
  return e;
}

function socketError(code: string, syscall = 'connect'): Error {
  return Object.assign(new Error(`${syscall} ${code} 127.0.0.1:5432`), { errno: -1, code, syscall, address: '127.0.0.1', port: 5432 });
}

const ctx = { server: 'postgres://db1:5432/shop', what: 'reading the changes of public.items', table: 'public.items', secret: 's3cret' };

describe('classifyPgError: transient (SourceUnavailableError)', () => {
  it.each([
    ['08006', 'connection failure'],
    ['08001', 'could not connect'],
    ['08P01', 'protocol violation'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P02', 'terminating connection because of crash of another server process'],
    ['57P03', 'the database system is starting up'],
    ['57P05', 'terminating connection due to idle-session timeout'],
    ['25P03', 'terminating connection due to idle-in-transaction timeout'],
    ['53300', 'sorry, too many clients already'],
    ['40P01', 'deadlock detected'],
    ['40001', 'could not serialize access due to concurrent update'],
    ['55P03', 'canceling statement due to lock timeout'],
    ['57014', 'canceling statement due to statement timeout'],
    ['42703', 'column b.qty does not exist'], // the table was altered during the poll: re-describe and go on
  ])('SQLSTATE %s (%s)', (code, message) => {
    const err = classifyPgError(serverError(code, message), ctx);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(isTransient(err)).toBe(true);
    expect(err.message).toContain(`SQLSTATE ${code}`);
    expect(err.message).toContain(message);
  });

  it.each([
    ['node socket error', socketError('ECONNREFUSED')],
    ['node socket error', socketError('ECONNRESET', 'read')],
    ['node socket error', socketError('ETIMEDOUT')],
    ['node socket error', socketError('EPIPE', 'write')],
    ['node resolver error', socketError('ENOTFOUND', 'getaddrinfo')],
    ['node AggregateError (IPv4 and IPv6 both refused)', Object.assign(new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], ''), { code: 'ECONNREFUSED' })],
    ['pg, server gone mid-query', new Error('Connection terminated unexpectedly')],
    ['pg, a query after the connection broke', new Error('Client has encountered a connection error and is not queryable')],
    ['pg-pool connection timeout', new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') })],
    ['pg-pool waiting for a free client', new Error('timeout exceeded when trying to connect')],
    ['pg query_timeout', new Error('Query read timeout')],
  ])('%s: %s', (_what, raw) => {
    const err = classifyPgError(raw, ctx);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err.message).toMatch(/^PostgreSQL source postgres:\/\/db1:5432\/shop: reading the changes of public\.items: connection lost or refused/);
  });

  it('a real refused connection (a closed port) is transient', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: 1, user: 'x', database: 'x', connectionTimeoutMillis: 5_000 });
    const err = await client.connect().then(() => null, (e: unknown) => e);
    await client.end().catch(() => undefined);
    expect(isTransient(classifyPgError(err, { server: 'postgres://127.0.0.1:1/x', what: 'connecting' }))).toBe(true);
  });
});

describe('classifyPgError: permanent (SourceError, exit 3)', () => {
  it.each([
    ['42501', 'permission denied for table items', /permission denied on public\.items: .*GRANT SELECT ON public\.items/],
    ['42P01', 'relation "ctrelay.ct_1" does not exist', /table public\.items does not exist or is no longer change-tracked: .*`ctrelay ct enable public\.items`/],
    ['28P01', 'password authentication failed for user "agent"', /authentication failed: .*check the user and password/],
    ['28000', 'no pg_hba.conf entry for host', /authentication failed/],
    ['3D000', 'database "shop" does not exist', /the database does not exist/],
    ['42883', 'function ctrelay.current_version() does not exist', /ctrelay change tracking is missing: .*ct enable/],
    ['22P02', 'invalid input syntax for type integer', /failed \(SQLSTATE 22P02\): invalid input syntax/],
  ])('SQLSTATE %s (%s)', (code, message, expected) => {
    const err = classifyPgError(serverError(code, message), ctx);
    expect(err).toBeInstanceOf(SourceError);
    expect(isTransient(err)).toBe(false);
    expect((err as SourceError).exitCode).toBe(3);
    expect(err.message).toMatch(expected);
    expect((err as SourceError).cause).toBeInstanceOf(pg.DatabaseError);
  });

  it('an unknown driver error is permanent, not a bug', () => {
    const err = classifyPgError(new Error('The server does not support SSL connections'), ctx);
    expect(err).toBeInstanceOf(SourceError);
    expect(isTransient(err)).toBe(false);
  });

  it('without a table, a missing relation or a refused permission says so generically', () => {
    const noTable = { server: ctx.server, what: 'ct enable' };
    expect(classifyPgError(serverError('42P01', 'relation "x" does not exist'), noTable).message).toMatch(/ct enable: a relation does not exist/);
    expect(classifyPgError(serverError('42501', 'permission denied for database shop'), noTable).message).toMatch(/permission denied: permission denied for database shop/);
  });
});

describe('classifyPgError: what it leaves alone, and what it never shows', () => {
  it('returns classified errors and JavaScript bugs unchanged', () => {
    for (const e of [new SourceError('x'), new SourceUnavailableError('y'), new ConfigError('z'), new TypeError('Do not know how to serialize a BigInt')]) {
      expect(classifyPgError(e, ctx)).toBe(e);
    }
  });

  it('scrubs the password from driver messages that echo it', () => {
    const err = classifyPgError(new Error('could not connect to postgres://agent:s3cret@db1/shop, password=s3cret'), ctx);
    expect(err.message).not.toContain('s3cret');
    expect(err.message).toContain('db1');
  });

  it('tells a lost connection from a server answer', () => {
    expect(isPgConnectionLost(serverError('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(isPgConnectionLost(serverError('08006', 'connection failure'))).toBe(true);
    expect(isPgConnectionLost(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isPgConnectionLost(socketError('ECONNRESET', 'read'))).toBe(true);
    expect(isPgConnectionLost(serverError('40P01', 'deadlock detected'))).toBe(false);
    expect(isPgConnectionLost(serverError('42501', 'permission denied for table items'))).toBe(false);
  });
});

describe('pgCaller', () => {
  it('names the redacted server and classifies the failure', async () => {
    const call = pgCaller('postgres://agent:p%40ss@db1:5432/shop?sslmode=require');
    const err = await call('reading the catalog signature', () => Promise.reject(serverError('57P01', 'terminating connection'))).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect(err!.message).toMatch(/^PostgreSQL source postgres:\/\/db1:5432\/shop: reading the catalog signature: /);
    expect(err!.message).not.toContain('agent');
    expect(await call('x', async () => 42)).toBe(42);
  });

  it('knows the password to scrub, also when URL-encoded', () => {
    expect(urlPassword('postgres://agent:p%40ss@db1/shop')).toBe('p@ss');
    expect(urlPassword('postgres://agent@db1/shop')).toBeUndefined();
    expect(urlPassword('not a url')).toBeUndefined();
  });
});
