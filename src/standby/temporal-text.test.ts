import { describe, expect, it } from 'vitest';
import { fixFraction, temporalTextWidth } from './temporal-text.ts';

describe('fixFraction', () => {
  it('pads the fraction to the precision the column declares', () => {
    expect(fixFraction('10:00:00.1', 3)).toBe('10:00:00.100');
    expect(fixFraction('10:00:00', 3)).toBe('10:00:00.000');
    expect(fixFraction('2024-01-02T03:04:05.123456', 6)).toBe('2024-01-02T03:04:05.123456');
    expect(fixFraction('2024-01-02T03:04:05', 0)).toBe('2024-01-02T03:04:05');
  });
  it('never rounds or invents: more digits than the precision, or odd forms, pass unchanged', () => {
    expect(fixFraction('10:00:00.1234', 3)).toBe('10:00:00.1234');
    expect(fixFraction('infinity', 3)).toBe('infinity');
  });
});

describe('temporalTextWidth', () => {
  it('is the exact length of the canonical string of every temporal kind kept as text', () => {
    const cases: [Parameters<typeof temporalTextWidth>[0], string][] = [
      [{ kind: 'time', precision: 7 }, '23:59:59.9999999'],
      [{ kind: 'timestamp', precision: 7 }, '9999-12-31T23:59:59.9999999'],
      [{ kind: 'timestamptz', precision: 7 }, '9999-12-31T23:59:59.9999999Z'],
      [{ kind: 'datetimeoffset', precision: 7 }, '0001-01-01T00:00:00.0000000-14:00'],
      [{ kind: 'datetimeoffset', precision: 0 }, '2024-03-10T08:15:30+05:45'],
    ];
    for (const [type, canonical] of cases) expect(temporalTextWidth(type)).toBe(canonical.length);
  });
  it('leaves to the native types what they hold: up to the native precision, without offset', () => {
    expect(temporalTextWidth({ kind: 'timestamp', precision: 6 })).toBeNull();
    expect(temporalTextWidth({ kind: 'timestamptz', precision: 0 })).toBeNull();
    expect(temporalTextWidth({ kind: 'date' })).toBeNull();
    expect(temporalTextWidth({ kind: 'time', precision: 7 }, 7)).toBeNull();
  });
});
