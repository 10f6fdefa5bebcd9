// Bad input never crashes resolver-edge: 100,000 mutated packets straight into
// QueryHandler.handle (stub resolver), and 5,000 over real UDP on loopback to a
// started ResolverEdge with no upstream (the whole pipeline behind the
// handler). Seeded (FUZZ_SEED overrides; the seed is printed), so a failure
// reproduces. The longer run is bench/src/fuzz.ts.
import { createSocket } from 'node:dgram';
import { parseConfig } from '@ghostdns/config';
import { describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { CountingMetrics, fuzzHandler, fuzzSeed, mutate, seedCorpus, XorShift32 } from './fuzz-packets.js';

const SEED = fuzzSeed();
const HANDLER_PACKETS = 100_000;
const UDP_PACKETS = 5_000;

describe('fuzzing', () => {
  it(`QueryHandler survives ${HANDLER_PACKETS.toLocaleString('en-US')} mutated packets (seed ${SEED})`, async () => {
    console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} reproduces)`);
    const o = await fuzzHandler(SEED, HANDLER_PACKETS);
    expect(o.violations, `seed ${SEED}`).toEqual([]);
    expect(o.packets).toBe(HANDLER_PACKETS);
    // Counters add up: every packet is either a request (answered) or a counted drop.
    expect(o.answered + o.dropped).toBe(HANDLER_PACKETS);
    expect(o.metrics.requests).toBe(o.answered);
    expect(o.metrics.responses).toBe(o.answered);
    expect(o.metrics.malformedCount('short_header') + o.metrics.malformedCount('not_a_query')).toBe(o.dropped);
    expect(o.byDropReason.get('short_header') ?? 0).toBe(o.metrics.malformedCount('short_header'));
    // Every malformed-but-readable message was answered FORMERR and counted.
    const formerr = o.byRcode.get('FORMERR') ?? 0;
    expect(formerr).toBe(o.metrics.malformedCount('bad_question') + o.metrics.malformedCount('bad_edns'));
    // The mutations did reach every branch.
    for (const rcode of ['NOERROR', 'FORMERR', 'NOTIMP']) expect(o.byRcode.get(rcode) ?? 0, rcode).toBeGreaterThan(100);
    for (const reason of ['short_header', 'not_a_query']) expect(o.byDropReason.get(reason) ?? 0, reason).toBeGreaterThan(100);
    console.log(`fuzz: ${o.answered} answered (${[...o.byRcode].map(([k, v]) => `${k} ${v}`).join(', ')}), ${o.dropped} dropped (${[...o.byDropReason].map(([k, v]) => `${k} ${v}`).join(', ')})`);
  }, 60_000);

  it('the mutator is deterministic for a seed', () => {
    const corpus = seedCorpus();
    const a = new XorShift32(42);
    const b = new XorShift32(42);
    for (let i = 0; i < 1000; i++) expect(mutate(a, corpus).packet.equals(mutate(b, corpus).packet)).toBe(true);
  });

  it(`a running ResolverEdge survives ${UDP_PACKETS.toLocaleString('en-US')} mutated datagrams and still answers (seed ${SEED})`, async () => {
    const counting = new CountingMetrics();
    const edge = new ResolverEdge({
      config: parseConfig({ node: { id: 'fuzz', pop: 'test' }, dns: { listen: '127.0.0.1:0', upstreams: [], tcp: false } }),
      publisher: { publish: async () => undefined },
      metrics: counting.metrics,
      spoolDir: null,
    });
    const { udp } = await edge.start();
    const client = createSocket('udp4');
    const sentIds = new Map<number, number>();
    const violations: string[] = [];
    let received = 0;
    client.on('message', (m) => {
      received++;
      if (m.length < 12) violations.push(`short response ${m.toString('hex')}`);
      else {
        const id = m.readUInt16BE(0);
        if (!sentIds.has(id)) violations.push(`response ID ${id} matches no query`);
        if (((m[2] ?? 0) & 0x80) === 0) violations.push(`response without QR ${m.subarray(0, 12).toString('hex')}`);
      }
    });
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    try {
      const rng = new XorShift32(SEED ^ 0xabcdef);
      const corpus = seedCorpus();
      const handled = (): number => counting.requests + counting.malformedCount('short_header') + counting.malformedCount('not_a_query');
      let sent = 0;
      while (sent < UDP_PACKETS) {
        // Bounded bursts, each waited for, so no datagram is lost to a full socket buffer.
        const burst = Math.min(50, UDP_PACKETS - sent);
        for (let i = 0; i < burst; i++) {
          let { packet } = mutate(rng, corpus);
          if (packet.length > 65_507) packet = packet.subarray(0, 65_507); // the largest UDP/IPv4 payload
          if (packet.length >= 2) sentIds.set(packet.readUInt16BE(0), (sentIds.get(packet.readUInt16BE(0)) ?? 0) + 1);
          client.send(packet, udp.port, '127.0.0.1');
        }
        sent += burst;
        const deadline = Date.now() + 10_000;
        while (handled() < sent) {
          if (Date.now() > deadline) throw new Error(`only ${handled()} of ${sent} datagrams handled (seed ${SEED})`);
          await new Promise<void>((resolve) => setTimeout(resolve, 1));
        }
      }
      const deadline = Date.now() + 10_000;
      while (received < counting.responses && Date.now() < deadline) await new Promise<void>((resolve) => setTimeout(resolve, 5));
      expect(violations.slice(0, 10), `seed ${SEED}`).toEqual([]);
      expect(handled()).toBe(UDP_PACKETS);
      expect(received).toBe(counting.responses);
      expect(counting.responses).toBe(counting.requests);

      // Still alive and answering a well-formed query.
      const probe = Buffer.from([0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 4, 0x70, 0x72, 0x6f, 0x62, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 1, 0, 1]);
      sentIds.set(0xbeef, 1);
      const before = received;
      client.send(probe, udp.port, '127.0.0.1');
      const probeDeadline = Date.now() + 5_000;
      while (received === before && Date.now() < probeDeadline) await new Promise<void>((resolve) => setTimeout(resolve, 2));
      expect(received).toBe(before + 1);
      expect(edge.listening).toBe(true);
    } finally {
      client.close();
      await edge.stop({ drainTimeoutMs: 1000, flushTimeoutMs: 100 });
    }
  }, 60_000);
});
