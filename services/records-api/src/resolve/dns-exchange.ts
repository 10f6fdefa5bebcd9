import dgram from 'node:dgram';
import { isIP } from 'node:net';

/** Sends one DNS message and resolves with the first matching reply (or rejects on timeout / socket error). */
export type DnsExchange = (query: Buffer, id: number) => Promise<Buffer>;

export interface DnsTarget {
  host: string;
  port: number;
}

/** dns.listen as an address to send to: a wildcard listener is reached on loopback. */
export function targetOf(listen: { host: string; port: number }): DnsTarget {
  const host = listen.host === '0.0.0.0' || listen.host === '' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return { host, port: listen.port };
}

export class DnsTimeoutError extends Error {
  override readonly name = 'DnsTimeoutError';
}

/**
 * One UDP exchange with `target` on a fresh ephemeral socket: a datagram is
 * accepted only from the target address/port and with our ID (the caller
 * checks the question); anything else is ignored until the timeout.
 */
export function udpExchange(target: DnsTarget, timeoutMs: number): DnsExchange {
  return (query, id) =>
    new Promise<Buffer>((resolve, reject) => {
      const socket = dgram.createSocket(isIP(target.host) === 6 ? 'udp6' : 'udp4');
      let done = false;
      const finish = (fn: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.close();
        fn();
      };
      const timer = setTimeout(
        () => finish(() => reject(new DnsTimeoutError(`no answer from ${target.host}:${target.port} within ${timeoutMs} ms`))),
        timeoutMs,
      );
      socket.on('error', (error) => finish(() => reject(error)));
      socket.on('message', (msg, rinfo) => {
        if (rinfo.port !== target.port || rinfo.address !== target.host || msg.length < 12 || msg.readUInt16BE(0) !== id) return;
        finish(() => resolve(msg));
      });
      socket.send(query, target.port, target.host, (error) => {
        if (error) finish(() => reject(error));
      });
    });
}
