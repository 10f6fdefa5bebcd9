// Operations against real sockets: queries keep being answered while the
// pipeline reloads (what SIGHUP triggers), and shutdown drains in-flight
// upstream queries before it resolves.
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@ghostdns/config';
import { freeUdpAndTcpPort, startDnsmasq, waitFor, type ManagedProcess } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { buildAnswer, rcodeOf, RecordingMetrics } from './support.js';

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function query(name: string, id: number): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] });
}

/** One query, one answer (by ID) or an error after timeoutMs. */
function ask(socket: Socket, port: number, msg: Buffer, timeoutMs = 5_000): Promise<Buffer> {
  const id = msg.readUInt16BE(0);
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', on);
      reject(new Error(`no answer to ${id}`));
    }, timeoutMs);
    const on = (m: Buffer): void => {
      if (m.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      socket.off('message', on);
      resolve(m);
    };
    socket.on('message', on);
    socket.send(msg, port, '127.0.0.1');
  });
}

describe('reload under load', () => {
  let dnsmasq: ManagedProcess;
  let upstreamPort = 0;

  beforeAll(async () => {
    upstreamPort = await freeUdpAndTcpPort();
    const records: Record<string, string> = {};
    for (let i = 0; i < 20; i++) records[`r${i}.reload.test`] = `192.0.2.${i + 1}`;
    dnsmasq = startDnsmasq(upstreamPort, records);
    const probe = await bound();
    try {
      await waitFor(() => ask(probe, upstreamPort, query('r0.reload.test', 1), 300).then(() => true, () => false), {
        timeoutMs: 15_000, description: 'dnsmasq answering',
      });
    } finally {
      probe.close();
    }
  });

  afterAll(async () => {
    await dnsmasq?.stop();
  });

  it('answers every query while the pipeline reloads over and over', async () => {
    // A blocklist gives the reload real work (re-reading and swapping the set).
    const dir = mkdtempSync(join(tmpdir(), 'ghostdns-reload-'));
    const blocklist = join(dir, 'block.txt');
    writeFileSync(blocklist, Array.from({ length: 5_000 }, (_, i) => `0.0.0.0 ads${i}.blocked.test`).join('\n'));
    const edge = new ResolverEdge({
      config: parseConfig({
        node: { id: 'ops', pop: 'test' },
        dns: { listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${upstreamPort}`], tcp: false },
        policy: { blocklists: [blocklist], reloadInterval: 0 },
      }),
      publisher: { publish: async () => undefined },
      spoolDir: null,
    });
    const { udp } = await edge.start();
    const clients = await Promise.all(Array.from({ length: 8 }, bound));
    let reloads = 0;
    let done = false;
    const failures: string[] = [];
    let answered = 0;
    try {
      const reloading = (async () => {
        while (!done) {
          await edge.reload();
          reloads++;
          // A reload with nothing to re-read settles at once: let the sockets run between reloads.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      })();
      let next = 0;
      await Promise.all(
        clients.map(async (socket) => {
          while (next < 2_000) {
            const i = next++;
            try {
              const a = await ask(socket, udp.port, query(`r${i % 20}.reload.test`, i));
              if (rcodeOf(a) === 'NOERROR') answered++;
              else failures.push(`${i}: ${rcodeOf(a)}`);
            } catch (err) {
              failures.push(`${i}: ${(err as Error).message}`);
            }
          }
        }),
      );
      done = true;
      await reloading;
      expect(failures.slice(0, 10)).toEqual([]);
      expect(answered).toBe(2_000);
      expect(reloads).toBeGreaterThan(0);
    } finally {
      done = true;
      for (const c of clients) c.close();
      await edge.stop({ drainTimeoutMs: 1_000, flushTimeoutMs: 100 });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, lets in-flight upstream queries finish, and only then resolves', async () => {
    // An upstream that holds every answer until the test releases it.
    const upstream = await bound();
    const held: { msg: Buffer; port: number; address: string }[] = [];
    upstream.on('message', (msg, rinfo) => held.push({ msg, port: rinfo.port, address: rinfo.address }));
    const metrics = new RecordingMetrics();
    const edge = new ResolverEdge({
      config: parseConfig({
        node: { id: 'drain', pop: 'test' },
        dns: { listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${upstream.address().port}`], tcp: false, upstreamTimeoutMs: 20_000 },
        cache: { maxBytes: 0 },
      }),
      publisher: { publish: async () => undefined },
      metrics,
      spoolDir: null,
    });
    const { udp } = await edge.start();
    const client = await bound();
    try {
      const N = 20;
      const answers = Array.from({ length: N }, (_, i) => ask(client, udp.port, query(`slow${i}.drain.test`, 100 + i), 20_000));
      await waitFor(() => held.length === N, { timeoutMs: 5_000, description: `${N} queries at the upstream` });

      let stopped = false;
      const stopping = edge.stop({ drainTimeoutMs: 20_000, flushTimeoutMs: 100 }).then(() => {
        stopped = true;
      });
      await waitFor(() => !edge.listening, { timeoutMs: 5_000, description: 'listener closed to new queries' });
      // New queries are no longer taken while the old ones drain.
      await expect(ask(client, udp.port, query('late.drain.test', 999), 300)).rejects.toThrow(/no answer/);
      expect(stopped).toBe(false);

      for (const h of held) upstream.send(buildAnswer(h.msg, '192.0.2.55'), h.port, h.address);
      const got = await Promise.all(answers);
      expect(got.map(rcodeOf)).toEqual(Array.from({ length: N }, () => 'NOERROR'));
      await stopping;
      expect(metrics.count('responses|NOERROR')).toBe(N);
    } finally {
      client.close();
      upstream.close();
      await edge.stop({ drainTimeoutMs: 100, flushTimeoutMs: 100 }).catch(() => undefined);
    }
  });
});
