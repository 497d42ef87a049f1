import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { destination, lines, text: () => lines.join('\n') };
}

const SECRET = 'Sup3rS3cret';

describe('createLogger', () => {
  it('writes JSON with level label, name and component', () => {
    const out = capture();
    const logger = createLogger({ level: 'debug', name: 'ctrelay', destination: out.destination });
    logger.child({ component: 'capture' }).debug({ batch: 7 }, 'published');
    const line = JSON.parse(out.lines[0]);
    expect(line).toMatchObject({ level: 'debug', name: 'ctrelay', component: 'capture', batch: 7, msg: 'published' });
  });

  it('respects the level', () => {
    const out = capture();
    createLogger({ level: 'warn', destination: out.destination }).info('hidden');
    expect(out.lines).toEqual([]);
  });

  it('keeps secrets out of objects, messages, errors, stacks and bindings', () => {
    const out = capture();
    const logger = createLogger({ level: 'trace', destination: out.destination });
    const url = `postgres://ctrelay:${SECRET}@db:5432/app`;
    logger.info({ password: SECRET }, 'top-level key');
    logger.info({ source: { db: { conn: { pwd: SECRET, apiKey: SECRET } } } }, 'deep keys');
    logger.info({ config: { source: { url } } }, 'url value');
    logger.warn(`connecting to ${url}`);
    logger.warn('printf %s', `Server=sql1;Password=${SECRET};`);
    const err = new Error(`login failed: ${url}`, { cause: new Error(`PWD=${SECRET};`) });
    logger.error({ err }, 'with err');
    logger.error(err);
    logger.error({ failure: { inner: err } }, 'error nested elsewhere');
    logger.child({ standby: `mysql://root:${SECRET}@h/db`, token: SECRET }).info('child bindings');
    const text = out.text();
    expect(out.lines).toHaveLength(9);
    expect(text).not.toContain(SECRET);
    for (const line of out.lines) JSON.parse(line);
    // what is not secret stays readable
    expect(text).toContain('postgres://ctrelay:***@db:5432/app');
    const errLine = JSON.parse(out.lines[5]);
    expect(errLine.err.message).toBe('login failed: postgres://ctrelay:***@db:5432/app');
    expect(errLine.err.stack).toContain('logger.test.ts');
  });
});
