import type { FastifyReply, FastifyRequest } from 'fastify';

/** `Link: <path?next>; rel="next"` on the request's own path, when a next page exists. */
export function linkNext(request: FastifyRequest, reply: FastifyReply, next: URLSearchParams | null): void {
  if (next === null) return;
  reply.header('link', `<${new URL(request.url, 'http://local').pathname}?${next.toString()}>; rel="next"`);
}
