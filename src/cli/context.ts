// What a command needs from the CLI surface: the global options, the loaded config and a logger.

import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '../config/schema.ts';
import type { TableRef } from '../core/model.ts';
import { createLogger, type Logger, type LogLevel } from '../log/logger.ts';

export interface GlobalOptions {
  /** config file path: -c/--config, else CTRELAY_CONFIG, else ctrelay.yaml */
  config: string;
  /** --log-level when given; it overrides log.level of the config */
  logLevel?: LogLevel;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Loads and validates the config named by the global options; applies --log-level. */
export async function loadCommandConfig(cmd: Command): Promise<Config> {
  const options = globalOptions(cmd);
  // Loaded on use: zod and the schema cost ~150 ms, which `--help` should not pay.
  const { loadConfig } = await import('../config/load.ts');
  const config = await loadConfig(options.config);
  if (options.logLevel) config.log.level = options.logLevel;
  return config;
}

/** The process logger (JSON on stderr, redacted), optionally as a component child logger. */
export function commandLogger(cmd: Command, config?: Config, component?: string): Logger {
  const level = globalOptions(cmd).logLevel ?? config?.log.level ?? 'info';
  const logger = createLogger({ level, name: 'ctrelay' });
  return component ? logger.child({ component }) : logger;
}

/** The subcommand group `name` (e.g. `ct`), created on first use so several files can add to it. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** `--table` values in the source's quoting -> tables; a bad name is a ConfigError naming the option. */
export async function parseTableOptions(names: string[], kind: Config['source']['kind']): Promise<TableRef[]> {
  const [{ ConfigError }, { parseTableName, IdentifierError, DEFAULT_SCHEMA }] = await Promise.all([import('../core/errors.ts'), import('../core/identifiers.ts')]);
  return names.map((n) => {
    try {
      return parseTableName(n, kind, DEFAULT_SCHEMA[kind]);
    } catch (err) {
      if (err instanceof IdentifierError) throw new ConfigError(`--table: ${err.message}`);
      throw err;
    }
  });
}

/** Commander parser of a whole-number option (`--wait <ms>`): anything else is a usage error. */
export function wholeNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number, got "${v}"`);
  return n;
}

/** A duration option: `1s`, `500ms`, `2m`, or plain milliseconds; returns milliseconds. */
export function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`expected a duration such as 1s, 500ms or 2m, got "${v}"`);
  const n = Number(m[1]);
  return Math.round(m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n);
}
