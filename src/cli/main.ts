import { CommanderError } from 'commander';
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
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return reportError(err);
  }
}
