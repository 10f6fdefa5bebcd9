import type { LoggerService } from '@nestjs/common';
import type { Logger } from './logger.js';

function text(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return message.message;
  try {
    return JSON.stringify(message);
  } catch {
    return String(message);
  }
}

function contextOf(params: unknown[]): string | undefined {
  const last = params.at(-1);
  return typeof last === 'string' ? last : undefined;
}

/**
 * Routes Nest's own log lines into pino. Nest's chatty `log` level (route
 * mapping, module init) goes to debug; warnings and errors keep their level.
 */
export function createNestLogger(logger: Logger): LoggerService {
  const child = logger.child({ component: 'nest' });
  return {
    log: (message: unknown, ...params: unknown[]) => child.debug({ context: contextOf(params) }, text(message)),
    warn: (message: unknown, ...params: unknown[]) => child.warn({ context: contextOf(params) }, text(message)),
    error: (message: unknown, ...params: unknown[]) => {
      const stack = params.length > 1 && typeof params[0] === 'string' ? params[0] : undefined;
      child.error({ context: contextOf(params), stack }, text(message));
    },
    debug: (message: unknown, ...params: unknown[]) => child.debug({ context: contextOf(params) }, text(message)),
    verbose: (message: unknown, ...params: unknown[]) => child.trace({ context: contextOf(params) }, text(message)),
    fatal: (message: unknown, ...params: unknown[]) => child.fatal({ context: contextOf(params) }, text(message)),
  };
}
