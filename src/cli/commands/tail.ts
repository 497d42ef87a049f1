import type { Command } from 'commander';
import { loadCommandConfig, parseTableOptions } from '../context.ts';

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
    .option('-t, --table <schema.table>', 'a table to tail, in the source\'s quoting like source.tables (repeatable; default: all of source.tables)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--from <where>', '"beginning" or "end" of each partition', 'end')
    .option('-n, --max <count>', 'exit after this many events (0 = no limit)', (v) => Number(v), 0)
    .option('--idle <ms>', 'exit after this long without new events (0 = follow)', (v) => Number(v), 0)
    .addHelpText('after', `
Each line is the decoded envelope (op, after, key, source, changed_columns, ts_ms) plus topic,
partition and offset; a tombstone after a delete prints as {"tombstone": true, "key": ...}.

Values in JSON (canonical values, the same whatever the source):
  SQL NULL                      null
  boolean, int16, int32         true/false, a JSON number
  int64 (bigint)                a string of its digits: "9223372036854775807" (exact)
  float32, float64              a JSON number; NaN, infinities and negative zero, which JSON has
                                no number for, as the strings "NaN", "Infinity", "-Infinity", "-0"
  decimal                       a string with exactly the column's scale: "-12.3400"
  string, json, xml, uuid       a string (json as its text)
  bytes                         {"base64": "..."}
  date, time, timestamp         strings: "2024-02-29", "24:00:00.000000", "2024-02-29T23:59:59.123"
  timestamptz / datetimeoffset  "...Z" (UTC) / "...+05:45" (the offset as written)

Examples:
  $ ctrelay tail -c ctrelay.yaml --from beginning --idle 2000
  $ ctrelay tail -t public.orders | jq 'select(.op == "d")'
  $ ctrelay tail -t '"Sales Ops"."Order Lines"' --from beginning -n 10`)
    .action(async (options: TailCliOptions, cmd: Command) => {
      const { ConfigError } = await import('../../core/errors.ts');
      if (options.from !== 'beginning' && options.from !== 'end') throw new ConfigError(`--from: expected "beginning" or "end", got "${options.from}"`);
      const config = await loadCommandConfig(cmd);
      const [{ tail }, { createKafkajsPort }, { dataTopic }] = await Promise.all([
        import('../../tail/tail.ts'), import('../../kafka/kafkajs/index.ts'), import('../../core/topics.ts'),
      ]);
      const tables = options.table.length > 0 ? await parseTableOptions(options.table, config.source.kind) : config.source.tables;
      const topics = tables.map((t) => dataTopic(config.kafka.topicPrefix, t));
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
