// Config tests' way in: parse a file's text, or get the ConfigError (exit code 2) it is refused with.
import { expect } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { parseConfig } from './load.ts';

export function parse(text: string, env: Record<string, string> = {}) {
  return parseConfig(text, { name: 'ctrelay.yaml', env });
}

/** The message of the ConfigError `text` is refused with (failing the test when it parses). */
export function errorOf(text: string, env: Record<string, string> = {}): string {
  try {
    parse(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}
