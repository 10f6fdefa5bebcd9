// One UDP exchange with an upstream (RFC 5452 defences): its own ephemeral
// port, a fresh random ID, and an answer accepted only if ID, question and
// source address/port match. Anything else is counted and ignored, and the wait
// goes on until the timeout: a spoofer cannot end the exchange early.
import type { Upstream } from '../dns/forwarder.js';
import type { RemoteInfo, UdpSocketFactory, UdpSocketLike } from '../dns/udp.js';
import { readHeader, readQuestion, sameQuestion, withId, type DnsQuestion } from '../dns/wire.js';

export type UdpOutcome = { kind: 'answer'; response: Buffer } | { kind: 'timeout' } | { kind: 'error' };

export interface UdpExchangeContext {
  socketFactory: UdpSocketFactory;
  randomId: () => number;
  /** Sockets currently open, so shutdown can close them. */
  open: Set<UdpSocketLike>;
  onSpoofed: (up: Upstream) => void;
}

export async function udpExchange(
  ctx: UdpExchangeContext,
  up: Upstream,
  query: Buffer,
  question: DnsQuestion,
  timeoutMs: number,
): Promise<UdpOutcome> {
  const id = ctx.randomId() & 0xffff;
  const wire = withId(query, id);
  const socket = ctx.socketFactory(up.family);
  ctx.open.add(socket);
  try {
    return await new Promise<UdpOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: UdpOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      socket.onError(() => finish({ kind: 'error' }));
      socket.onMessage((msg, rinfo) => {
        if (settled) return;
        if (!acceptUdp(msg, rinfo, up, id, question)) {
          ctx.onSpoofed(up);
          return;
        }
        finish({ kind: 'answer', response: msg });
      });
      socket
        .bind(0, up.family === 'IPv6' ? '::' : '0.0.0.0')
        .then(() => socket.send(wire, up.port, up.host))
        .catch(() => finish({ kind: 'error' }));
    });
  } finally {
    ctx.open.delete(socket);
    await socket.close();
  }
}

export function acceptUdp(msg: Buffer, rinfo: RemoteInfo, up: Upstream, id: number, question: DnsQuestion): boolean {
  if (rinfo.address !== up.host || rinfo.port !== up.port) return false;
  const header = readHeader(msg);
  if (header === null || !header.qr || header.id !== id || header.qdcount !== 1) return false;
  const answered = readQuestion(msg);
  return answered !== null && sameQuestion(answered, question);
}
