import { pino, stdSerializers, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** The structured logger every GhostDNS component uses (pino). */
export type Logger = PinoLogger;

export interface CreateLoggerOptions {
  level: LogLevel;
  /** Component or service name, logged as `name` on every line. */
  name: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to capture output. */
  destination?: DestinationStream;
}

/** Paths redacted from every log line, whatever the caller logs. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(options: CreateLoggerOptions): Logger {
  const settings = {
    name: options.name,
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '****' },
    serializers: { err: stdSerializers.err, error: stdSerializers.err },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
