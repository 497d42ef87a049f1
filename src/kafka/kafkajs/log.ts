// Routes kafkajs's own logging to an optional pino-like logger instead of the console. kafkajs logs
// every connection retry at ERROR and group life-cycle at INFO; ctrelay surfaces the failures that
// matter as KafkaError, so those are demoted one level here.
import { logLevel, type logCreator } from 'kafkajs';

export interface PinoLike {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

// Advice that does not apply to ctrelay: transactions bound the damage of limited retries (a failed
// send aborts the whole batch), and partitions are always chosen explicitly by the adapter.
const IGNORED = [/Limiting retries for the idempotent producer/, /KafkaJS v2\.0\.0 switched default partitioner/];

export function kafkajsLogCreator(logger: PinoLike | undefined): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      if (!logger) return;
      const { message, timestamp: _ts, logger: _l, ...extra } = log as { message: string; [k: string]: unknown };
      if (IGNORED.some((re) => re.test(message))) return;
      const obj = { kafkajs: namespace, ...extra };
      const msg = `kafkajs: ${message}`;
      if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(obj, msg);
      else logger.debug(obj, msg);
    };
}
