import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { commandLogger, loadCommandConfig } from '../context.ts';

export function register(program: Command): void {
  program
    .command('lost-changes')
    .description('after a forced promotion: the changes the old primary committed after the promoted version, as JSON lines')
    .option('-o, --out <file>', 'write the lines to a file (default: stdout)')
    .option('--since-version <v>', 'list the changes after this source version (default: the version the promoted standby holds)', (v: string) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`expected a source version (a whole number), got "${v}"`);
      return BigInt(v);
    })
    .addHelpText('after', `
Run it when the old primary answers again (its change tracking must still hold the changes: run it
before its retention cleanup). One line per changed key, in version order:
  {"table":"public.orders","op":"upsert","version":"4711","commitTs":"...","key":{"id":42},"row":{...}}
"op":"delete" has "row":null. The row is the old primary's current row (a key changed twice is listed
once, as it is now), in PostgreSQL's JSON form (numbers keep every digit, bytea as "\\\\x..." text).
Nothing is applied: inspect, then re-apply what belongs on the new primary.

Exit 0 listed (even none); 2 usage (the standby not promoted); 3 source errors.

Example:
  $ ctrelay lost-changes -c ctrelay.yaml -o lost.jsonl`)
    .action(async (options: { out?: string; sinceVersion?: bigint }, cmd: Command) => {
      const config = await loadCommandConfig(cmd);
      commandLogger(cmd, config, 'lost-changes');
      const [{ writeLostChanges }, { createWriteStream }] = await Promise.all([import('../../failover/lost-changes.ts'), import('node:fs')]);
      const file = options.out ? createWriteStream(options.out, { mode: 0o600 }) : null;
      const r = await writeLostChanges(config, (line) => (file ? file.write(line) : process.stdout.write(line)), options.sinceVersion);
      if (file) await new Promise<void>((res, rej) => file.end((err?: Error | null) => (err ? rej(err) : res())));
      process.stderr.write(`lost-changes: ${r.count} change(s) after source version ${r.since}${options.out ? ` written to ${options.out}` : ''}\n`);
    });
}
