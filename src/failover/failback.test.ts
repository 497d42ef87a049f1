import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { nextPrefix, reversedConfig } from './failback.ts';

const RAW = {
  source: { id: 'erp', url: '${SRC_URL}', tables: ['sales.orders'], pollIntervalMs: 100 },
  kafka: { brokers: ['k:9092'], topicPrefix: 'erp' },
  standby: { id: 'dr', url: 'postgres://ctrelay:${DR_PASSWORD}@dr/erp', mergeBatches: 20, protect: true },
  mode: 'sync',
};

describe('failback', () => {
  it('numbers the reversed pipelines\' topic prefixes', () => {
    expect(nextPrefix('erp')).toBe('erp-r1');
    expect(nextPrefix('erp-r1')).toBe('erp-r2');
    expect(nextPrefix('erp-r9')).toBe('erp-r10');
  });

  it('swaps source and standby with their raw URLs: ${ENV} references stay references', () => {
    const config = parseConfig(JSON.stringify(RAW), { name: 't', env: { SRC_URL: 'postgres://u:secret@primary/erp', DR_PASSWORD: 'hunter2' } });
    const out = reversedConfig(RAW, config, [{ schema: 'sales', table: 'orders' }], 'erp-r1', undefined);
    expect(out).toEqual({
      source: { id: 'dr', url: 'postgres://ctrelay:${DR_PASSWORD}@dr/erp', tables: ['sales.orders'], pollIntervalMs: 100 },
      kafka: { brokers: ['k:9092'], topicPrefix: 'erp-r1' },
      standby: { id: 'erp', kind: 'postgres', url: '${SRC_URL}', mergeBatches: 20, protect: true },
      mode: 'sync',
    });
    expect(JSON.stringify(out)).not.toMatch(/secret|hunter2/);
    // and it is a valid configuration
    expect(() => parseConfig(JSON.stringify(out), { name: 'r', env: { SRC_URL: 'postgres://u@primary/erp', DR_PASSWORD: 'x' } })).not.toThrow();
  });
});
