// DnstapReceiver with in-process writers over a unix socket and TCP: the
// bidirectional handshake, frames split across writes, protocol errors closing
// only the offending connection, stale socket files, and stop().
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import path from 'node:path';
import { scratchDir, waitFor } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CollectingSink } from '../support.js';
import {
  DNSTAP_CONTENT_TYPE, DnstapReceiver, FrameStreamDecoder, SocketFamily, SocketProtocol, encodeControlFrame, encodeDataFrame,
  encodeDnstap, type ControlFrame, type DnstapCloseReason, type DnstapListenAddress, type DnstapMetrics,
} from '../../src/taps/dnstap/index.js';


function countingMetrics(): DnstapMetrics & { closed: DnstapCloseReason[]; opened: number } {
  const m = {
    closed: [] as DnstapCloseReason[],
    opened: 0,
    frame: () => undefined,
    message: () => undefined,
    event: () => undefined,
    decodeError: () => undefined,
    connectionOpened: () => void m.opened++,
    connectionClosed: (r: DnstapCloseReason) => void m.closed.push(r),
    pendingQueries: () => undefined,
  };
  return m;
}

/** A dnstap writer: the fstrm bidirectional client side, reading the reader's control frames. */
class Writer {
  readonly controls: ControlFrame[] = [];
  readonly closed: Promise<void>;
  private readonly decoder = new FrameStreamDecoder();

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk, { data: () => undefined, control: (c) => this.controls.push(c) }));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static async open(addr: DnstapListenAddress): Promise<Writer> {
    const socket = addr.kind === 'unix' ? connect(addr.path) : connect(addr.port, addr.host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new Writer(socket);
  }

  async handshake(): Promise<void> {
    this.socket.write(encodeControlFrame('READY', ['protobuf:something.else', DNSTAP_CONTENT_TYPE]));
    await waitFor(() => this.controls.length === 1, { description: 'ACCEPT' });
    this.socket.write(encodeControlFrame('START', [DNSTAP_CONTENT_TYPE]));
  }

  async stop(): Promise<void> {
    this.socket.write(encodeControlFrame('STOP'));
    await this.closed;
  }
}

function response(name: string, id: number, port: number): Buffer {
  return encodeDnstap({
    identity: 'writer-1', type: 'CLIENT_RESPONSE', socketFamily: SocketFamily.INET, socketProtocol: SocketProtocol.UDP,
    queryAddress: Buffer.from([127, 0, 0, 1]), queryPort: port, responseTimeUs: 1_700_000_000_000_000,
    responseMessage: dnsPacket.encode({ type: 'response', id, questions: [{ name, type: 'A', class: 'IN' }] }),
  });
}

