import type { Command } from 'commander';
import { commandLogger } from '../context.ts';

interface DemoCliOptions {
  standby: string;
  seconds: number;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline locally: PostgreSQL source -> local Kafka -> standby, then compare row for row')
    .option('--standby <kind>', 'standby engine: "postgres" or "mariadb"', 'postgres')
    .option('--seconds <n>', 'how long the workload runs', (v) => Number(v), 10)
    .addHelpText('after', `
Needs the local servers: PostgreSQL on 127.0.0.1:5432 (trust auth; env PG_URL overrides) and, for
--standby mariadb, MariaDB on 127.0.0.1:3306 (root, no password; env MYSQL_URL overrides). Starts
the local Kafka broker (deploy/local/kafka.sh) unless KAFKA_BROKERS is set. Recreates the databases
ctrelay_demo_source and ctrelay_demo_standby. Ends with "consistent: yes" (exit 0) or
"consistent: NO" (exit 1).`)
    .action(async (options: DemoCliOptions, cmd: Command) => {
      const { ConfigError } = await import('../../core/errors.ts');
      if (options.standby !== 'postgres' && options.standby !== 'mariadb') throw new ConfigError(`--standby: expected "postgres" or "mariadb", got "${options.standby}"`);
      if (!Number.isFinite(options.seconds) || options.seconds <= 0) throw new ConfigError('--seconds: expected a positive number');
      const { runDemo } = await import('../../demo/demo.ts');
      const log = commandLogger(cmd).child({}, { level: cmd.optsWithGlobals().logLevel ?? 'warn' });
      const ok = await runDemo(
        {
          standby: options.standby,
          seconds: options.seconds,
          pgUrl: process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
          mysqlUrl: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/',
          brokers: process.env.KAFKA_BROKERS ? process.env.KAFKA_BROKERS.split(',') : undefined,
          out: (line) => process.stdout.write(`${line}\n`),
        },
        log,
      );
      if (!ok) process.exitCode = 1;
    });
}
