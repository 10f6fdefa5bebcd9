import type { FastifyReply, FastifyRequest } from 'fastify';
import { invalidParameter } from '../errors.js';

/** `Link: <path?next>; rel="next"` on the request's own path, when a next page exists. */
export function linkNext(request: FastifyRequest, reply: FastifyReply, next: URLSearchParams | null): void {
  if (next === null) return;
  reply.header('link', `<${new URL(request.url, 'http://local').pathname}?${next.toString()}>; rel="next"`);
}

/** An opaque keyset cursor: the tuple as base64url JSON. */
export function encodeCursorTuple(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

/**
 * The `length` values of a cursor made by encodeCursorTuple; throws the 400 naming `cursor` for
 * anything else. The caller still checks each value: a cursor is client input.
 */
export function decodeCursorTuple(text: string, length: number): unknown[] {
  const bad = invalidCursor();
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) throw bad;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (!Array.isArray(parsed) || parsed.length !== length) throw bad;
  return parsed as unknown[];
}

export function invalidCursor(): Error {
  return invalidParameter('cursor', 'is not a cursor from a Link header of this endpoint');
}
