import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { ConfigError, SourceError } from '../core/errors.ts';
import { commandGroup } from './context.ts';
import { EXIT_BUG, reportError, unknownCommand } from './main.ts';
import { isCommandFile } from './registry.ts';

function report(err: unknown) {
  let text = '';
  const code = reportError(err, (t) => (text += t));
  return { code, text };
}

describe('reportError', () => {
  it('prints a CtrelayError as one redacted line and uses its exit code', () => {
    expect(report(new ConfigError('config x.yaml: source.url: expected ...'))).toEqual({
      code: 2,
      text: 'error: config x.yaml: source.url: expected ...\n',
    });
    const err = new SourceError('cannot connect to source', { cause: new Error('password authentication failed: password=pw') });
    expect(report(err)).toEqual({
      code: 3,
      text: 'error: cannot connect to source\n  caused by: password authentication failed: password=***\n',
    });
  });

  it('prints anything else as a bug with its stack, redacted', () => {
    const { code, text } = report(new TypeError('bad url mssql://sa:pw@h/db'));
    expect(code).toBe(EXIT_BUG);
    expect(text).toContain('internal error');
    expect(text).toContain('TypeError: bad url mssql://sa:***@h/db');
    expect(text).toMatch(/\n {4}at /);
    expect(text).not.toContain(':pw@');
  });
});

describe('command registry', () => {
  it('treats only command files as commands', () => {
    expect(isCommandFile('config.ts')).toBe(true);
    expect(isCommandFile('config.test.ts')).toBe(false);
    expect(isCommandFile('_shared.ts')).toBe(false);
  });

  it('shares a command group between files', () => {
    const program = new Command('ctrelay');
    commandGroup(program, 'ct', 'change tracking').command('enable');
    commandGroup(program, 'ct', 'change tracking').command('disable');
    expect(program.commands.map((c) => c.name())).toEqual(['ct']);
    expect(program.commands[0].commands.map((c) => c.name())).toEqual(['enable', 'disable']);
  });
});

describe('unknown commands', () => {
  const program = new Command('ctrelay').option('-c, --config <file>').option('--log-level <level>');
  program.command('capture').option('--once');
  const ct = program.command('ct');
  ct.command('enable').argument('[tables...]');

  it('are found whatever the flags, also below a command group', () => {
    expect(unknownCommand(program, ['nosuchcommand', '--help'])?.name).toBe('nosuchcommand');
    expect(unknownCommand(program, ['--help', 'nosuchcommand'])?.name).toBe('nosuchcommand');
    expect(unknownCommand(program, ['-c', 'x.yaml', 'nosuch'])?.name).toBe('nosuch');
    const nested = unknownCommand(program, ['ct', 'nosuch', '--help']);
    expect(nested?.name).toBe('ct nosuch');
    expect(nested?.parent).toBe(ct);
  });

  it('leave known commands, option values and positional arguments alone', () => {
    expect(unknownCommand(program, ['capture', '--help'])).toBeNull();
    expect(unknownCommand(program, ['-c', 'capture.yaml', 'capture'])).toBeNull();
    expect(unknownCommand(program, ['--config=x.yaml', 'capture', '--once'])).toBeNull();
    expect(unknownCommand(program, ['ct', 'enable', 'dbo.t1', 'weird-table'])).toBeNull();
    expect(unknownCommand(program, ['--help'])).toBeNull();
    expect(unknownCommand(program, ['help', 'capture'])).toBeNull();
  });
});
