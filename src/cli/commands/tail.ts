import type { Command } from 'commander';
import { loadCommandConfig } from '../context.ts';

interface TailCliOptions {
  table: string[];
  from: 'beginning' | 'end';
  max: number;
  idle: number;
}

export function register(program: Command): void {
  program
    .command('tail')
    .description('print committed change events as JSON lines (one table, several, or all)')
    .option('-t, --table <schema.table>', 'a table to tail (repeatable; default: all of source.tables)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--from <where>', '"beginning" or "end" of each partition', 'end')
    .option('-n, --max <count>', 'exit after this many events (0 = no limit)', (v) => Number(v), 0)
    .option('--idle <ms>', 'exit after this long without new events (0 = follow)', (v) => Number(v), 0)
    .addHelpText('after', `
Each line is the decoded envelope (op, after, key, source, changed_columns, ts_ms) plus topic,
partition and offset; a tombstone after a delete prints as {"tombstone": true, "key": ...}.
Longs print as strings (exact), bytes as {"base64": ...}.

Examples:
  $ ctrelay tail -c ctrelay.yaml --from beginning --idle 2000
  $ ctrelay tail -t public.orders | jq 'select(.op == "d")'`)
    .action(async (options: TailCliOptions, cmd: Command) => {
      const { ConfigError } = await import('../../core/errors.ts');
      if (options.from !== 'beginning' && options.from !== 'end') throw new ConfigError(`--from: expected "beginning" or "end", got "${options.from}"`);
      const config = await loadCommandConfig(cmd);
      const [{ tail }, { createKafkajsPort }, { dataTopic }] = await Promise.all([
        import('../../tail/tail.ts'), import('../../kafka/kafkajs/index.ts'), import('../../core/topics.ts'),
      ]);
      const names = options.table.length > 0 ? options.table : config.source.tables.map((t) => t.name);
      const topics = names.map((n) => {
        const [schema, table] = n.split('.');
        if (!table) throw new ConfigError(`--table: expected schema.table, got "${n}"`);
        return dataTopic(config.kafka.topicPrefix, { schema, table });
      });
      const kafka = createKafkajsPort({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-tail` });
      let stop = false;
      process.once('SIGINT', () => (stop = true));
      process.once('SIGTERM', () => (stop = true));
      try {
        await tail(kafka, config.kafka.topicPrefix, {
          topics, from: options.from, max: options.max, idleMs: options.idle,
          write: (line) => process.stdout.write(line), stopped: () => stop,
        });
      } finally {
        await kafka.close();
      }
    });
}