describe('DnstapReceiver', () => {
  const scratch = scratchDir();
  let receiver: DnstapReceiver | null = null;
  afterEach(async () => {
    await receiver?.stop();
    receiver = null;
  });
  afterAll(() => scratch.remove());

  async function start(listen: string, extra: Partial<ConstructorParameters<typeof DnstapReceiver>[0]> = {}) {
    const sink = new CollectingSink();
    const metrics = countingMetrics();
    receiver = new DnstapReceiver({ listen, sink, node: { id: 'cfg-node', pop: 'lab' }, metrics, ...extra });
    const addr = await receiver.start();
    return { sink, metrics, addr };
  }

  it.each(['unix', 'tcp'])('does the bidirectional handshake over %s and turns frames into events', async (kind) => {
    const listen = kind === 'unix' ? `unix:${path.join(scratch.dir, 'tap.sock')}` : 'tcp:127.0.0.1:0';
    const { sink, metrics, addr } = await start(listen);
    const w = await Writer.open(addr);
    await w.handshake();
    expect(w.controls[0]).toEqual({ type: 'ACCEPT', contentTypes: [DNSTAP_CONTENT_TYPE] });
    // Two frames written byte-split across three writes.
    const bytes = Buffer.concat([encodeDataFrame(response('a.test', 1, 1000)), encodeDataFrame(response('b.test', 2, 1001))]);
    w.socket.write(bytes.subarray(0, 7));
    w.socket.write(bytes.subarray(7, 60));
    w.socket.write(bytes.subarray(60));
    await waitFor(() => sink.events.length === 2, { description: 'two events' });
    await w.stop();
    expect(w.controls[1]).toEqual({ type: 'FINISH', contentTypes: [] });
    expect(sink.events.map((e) => [e.qname, e.node_id, e.client_port])).toEqual([['a.test', 'writer-1', 1000], ['b.test', 'writer-1', 1001]]);
    await waitFor(() => metrics.closed.length === 1, { description: 'close counted' });
    expect(metrics.closed).toEqual(['finished']);
  });

  it('serves many writers at once', async () => {
    const { sink, addr } = await start('tcp:127.0.0.1:0');
    const writers = await Promise.all(Array.from({ length: 5 }, () => Writer.open(addr)));
    await Promise.all(writers.map((w) => w.handshake()));
    writers.forEach((w, i) => w.socket.write(encodeDataFrame(response(`w${i}.test`, i, 2000 + i))));
    await waitFor(() => sink.events.length === 5, { description: 'five events' });
    expect(receiver?.connectionCount).toBe(5);
    await Promise.all(writers.map((w) => w.stop()));
    expect(sink.events.map((e) => e.qname).sort()).toEqual(['w0.test', 'w1.test', 'w2.test', 'w3.test', 'w4.test']);
  });

  it.each([
    ['a writer offering another content type', [encodeControlFrame('READY', ['protobuf:other'])]],
    ['a data frame before START', [encodeDataFrame(Buffer.from('early'))]],
    ['an oversized frame', [encodeControlFrame('START'), Buffer.from([0x7f, 0, 0, 0])]],
    ['an unknown control frame', [Buffer.from('000000000000000400000042', 'hex')]],
    ['an ACCEPT from the writer', [encodeControlFrame('ACCEPT', [DNSTAP_CONTENT_TYPE])]],
  ])('closes the connection on %s, counted, and keeps serving others', async (_name, bytes) => {
    const { sink, metrics, addr } = await start('tcp:127.0.0.1:0');
    const good = await Writer.open(addr);
    await good.handshake();
    const bad = await Writer.open(addr);
    for (const b of bytes) bad.socket.write(b);
    await bad.closed;
    good.socket.write(encodeDataFrame(response('still.test', 1, 3000)));
    await waitFor(() => sink.events.length === 1, { description: 'event from the good writer' });
    await waitFor(() => metrics.closed.includes('protocol_error'), { description: 'protocol_error counted' });
    await good.stop();
  });

  it('accepts a unidirectional writer (START without READY), skips a bad message and goes on', async () => {
    const { sink, addr } = await start('tcp:127.0.0.1:0');
    const w = await Writer.open(addr);
    w.socket.write(Buffer.concat([
      encodeControlFrame('START', [DNSTAP_CONTENT_TYPE]),
      encodeDataFrame(Buffer.from([0xff, 0xff])),
      encodeDataFrame(response('after-bad.test', 4, 4000)),
      encodeControlFrame('STOP'),
    ]));
    await w.closed;
    expect(w.controls).toEqual([]); // no FINISH for a unidirectional writer
    expect(sink.events.map((e) => e.qname)).toEqual(['after-bad.test']);
  });

  it('removes a stale socket file, refuses a live one and a path that is not a socket', async () => {
    // A process that dies without closing its listener leaves the socket file behind.
    const stalePath = path.join(scratch.dir, 'stale.sock');
    execFileSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stalePath)}, () => process.exit(0))`]);
    expect(lstatSync(stalePath).isSocket()).toBe(true);
    const { addr } = await start(`unix:${stalePath}`);
    expect(addr).toEqual({ kind: 'unix', path: stalePath });

    const livePath = path.join(scratch.dir, 'live.sock');
    const live = createServer();
    await new Promise<void>((resolve) => live.listen(livePath, resolve));
    try {
      await expect(new DnstapReceiver({ listen: `unix:${livePath}`, sink: new CollectingSink(), node: { id: 'n', pop: 'p' } }).start()).rejects.toThrow(
        expect.objectContaining({ code: 'GHOSTDNS_TAP_DNSTAP_LISTEN_FAILED', message: expect.stringMatching(/another process is listening/) as string }) as Error,
      );
    } finally {
      live.close();
    }

    const plain = path.join(scratch.dir, 'plain-file');
    writeFileSync(plain, 'keep me');
    await expect(new DnstapReceiver({ listen: `unix:${plain}`, sink: new CollectingSink(), node: { id: 'n', pop: 'p' } }).start()).rejects.toThrow(/is not a socket/);
    expect(readFileSync(plain, 'utf8')).toBe('keep me');
  });

  it('on stop, emits queries still waiting for their response as unanswered events', async () => {
    const { sink, addr } = await start('tcp:127.0.0.1:0');
    const w = await Writer.open(addr);
    await w.handshake();
    w.socket.write(encodeDataFrame(encodeDnstap({
      type: 'CLIENT_QUERY', socketFamily: SocketFamily.INET, queryAddress: Buffer.from([127, 0, 0, 1]), queryPort: 5000,
      queryTimeUs: 1_700_000_000_000_000, queryMessage: dnsPacket.encode({ type: 'query', id: 9, questions: [{ name: 'pending.test', type: 'A', class: 'IN' }] }),
    })));
    await waitFor(() => receiver?.pendingQueries === 1, { description: 'the query held' });
    await receiver?.stop();
    await w.closed;
    expect(sink.events).toMatchObject([{ qname: 'pending.test', message_type: 'CLIENT_QUERY', rcode: null, node_id: 'cfg-node' }]);
  });

  it.each(['udp:1.2.3.4:5', 'unix:relative', 'tcp:nohost'])('refuses the address %s', (listen) => {
    expect(() => new DnstapReceiver({ listen, sink: new CollectingSink(), node: { id: 'n', pop: 'p' } })).toThrow(/not a dnstap listen address/);
  });
});
