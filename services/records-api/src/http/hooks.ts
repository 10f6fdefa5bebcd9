import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiErrorBody, ApiErrorCode } from '../errors.js';
import { RateLimiter } from './rate-limiter.js';

export interface ApiHttpSettings {
  readonly corsOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  readonly rateLimitPerMinute: number;
}

/** Paths records-api guards (the runtime's /healthz, /readyz, /metrics are left alone). */
export function isApiPath(url: string): boolean {
  return url.startsWith('/api/');
}

function reject(reply: FastifyReply, status: number, code: ApiErrorCode, message: string): FastifyReply {
  const body: ApiErrorBody = { error: { code, message } };
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(body);
}

function rateKey(request: FastifyRequest): string {
  const auth = request.headers.authorization;
  const key = request.headers['x-api-key'];
  const secret = typeof auth === 'string' && auth !== '' ? auth : typeof key === 'string' && key !== '' ? key : undefined;
  // The secret never sits in memory as a map key: its hash does.
  return secret === undefined ? `ip:${request.ip}` : `token:${createHash('sha256').update(secret).digest('base64url')}`;
}

/**
 * One onRequest hook for /api/*: CORS (off unless api.corsOrigins lists the
 * Origin), the body bound by Content-Length (413, before anything is read;
 * bodies without a length stay under Fastify's own 1 MiB bound), and the rate
 * limit per token (429 with Retry-After).
 */
export function installApiHooks(fastify: FastifyInstance, settings: ApiHttpSettings, limiter = new RateLimiter(settings.rateLimitPerMinute)): void {
  const origins = new Set(settings.corsOrigins.map((o) => o.replace(/\/$/, '')));
  fastify.addHook('onRequest', async (request, reply) => {
    if (!isApiPath(request.url)) return;
    const origin = request.headers.origin;
    if (typeof origin === 'string' && origins.has(origin)) {
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      if (request.method === 'OPTIONS') {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST, PUT, DELETE')
          .header('access-control-allow-headers', 'authorization, x-api-key, content-type')
          .header('access-control-max-age', '600')
          .send();
      }
    }
    const length = Number(request.headers['content-length'] ?? '0');
    if (Number.isFinite(length) && length > settings.bodyLimitBytes) {
      return reject(reply, 413, 'GHOSTDNS_API_PAYLOAD_TOO_LARGE', `request body is larger than ${settings.bodyLimitBytes} bytes (api.bodyLimitBytes)`);
    }
    const { allowed, retryAfterSec } = limiter.take(rateKey(request));
    if (!allowed) {
      reply.header('retry-after', String(retryAfterSec));
      return reject(reply, 429, 'GHOSTDNS_API_RATE_LIMITED', `more than ${settings.rateLimitPerMinute} requests in a minute (api.rateLimitPerMinute)`);
    }
    return undefined;
  });
}
