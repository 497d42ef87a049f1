// Subcommand registry: every file in src/cli/commands/ is a command (or adds to a command group).
//
// To add a subcommand, add ONE file, src/cli/commands/<name>.ts, and nothing else:
//
//   import type { Command } from 'commander';
//   import { commandGroup, loadCommandConfig, commandLogger } from '../context.ts';
//
//   export function register(program: Command): void {
//     program
//       .command('capture')                        // or commandGroup(program, 'ct', '...').command('enable')
//       .description('run the capture agent')
//       .option('--once', 'run one poll and exit')
//       .action(async (options, cmd: Command) => {
//         const { runCapture } = await import('../../capture/run.ts'); // heavy imports inside the action
//         const config = await loadCommandConfig(cmd);               // -c / CTRELAY_CONFIG, --log-level
//         await runCapture(config, commandLogger(cmd, config, 'capture'), options);
//       });
//   }
//
// Rules:
// - Keep top-level imports of a command file light (commander types, ../context.ts): every file is
//   loaded on every invocation, so a top-level import of a database driver or kafkajs slows
//   `ctrelay --help` for everyone. Import the implementation inside the action.
// - Throw a CtrelayError subclass (src/core/errors.ts) for anything the user can fix; main.ts
//   prints `error: <message>` and exits with its exitCode. Anything else is reported as a bug.
// - Files starting with `_` and `*.test.ts` files are not commands (helpers, tests).
// - Several files may add to one group (`ct enable`, `ct disable`) through commandGroup().

import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

const COMMANDS_DIR = fileURLToPath(new URL('./commands/', import.meta.url));

export function isCommandFile(file: string): boolean {
  return file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts') && !file.startsWith('_');
}

export async function registerCommands(program: Command, dir: string = COMMANDS_DIR): Promise<void> {
  const files = (await readdir(dir)).filter(isCommandFile).sort();
  const modules = await Promise.all(
    files.map(async (file) => ({ file, module: (await import(pathToFileURL(`${dir}/${file}`).href)) as Record<string, unknown> })),
  );
  for (const { file, module } of modules) {
    const register = module.register;
    if (typeof register !== 'function') {
      throw new Error(`src/cli/commands/${file} must export \`register(program: Command): void\``);
    }
    (register as RegisterCommand)(program);
  }
}
