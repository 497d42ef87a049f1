import { CommanderError, type Command } from 'commander';
import { CtrelayError } from '../core/errors.ts';
import { redact } from '../core/redact.ts';
import { createProgram } from './program.ts';
import { registerCommands } from './registry.ts';

/** sysexits.h EX_SOFTWARE: an error that is not a CtrelayError is a bug in ctrelay. */
export const EXIT_BUG = 70;
export const EXIT_USAGE = 2;

/** Prints `err` the way the CLI reports it and returns the process exit code. */
export function reportError(err: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message (or the help / version text).
    return err.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (err instanceof CtrelayError) {
    let text = `error: ${err.message}`;
    const cause = err.cause;
    if (cause instanceof Error && !err.message.includes(cause.message)) text += `\n  caused by: ${cause.message}`;
    write(`${redact(text)}\n`);
    return err.exitCode;
  }
  const detail = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  write(`${redact(`ctrelay: internal error (this is a bug, please report it):\n${detail}`)}\n`);
  return EXIT_BUG;
}

/** Whether `flag` is an option of `cmd` or an ancestor that takes a value as the next word. */
function takesValue(cmd: Command | null, flag: string): boolean {
  for (let c = cmd; c; c = c.parent) {
    const o = c.options.find((opt) => opt.long === flag || opt.short === flag);
    if (o) return o.required || o.optional;
  }
  return false;
}

/**
 * The first word of `args` that names no command where a command is expected (`ctrelay nosuch`,
 * `ctrelay ct nosuch`), or null. Commander would answer `ctrelay nosuch --help` with the root help
 * and exit 0; an unknown command is a usage error whatever the flags.
 */
export function unknownCommand(program: Command, args: string[]): { name: string; parent: Command } | null {
  let cmd = program;
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    if (word === '--') return null;
    if (word.startsWith('-')) {
      if (!word.includes('=') && takesValue(cmd, word)) i++;
      continue;
    }
    // a command with no subcommands takes positional arguments from here on
    if (cmd.commands.length === 0) return null;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) return word === 'help' ? null : { name: [...commandPath(cmd), word].join(' '), parent: cmd };
    cmd = sub;
  }
  return null;
}

function commandPath(cmd: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}

function installCrashHandlers(): void {
  const crash = (err: unknown) => {
    process.exit(reportError(err));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

/** Runs the CLI with `argv` (process.argv form) and resolves to the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  installCrashHandlers();
  try {
    const program = createProgram();
    await registerCommands(program);
    const unknown = unknownCommand(program, argv.slice(2));
    if (unknown !== null) {
      const known = unknown.parent.commands.map((c) => c.name()).sort().join(', ');
      process.stderr.write(redact(`error: unknown command '${unknown.name}' (commands: ${known}; add --help for usage)\n`));
      return EXIT_USAGE;
    }
    await program.parseAsync(argv);
    // a command that finished with a verdict (verify's differences, status's unreadable parts)
    // sets process.exitCode; bin/ctrelay.js exits with what this returns
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}
