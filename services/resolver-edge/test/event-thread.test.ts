import { EventEmitter } from 'node:events';
import { parseConfig } from '@ghostdns/config';
import { loadSchema, type QueryEvent } from '@ghostdns/contracts';
import { describe, expect, it } from 'vitest';
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

/** What QueryEventProducer.build makes of an answer: the reference the record path must equal. */
function built(answer: AnsweredQuery, responseTimeUs: number): QueryEvent {
  const producer = new QueryEventProducer({ node: { id: 'edge-1', pop: 'ams' }, sink: { offer: () => undefined, depth: 0, close: async () => undefined } });
  return producer.build(answer, responseTimeUs);
}

function throughRecord(answer: AnsweredQuery, responseTimeUs: number): QueryEvent {
  const buf = Buffer.alloc(MAX_ANSWER_RECORD_BYTES);
  const end = writeAnswerRecord(buf, 0, answer, responseTimeUs);
  const out: QueryEvent[] = [];
  expect(readAnswerRecords(buf, end, { node: { id: 'edge-1', pop: 'ams' }, newEventId: () => 'id' }, out)).toBe(1);
  return out[0];
}

describe('answer records', () => {
  const cases: { name: string; answer: AnsweredQuery }[] = [
    { name: 'a cache hit over UDP/IPv4', answer: base },
    {
      name: 'a miss over TCP/IPv6 with upstream and latency',
      answer: { ...base, client: { address: '2001:db8::1:2:3', port: 65535, family: 'IPv6', transport: 'TCP' }, cacheStatus: 'MISS', upstream: '127.0.0.1:53', upstreamLatencyUs: 420 },
    },
    { name: 'DoH, blocked, NONE', answer: { ...base, client: { ...base.client, transport: 'DOH' }, cacheStatus: 'NONE', policyAction: 'BLOCKED' } },
    { name: 'no readable question (FORMERR)', answer: { ...base, question: null } },
    { name: 'a response shorter than a header', answer: { ...base, response: Buffer.alloc(3) } },
    { name: 'the root name', answer: { ...base, question: { name: '', type: 2, class: 1, end: 17 } } },
    {
      name: 'a 253-character name with escapes and a non-ASCII label',
      answer: { ...base, question: { name: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.\\032x.bücher`, type: 28, class: 3, end: 0 } },
    },
    { name: 'rate limited, stale, DoT', answer: { ...base, client: { ...base.client, transport: 'DOT' }, cacheStatus: 'STALE', policyAction: 'RATE_LIMITED' } },
  ];
  it.each(cases)('decode to what QueryEventProducer builds: $name', ({ answer }) => {
    const expected = { ...built(answer, 1_700_000_000_000_900), event_id: 'id' };
    expect(throughRecord(answer, 1_700_000_000_000_900)).toEqual(expected);
  });

  it('reads many records back to back and stops at a torn one', () => {
    const buf = Buffer.alloc(MAX_ANSWER_RECORD_BYTES * 3);
    let end = 0;
    for (let i = 0; i < 3; i++) end = writeAnswerRecord(buf, end, { ...base, client: { ...base.client, port: 1000 + i } }, i);
    const out: QueryEvent[] = [];
    expect(readAnswerRecords(buf, end - 1, { node: { id: 'n', pop: 'p' }, newEventId: () => 'x' }, out)).toBe(2);
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

function recorderWith(options: { maxInFlightBytes?: number } = {}): { recorder: ThreadedEventRecorder; threads: StandInThread[]; metrics: RecordingMetrics } {
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
      expect(readAnswerRecords(Buffer.from(m.buffer, 0, m.length), m.length, { node: { id: 'n', pop: 'p' }, newEventId: () => 'x' }, out)).toBe(m.count);
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
