import { EventEmitter } from 'node:events';
import { parseConfig } from '@ghostdns/config';
import { loadSchema, type DeviceIdentity, type PresenceEvent, type QueryEvent } from '@ghostdns/contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeviceIdentityCopy, DeviceIdentityIndex, noDeviceIdentities } from '../src/device-identity.js';
import type { AnsweredQuery } from '../src/dns/handler.js';
import {
  CACHE_STATUSES, MAX_ANSWER_RECORD_BYTES, POLICY_ACTIONS, readAnswerRecords, TRANSPORTS, writeAnswerRecord,
} from '../src/events/answer-record.js';
import type { EventThreadData, FromEventThread, ToEventThread } from '../src/events/event-thread-protocol.js';
import { ThreadedEventRecorder, type EventThreadHandle } from '../src/events/event-thread.js';
import { QueryEventProducer } from '../src/events/producer.js';
import { buildAnswer, buildQuery, RecordingMetrics } from './support.js';

const query = buildQuery('WWW.Example.TEST.', { id: 77 });
const base: AnsweredQuery = {
  client: { address: '192.0.2.55', port: 5555, family: 'IPv4', transport: 'UDP' },
  queryTimeUs: 1_700_000_000_000_000,
  receivedAtNs: 0n,
  question: { name: 'WWW.Example.TEST', type: 1, class: 1, end: query.length },
  response: buildAnswer(query),
  cacheStatus: 'HIT',
  policyAction: 'PASS',
  upstream: null,
  upstreamLatencyUs: null,
};

let seq = 0;
const presence = (device: string, name: string, addresses: string[]): PresenceEvent => ({
  event_id: `p${++seq}`, type: 'DEVICE_ONLINE', source: 'WIREGUARD', device_id: device, name, interface: 'wg0', addresses,
  last_handshake_us: null, observed_at_us: 1_700_000_000_000_000, node_id: 'node-a', domain: null,
});
const LAPTOP: DeviceIdentity = { source: 'WIREGUARD', device_id: 'wg-key-55', name: 'laptop' };

/** The device identities both paths are given: base's client and one IPv6 client are VPN devices. */
const devices = new DeviceIdentityIndex();
devices.apply(presence(LAPTOP.device_id, LAPTOP.name, ['192.0.2.55/32', '2001:db8::1:2:3/128']));

/** What QueryEventProducer.build makes of an answer: the reference the record path must equal. */
function built(answer: AnsweredQuery, responseTimeUs: number): QueryEvent {
  const producer = new QueryEventProducer({
    node: { id: 'edge-1', pop: 'ams' }, sink: { offer: () => undefined, depth: 0, close: async () => undefined }, devices,
  });
  return producer.build(answer, responseTimeUs);
}

function throughRecord(answer: AnsweredQuery, responseTimeUs: number): QueryEvent {
  const buf = Buffer.alloc(MAX_ANSWER_RECORD_BYTES);
  const end = writeAnswerRecord(buf, 0, answer, responseTimeUs);
  const out: QueryEvent[] = [];
  // The thread's copy, as the recorder keeps it.
  const copy = new DeviceIdentityCopy();
  copy.update(devices.entries());
  expect(readAnswerRecords(buf, end, { node: { id: 'edge-1', pop: 'ams' }, newEventId: () => 'id' }, copy, out)).toBe(1);
  return out[0];
}

