import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { MASK, isSecretKey, redact, redactValue, serializeError } from '../core/redact.ts';

export type Logger = PinoLogger;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel | 'silent';
  /** process-wide name, e.g. "ctrelay"; components use `logger.child({ component: 'capture' })` */
  name?: string;
  /** where JSON lines go; default stderr (see below). Tests pass a stream to capture output. */
  destination?: DestinationStream;
}

// pino's own redaction (fast-redact) covers fixed depths only; it is kept for the common
// shapes and `formatters` below cover any depth. URLs and connection strings are deliberately not
// censored whole: their credentials are masked in place, so the host stays in the log.
const REDACT_KEYS = ['password', 'pwd', 'secret', 'token', 'apiKey', 'authorization'];
const REDACT_PATHS = REDACT_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

function redactObject(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (isSecretKey(k) && v !== null && v !== undefined && v !== '') out[k] = MASK;
    else out[k] = redactValue(v);
  }
  return out;
}

/**
 * A pino JSON logger whose output never carries credentials: secret-keyed values at any depth,
 * credentials inside strings (messages, error messages and stacks, nested values) and, as a last
 * net, the finished line itself are redacted.
 *
 * Logs go to stderr by default so that commands whose output is data (`tail`, `config check`)
 * can be piped while their logs stay separate.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: MASK },
      serializers: {
        err: (err: unknown) => (err instanceof Error ? serializeError(err) : redactValue(err)),
      },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactObject(bindings),
        log: (obj) => redactObject(obj),
      },
      hooks: {
        // Message strings and printf-style arguments bypass `formatters.log`.
        logMethod(args, method) {
          const redacted = args.map((a) => (typeof a === 'string' ? redact(a) : a));
          return method.apply(this, redacted as Parameters<typeof method>);
        },
        streamWrite: (line) => redact(line),
      },
    },
    destination,
  );
}
