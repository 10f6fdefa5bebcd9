// Integration: identity behind NAT and custom domains, on both event paths.
// A real upstream (dnsmasq), the real resolver on port 0 following presence
// through the in-process bus (as the runtime hands it its bus), and a client
// on 127.0.0.1 — the tunnel address of the device the presence events
// describe. Its queries' events are read back where each path publishes them:
// the in-process bus (answer thread, standalone) or the harness's Kafka (the
// event thread, with the identities copied to it).
import { createInProcessBus, createKafkaBus, silentLogger, type EventBus } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { BuiltinSchemaTable, createEventCodec, Topics, type DeviceIdentity, type PresenceEvent, type QueryEvent } from '@ghostdns/contracts';
import { requireComponent, waitFor, type ManagedProcess } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { query, startUpstream, udpQuery } from './int-support.js';

const DOMAIN = 'home.identity.test';
const FQDN = `laptop.${DOMAIN}`;
const LAPTOP: DeviceIdentity = { source: 'WIREGUARD', device_id: 'wg-key-loopback', name: 'laptop' };

describe.each([
  { path: 'on the answer thread (in-process bus)', eventThread: false },
  { path: 'on the event thread (Kafka)', eventThread: true },
])('query events name the VPN device behind the client address, built $path', ({ eventThread }) => {
  const node = `edge-identity-${eventThread ? 'thread' : 'main'}-${process.pid}`;
  let dnsmasq: ManagedProcess | undefined;
  let edge: ResolverEdge | undefined;
  let port = 0;
  const buses: EventBus[] = [];
  let presenceBus: EventBus;
  const events: QueryEvent[] = [];
  let seq = 0;

  beforeAll(async () => {
    const names = ['before', 'online', 'offline', 'moved'].map((n) => [`${n}.identity.test`, '192.0.2.10'] as const);
    let upstreamPort: number;
    ({ port: upstreamPort, dnsmasq } = await startUpstream(Object.fromEntries(names)));

    presenceBus = createInProcessBus({ logger: silentLogger });
    buses.push(presenceBus);
    await presenceBus.connect();
    const collect = async (batch: { values: readonly QueryEvent[] }): Promise<void> => {
      for (const e of batch.values) if (e.node_id === node) events.push(e);
    };
    let brokers: string[] = [];
    if (eventThread) {
      brokers = requireComponent('kafka').split(',');
      const codec = createEventCodec(new BuiltinSchemaTable());
      await codec.init();
      const consumer = createKafkaBus({
        brokers, clientId: `${node}-consumer`, codec, logger: silentLogger, kafkaLogLevel: 'error',
        maxWaitTimeInMs: 100, heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000,
      });
      buses.push(consumer);
      await consumer.connect();
      await consumer.subscribe(Topics.queries, collect, { groupId: `${node}-check`, fromBeginning: true });
    } else {
      await presenceBus.subscribe(Topics.queries, collect, { groupId: `${node}-check`, fromBeginning: true });
    }

    edge = new ResolverEdge({
      config: parseConfig({
        node: { id: node, pop: 'lab' },
        log: { level: 'error' },
        kafka: { brokers },
        dns: { listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${upstreamPort}`], tcp: false, upstreamTimeoutMs: 2_000 },
        presence: { suffix: 'vpn.identity.test' },
      }),
      publisher: presenceBus,
      bus: presenceBus,
      queue: { lingerMs: 5 },
      spoolDir: null,
      eventThread: eventThread ? { clientIdSuffix: `${node}-events` } : null,
    });
    port = (await edge.start()).udp.port;
  });

  afterAll(async () => {
    await edge?.stop({ drainTimeoutMs: 1_000, flushTimeoutMs: 5_000 });
    for (const bus of buses) await bus.close();
    await dnsmasq?.stop();
  });

  const presence = (type: PresenceEvent['type'], addresses: string[]): PresenceEvent => ({
    event_id: `${node}-p${++seq}`, type, source: LAPTOP.source, device_id: LAPTOP.device_id, name: LAPTOP.name, interface: 'wg0',
    addresses, last_handshake_us: null, observed_at_us: Date.now() * 1000, node_id: 'vpn-1', domain: DOMAIN,
  });

  /** The A records the resolver answers for the device's name under its custom domain. */
  const deviceAddresses = async (): Promise<string> =>
    (dnsPacket.decode(await udpQuery(port, query(FQDN, ++seq & 0xffff))).answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : [])).join();

  /** Sends `qname` from 127.0.0.1 and returns its (one) event's device. */
  async function deviceOf(qname: string): Promise<DeviceIdentity | null | undefined> {
    expect(dnsPacket.decode(await udpQuery(port, query(qname, ++seq & 0xffff))).answers?.[0]).toMatchObject({ data: '192.0.2.10' });
    await waitFor(() => events.some((e) => e.qname === qname), { timeoutMs: 30_000, description: `the event of ${qname}` });
    const matching = events.filter((e) => e.qname === qname);
    expect(matching.map((e) => e.client_ip)).toEqual(['127.0.0.1']);
    return matching[0]?.device;
  }

  it('none before the device is known; the device while its events claim 127.0.0.1, offline too; none once it moved', async () => {
    expect(await deviceOf('before.identity.test')).toBeNull();

    await presenceBus.publish(Topics.presence, [presence('DEVICE_ONLINE', ['127.0.0.1/32'])]);
    await waitFor(async () => (await deviceAddresses()) === '127.0.0.1', { description: `${FQDN} under its custom domain` });
    expect(await deviceOf('online.identity.test')).toEqual(LAPTOP);

    await presenceBus.publish(Topics.presence, [presence('DEVICE_OFFLINE', ['127.0.0.1/32'])]);
    await waitFor(async () => (await deviceAddresses()) === '', { description: `${FQDN} withdrawn while offline` });
    expect(await deviceOf('offline.identity.test')).toEqual(LAPTOP);

    await presenceBus.publish(Topics.presence, [presence('DEVICE_ONLINE', ['127.0.0.2/32'])]);
    await waitFor(async () => (await deviceAddresses()) === '127.0.0.2', { description: `${FQDN} on its new address` });
    expect(await deviceOf('moved.identity.test')).toBeNull();
  });
});