describe('answer records', () => {
  const cases: { name: string; answer: AnsweredQuery; device: DeviceIdentity | null }[] = [
    { name: 'a cache hit over UDP/IPv4 from a VPN device', answer: base, device: LAPTOP },
    {
      name: 'a miss over TCP/IPv6 with upstream and latency, from a VPN device',
      answer: { ...base, client: { address: '2001:db8::1:2:3', port: 65535, family: 'IPv6', transport: 'TCP' }, cacheStatus: 'MISS', upstream: '127.0.0.1:53', upstreamLatencyUs: 420 },
      device: LAPTOP,
    },
    {
      name: 'the VPN device\'s IPv4 address through a dual-stack socket',
      answer: { ...base, client: { address: '::ffff:192.0.2.55', port: 5353, family: 'IPv6', transport: 'UDP' } },
      device: LAPTOP,
    },
    { name: 'a client that is no VPN device', answer: { ...base, client: { ...base.client, address: '198.51.100.7' } }, device: null },
    { name: 'DoH, blocked, NONE', answer: { ...base, client: { ...base.client, transport: 'DOH' }, cacheStatus: 'NONE', policyAction: 'BLOCKED' }, device: LAPTOP },
    { name: 'no readable question (FORMERR)', answer: { ...base, question: null }, device: LAPTOP },
    { name: 'a response shorter than a header', answer: { ...base, response: Buffer.alloc(3) }, device: LAPTOP },
    { name: 'the root name', answer: { ...base, question: { name: '', type: 2, class: 1, end: 17 } }, device: LAPTOP },
    {
      name: 'a 253-character name with escapes and a non-ASCII label',
      answer: { ...base, question: { name: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.\\032x.bücher`, type: 28, class: 3, end: 0 } },
      device: LAPTOP,
    },
    {
      name: 'rate limited, stale, DoT',
      answer: { ...base, client: { ...base.client, transport: 'DOT' }, cacheStatus: 'STALE', policyAction: 'RATE_LIMITED' },
      device: LAPTOP,
    },
  ];
  it.each(cases)('decode to what QueryEventProducer builds: $name', ({ answer, device }) => {
    const expected = { ...built(answer, 1_700_000_000_000_900), event_id: 'id' };
    expect(expected.device).toEqual(device);
    expect(throughRecord(answer, 1_700_000_000_000_900)).toEqual(expected);
  });

  it('reads many records back to back and stops at a torn one', () => {
    const buf = Buffer.alloc(MAX_ANSWER_RECORD_BYTES * 3);
    let end = 0;
    for (let i = 0; i < 3; i++) end = writeAnswerRecord(buf, end, { ...base, client: { ...base.client, port: 1000 + i } }, i);
    const out: QueryEvent[] = [];
    expect(readAnswerRecords(buf, end - 1, { node: { id: 'n', pop: 'p' }, newEventId: () => 'x' }, noDeviceIdentities, out)).toBe(2);
    expect(out.map((e) => e.client_port)).toEqual([1000, 1001]);
  });

  it('code tables follow the QueryEvent schema enums in order', () => {
    const schema = loadSchema('QueryEvent') as unknown as { fields: { name: string; type: { symbols?: string[] } }[] };
    const symbols = (field: string): string[] | undefined => schema.fields.find((f) => f.name === field)?.type.symbols;
    expect([...TRANSPORTS]).toEqual(symbols('transport'));
    expect([...CACHE_STATUSES]).toEqual(symbols('cache_status'));
    expect([...POLICY_ACTIONS]).toEqual(symbols('policy_action'));
  });
});

/** The event thread's stand-in: records what it was sent; the test plays its replies. */
class StandInThread extends EventEmitter implements EventThreadHandle {
  readonly received: ToEventThread[] = [];
  terminated = false;
  constructor(readonly data: EventThreadData) {
    super();
  }
  postMessage(message: ToEventThread): void {
    this.received.push(message);
  }
  reply(message: FromEventThread): void {
    this.emit('message', message);
  }
  async terminate(): Promise<number> {
    this.terminated = true;
    return 0;
  }
  records(): ToEventThread[] {
    return this.received.filter((m) => m.type === 'records');
  }
}

function recorderWith(
  options: { maxInFlightBytes?: number; devices?: DeviceIdentityIndex } = {},
): { recorder: ThreadedEventRecorder; threads: StandInThread[]; metrics: RecordingMetrics } {
  const threads: StandInThread[] = [];
  const metrics = new RecordingMetrics();
  const recorder = new ThreadedEventRecorder({
    config: parseConfig({ node: { id: 'edge-1', pop: 'ams' } }),
    spoolDir: null,
    clientIdSuffix: 'test',
    metrics,
    flushIntervalMs: 60_000,
    bufferBytes: MAX_ANSWER_RECORD_BYTES * 4,
    ...options,
    spawn: (data) => {
      const t = new StandInThread(data);
      threads.push(t);
      return t;
    },
  });
  return { recorder, threads, metrics };
}

describe('ThreadedEventRecorder', () => {
  it('hands full buffers to the thread, which decodes them to the recorded events', () => {
    const { recorder, threads } = recorderWith();
    for (let i = 0; i < 300; i++) recorder.record({ ...base, client: { ...base.client, port: 2000 + i } }, i);
    const sent = threads[0]?.records() ?? [];
    expect(sent.length).toBeGreaterThanOrEqual(2);
    const ports: number[] = [];
    for (const m of sent) {
      if (m.type !== 'records') continue;
      const out: QueryEvent[] = [];
      expect(readAnswerRecords(Buffer.from(m.buffer, 0, m.length), m.length, { node: { id: 'n', pop: 'p' }, newEventId: () => 'x' }, noDeviceIdentities, out)).toBe(m.count);
      ports.push(...out.map((e) => e.client_port));
    }
    expect(recorder.depth).toBe(300);
    expect(ports).toEqual(Array.from({ length: ports.length }, (_, i) => 2000 + i));
    expect(threads[0]?.data.entry).toMatch(/event-thread-worker\.ts$/);
  });

  it('drops and counts records while the thread is behind by maxInFlightBytes, and resumes after its ack', () => {
    const { recorder, threads, metrics } = recorderWith({ maxInFlightBytes: MAX_ANSWER_RECORD_BYTES * 4 });
    for (let i = 0; i < 300; i++) recorder.record(base, i);
    const thread = threads[0];
    const first = thread.records();
    expect(first).toHaveLength(1);
    expect(metrics.count('events_dropped')).toBeGreaterThan(0);
    const m = first[0];
    if (m?.type !== 'records') throw new Error('expected records');
    thread.reply({ type: 'ack', count: m.count, bytes: m.length });
    const dropped = metrics.count('events_dropped');
    for (let i = 0; i < 300; i++) recorder.record(base, i);
    expect(thread.records().length).toBeGreaterThan(1);
    expect(metrics.count('events_dropped')).toBeGreaterThan(dropped);
  });

  it('applies the thread\'s sink reports to the metrics', () => {
    const { threads, metrics } = recorderWith();
    threads[0]?.reply({
      type: 'metrics',
      report: { eventsDropped: 2, spoolWritten: 5, spoolReplayed: 3, spoolDropped: 1, spoolTruncated: 1, queueDepth: 7, spoolDepthBytes: 4096 },
    });
    expect(metrics.count('events_dropped')).toBe(2);
    expect(metrics.count('spool_written')).toBe(5);
    expect(metrics.count('spool_replayed')).toBe(3);
    expect(metrics.spoolBytes).toBe(4096);
  });

  it('on close sends the rest, waits for the thread to finish, and refuses later records', async () => {
    const { recorder, threads, metrics } = recorderWith();
    recorder.record(base, 1);
    const thread = threads[0];
    const closing = recorder.close(1_000);
    expect(thread.received.map((m) => m.type)).toEqual(['records', 'close']);
    thread.reply({ type: 'closed' });
    await closing;
    expect(thread.terminated).toBe(true);
    recorder.record(base, 2);
    expect(metrics.count('events_dropped')).toBe(1);
  });

  it('counts what a crashed thread had not taken as dropped', () => {
    const { recorder, threads, metrics } = recorderWith();
    for (let i = 0; i < 300; i++) recorder.record(base, i);
    const thread = threads[0];
    const inFlight = thread.records().reduce((n, m) => n + (m.type === 'records' ? m.count : 0), 0);
    expect(inFlight).toBeGreaterThan(0);
    thread.emit('exit', 1);
    expect(metrics.count('events_dropped')).toBe(inFlight);
  });
});

describe('ThreadedEventRecorder: device identities for the thread', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const types = (thread: StandInThread): string[] => thread.received.map((m) => m.type);
  const entriesOf = (m: ToEventThread | undefined): Map<string, DeviceIdentity | null> =>
    new Map(m?.type === 'devices' ? m.entries : []);

  /** Plays the thread: applies the devices messages and decodes the records in the order they were sent. */
  function decodeAsTheThread(thread: StandInThread): QueryEvent[] {
    const copy = new DeviceIdentityCopy();
    const out: QueryEvent[] = [];
    for (const m of thread.received) {
      if (m.type === 'devices') copy.update(m.entries);
      if (m.type === 'records') readAnswerRecords(Buffer.from(m.buffer, 0, m.length), m.length, { node: { id: 'n', pop: 'p' }, newEventId: () => 'x' }, copy, out);
    }
    return out;
  }

  it('tells a new thread every known address before any record', () => {
    const index = new DeviceIdentityIndex();
    index.apply(presence('k1', 'laptop', ['192.0.2.55/32', 'fd00::2/128']));
    const { threads } = recorderWith({ devices: index });
    expect(threads[0]?.received).toEqual([{ type: 'devices', entries: index.entries() }]);
    expect(recorderWith().threads[0]?.received).toEqual([]);
  });

  it('sends the changes of one turn together, after the records answered before them and ahead of later ones', async () => {
    const index = new DeviceIdentityIndex();
    const { recorder, threads } = recorderWith({ devices: index });
    const thread = threads[0];
    recorder.record({ ...base, client: { ...base.client, port: 1 } }, 1);
    index.apply(presence(LAPTOP.device_id, LAPTOP.name, ['192.0.2.55/32']));
    index.apply(presence('k2', 'phone', ['192.0.2.56/32']));
    recorder.record({ ...base, client: { ...base.client, port: 2 } }, 2);
    expect(types(thread)).toEqual(['records']);
    await nextTurn();
    expect(types(thread)).toEqual(['records', 'devices']);
    const added = entriesOf(thread.received[1]);
    expect(added.get('192.0.2.55')).toEqual(LAPTOP);
    expect(added.get('::ffff:192.0.2.56')).toEqual({ source: 'WIREGUARD', device_id: 'k2', name: 'phone' });
    expect(added.size).toBe(4);

    index.apply(presence(LAPTOP.device_id, LAPTOP.name, []));
    recorder.record({ ...base, client: { ...base.client, port: 3 } }, 3);
    // Closing before the turn ends still sends the change ahead of the record answered after it.
    const closing = recorder.close(1_000);
    expect(types(thread)).toEqual(['records', 'devices', 'records', 'devices', 'records', 'close']);
    expect(entriesOf(thread.received[3]).get('192.0.2.55')).toBeNull();
    thread.reply({ type: 'closed' });
    await closing;

    expect(decodeAsTheThread(thread).map((e) => [e.client_port, e.device])).toEqual([[1, null], [2, LAPTOP], [3, null]]);
  });

  it('tells a restarted thread the whole map again', async () => {
    vi.useFakeTimers();
    const index = new DeviceIdentityIndex();
    index.apply(presence('k1', 'laptop', ['192.0.2.55/32']));
    const { threads } = recorderWith({ devices: index });
    threads[0]?.emit('exit', 1);
    // Changed while no thread runs: the restarted one learns it from the whole map.
    index.apply(presence('k2', 'phone', ['192.0.2.56/32']));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(threads).toHaveLength(2);
    expect(threads[1]?.received).toEqual([{ type: 'devices', entries: index.entries() }]);
    expect(entriesOf(threads[1]?.received[0]).get('192.0.2.56')).toEqual({ source: 'WIREGUARD', device_id: 'k2', name: 'phone' });
  });
});
