import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.ts';
import { parseSqlServerUrl } from './url.ts';

describe('parseSqlServerUrl', () => {
  it('parses the documented form', () => {
    const { config, label } = parseSqlServerUrl('mssql://agent:p%40ss%3Aw0rd@db1.example:14330/shop?encrypt=false&trustServerCertificate=true');
    expect(config).toEqual({
      server: 'db1.example',
      port: 14330,
      database: 'shop',
      user: 'agent',
      password: 'p@ss:w0rd',
      options: { encrypt: false, trustServerCertificate: true, useUTC: true, appName: 'ctrelay' },
    });
    expect(label).toBe('db1.example:14330/shop');
  });
  it('defaults port 1433 and encryption on', () => {
    const { config } = parseSqlServerUrl('mssql://u:p@h/d');
    expect(config.port).toBe(1433);
    expect(config.options?.encrypt).toBe(true);
    expect(config.options?.trustServerCertificate).toBe(false);
  });
  it('timeouts and instance', () => {
    const { config } = parseSqlServerUrl('mssql://u:p@h/d?requestTimeoutMs=60000&connectTimeoutMs=5000&instanceName=SQL1');
    expect(config.requestTimeout).toBe(60000);
    expect(config.connectionTimeout).toBe(5000);
    expect(config.options?.instanceName).toBe('SQL1');
  });
  it('errors never show the password', () => {
    for (const bad of ['mssql://u:s3cret@h/', 'postgres://u:s3cret@h/d', 'mssql://u:s3cret@h/d?encrypt=maybe', 'mssql://u:s3cret@h/d?nope=1']) {
      try {
        parseSqlServerUrl(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).not.toContain('s3cret');
      }
    }
  });
});
