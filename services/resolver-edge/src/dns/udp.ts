// The UDP I/O seam: the forwarder and the UDP server only see these interfaces,
// so unit tests replace sockets with in-memory fakes.
import { createSocket, type RemoteInfo as DgramRemoteInfo, type Socket } from 'node:dgram';
import type { IpFamily } from './address.js';

export interface RemoteInfo {
  address: string;
  port: number;
  family: IpFamily;
}

export interface UdpSocketLike {
  bind(port: number, host: string): Promise<void>;
  send(msg: Buffer, port: number, host: string): Promise<void>;
  onMessage(listener: (msg: Buffer, rinfo: RemoteInfo) => void): void;
  onError(listener: (err: Error) => void): void;
  address(): { address: string; port: number };
  close(): Promise<void>;
}

export type UdpSocketFactory = (family: IpFamily) => UdpSocketLike;

/** A socket that can also send without a promise or callback closure (the UDP fast path). */
export interface FastSendUdpSocket extends UdpSocketLike {
  sendNoWait(msg: Buffer, port: number, host: string): void;
}

export interface DgramAdapterOptions {
  /** False lets cluster workers share the primary's socket. */
  exclusive: boolean;
  /** Runs once the socket is bound (socket options that need a bound socket). */
  afterBind?: (socket: Socket) => void;
}

/** node:dgram behind UdpSocketLike. */
export function adaptDgramSocket(socket: Socket, options: DgramAdapterOptions): FastSendUdpSocket {
  let closed = false;
  return {
    bind: (port, host) =>
      new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        socket.once('error', onError);
        socket.bind({ port, address: host, exclusive: options.exclusive }, () => {
          socket.off('error', onError);
          options.afterBind?.(socket);
          resolve();
        });
      }),
    send: (msg, port, host) =>
      new Promise<void>((resolve, reject) => {
        socket.send(msg, port, host, (err) => (err ? reject(err) : resolve()));
      }),
    sendNoWait: (msg, port, host) => {
      // No callback: node then completes a successful uv_udp_try_send without a
      // SendWrap round trip; a failure surfaces as the socket's 'error' event.
      socket.send(msg, port, host);
    },
    onMessage: (listener) => {
      // node's rinfo already has { address, port, family: 'IPv4' | 'IPv6' }: no copy per packet.
      socket.on('message', listener as (msg: Buffer, rinfo: DgramRemoteInfo) => void);
    },
    onError: (listener) => {
      socket.on('error', listener);
    },
    address: () => {
      const a = socket.address();
      return { address: a.address, port: a.port };
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        try {
          socket.close(() => resolve());
        } catch {
          resolve(); // never bound: nothing to close
        }
      }),
  };
}

/** A plain dgram socket per call (the forwarder's upstream queries). */
export const nodeUdpSocketFactory: UdpSocketFactory = (family) =>
  adaptDgramSocket(createSocket({ type: family === 'IPv6' ? 'udp6' : 'udp4', ipv6Only: family === 'IPv6' }), { exclusive: true });
