import { Catch, HttpException, HttpStatus, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RUNTIME, type ServiceRuntime } from './types.js';

export interface ErrorBody {
  error: { code: string; message: string };
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
}

const GHOSTDNS_CODE = /^GHOSTDNS_[A-Z0-9_]+$/;
const INTERNAL: ErrorResponse = { status: 500, body: { error: { code: 'GHOSTDNS_INTERNAL', message: 'internal error' } } };

function statusCodeName(status: number): string {
  const name = (HttpStatus as unknown as Record<number, string | undefined>)[status];
  return `GHOSTDNS_HTTP_${name ?? String(status)}`;
}

/** Keeps the first lines of a message and drops anything that looks like a stack frame. */
function safeMessage(message: string): string {
  const lines = message.split('\n').filter((line) => !/^\s+at\s/.test(line));
  const text = lines.join('\n').trim();
  return text.length > 2000 ? `${text.slice(0, 1997)}...` : text;
}

function httpStatusOf(error: Record<string, unknown>): number | undefined {
  for (const field of ['status', 'httpStatus', 'statusCode']) {
    const value = error[field];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599) return value;
  }
  return undefined;
}

function messageOfHttpException(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  return exception.message;
}

/**
 * Maps anything thrown in a request to `{ error: { code, message } }`:
 * - Nest HttpException: its status; code from the response's GHOSTDNS_* `code` or GHOSTDNS_HTTP_<STATUS>;
 *   5xx messages are replaced by "internal error".
 * - Errors with a GHOSTDNS_* `code`: `status`/`httpStatus`/`statusCode` (400-599) or 500, their own message.
 * - Fastify client errors (FST_* with a 4xx statusCode, e.g. bad JSON): that status.
 * - Anything else: 500 GHOSTDNS_INTERNAL "internal error".
 * Never a stack, never a cause.
 */
export function toErrorResponse(exception: unknown): ErrorResponse {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const ownCode = typeof response === 'object' && response !== null ? (response as { code?: unknown }).code : undefined;
    const code = typeof ownCode === 'string' && GHOSTDNS_CODE.test(ownCode) ? ownCode : statusCodeName(status);
    const message = status >= 500 ? 'internal error' : safeMessage(messageOfHttpException(exception));
    return { status, body: { error: { code, message } } };
  }
  if (typeof exception === 'object' && exception !== null) {
    const error = exception as Record<string, unknown>;
    const code = error.code;
    const message = typeof error.message === 'string' ? error.message : '';
    if (typeof code === 'string' && GHOSTDNS_CODE.test(code)) {
      return { status: httpStatusOf(error) ?? 500, body: { error: { code, message: safeMessage(message) || code } } };
    }
    const status = httpStatusOf(error);
    if (typeof code === 'string' && code.startsWith('FST_') && status !== undefined && status < 500) {
      return { status, body: { error: { code: statusCodeName(status), message: safeMessage(message) } } };
    }
  }
  return INTERNAL;
}

/** Global filter (installed by RuntimeModule): every HTTP error becomes an ErrorBody. */
@Catch()
export class GhostExceptionFilter implements ExceptionFilter {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, body } = toErrorResponse(exception);
    if (host.getType() !== 'http') {
      this.runtime.logger.error({ err: exception, code: body.error.code, context: host.getType() }, 'unhandled error');
      return;
    }
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<{ method?: string; url?: string }>();
    const fields = { code: body.error.code, status, method: request.method, url: request.url };
    if (status >= 500) this.runtime.logger.error({ ...fields, err: exception }, 'request failed');
    else this.runtime.logger.debug(fields, 'request rejected');
    this.adapterHost.httpAdapter.reply(ctx.getResponse(), body, status);
  }
}
