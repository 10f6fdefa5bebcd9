// The disk spool and the spooling sink, on a scratch directory (no bus, no
// network): record format and recovery, size cap, order across disk and
// memory, outage and recovery, survival across a restart.
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { EventPublisher } from '@ghostdns/bus';
import type { QueryEvent, TopicName, TopicPayloads } from '@ghostdns/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskSpool, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, scanRecords } from '../src/events/spool.js';
import { QueryEventSpoolCodec, SpoolingSink } from '../src/events/spooling-sink.js';
import { RecordingMetrics, waitFor } from './support.js';

const dirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ghostdns-spool-test-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function event(n: number, extra: Partial<QueryEvent> = {}): QueryEvent {
  return {
    event_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, node_id: 'edge-1', pop: 'test', source: 'RESOLVER_EDGE',
    message_type: 'CLIENT_RESPONSE', query_time_us: 1_700_000_000_000_000 + n, response_time_us: 1_700_000_000_000_100 + n,
    client_ip: '127.0.0.1', client_port: 40000, transport: 'UDP', qname: `q${n}.test`, qtype: 1, qclass: 1, rcode: 0,
    flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false }, answer_count: 1, response_size: 60,
    cache_status: 'MISS', upstream: '127.0.0.1:53', upstream_latency_us: 300, policy_action: 'PASS', device: null, query_wire: null, response_wire: null,
    ...extra,
  };
}

function record(payload: Buffer): Buffer {
  const h = Buffer.alloc(RECORD_HEADER_BYTES);
  h.writeUInt32BE(payload.length, 0);
  h.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([h, payload]);
}

function segmentFile(version: number, payloads: Buffer[]): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(h);
  h.writeUInt32BE(version, SEGMENT_MAGIC.length);
  return Buffer.concat([h, ...payloads.map(record)]);
}

function segments(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.seg')).sort() : [];
}

async function drain(spool: DiskSpool): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    await spool.flushed();
    const chunk = await spool.read(3);
    if (chunk === null) return out;
    out.push(...chunk.payloads.map((p) => p.toString()));
    await spool.commit(chunk);
  }
}

/** A publisher the test switches between working, failing and hanging. */
class ScriptedPublisher implements EventPublisher {
  mode: 'up' | 'fail' | 'hang' = 'up';
  readonly published: QueryEvent[] = [];
  attempts = 0;
  private readonly hung: (() => void)[] = [];

  async publish<K extends TopicName>(topic: K, values: readonly TopicPayloads[K][]): Promise<void> {
    this.attempts++;
    if (topic !== 'dns.queries.v1') throw new Error(`unexpected topic ${topic}`);
    if (this.mode === 'fail') throw new Error('bus unreachable');
    if (this.mode === 'hang') {
      await new Promise<void>((resolve) => this.hung.push(resolve));
      throw new Error('bus went away');
    }
    this.published.push(...(values as readonly QueryEvent[]));
  }

  /** Lets the hung publishes fail (as kafkajs eventually does). */
  releaseHung(): void {
    for (const r of this.hung.splice(0)) r();
  }

  ids(): string[] {
    return this.published.map((e) => e.event_id);
  }
}

const FAST = { lingerMs: 1, retryInitialMs: 5, retryMaxMs: 20, publishTimeoutMs: 200 } as const;

describe('DiskSpool', () => {
  it('appends records, reads them back in order and deletes published segments', async () => {
    const dir = join(scratch(), 'spool');
    const spool = new DiskSpool({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 5, formatVersion: 7, segmentBytes: 100 });
    await spool.open();
    expect(existsSync(dir)).toBe(false); // nothing spilled, nothing created
    for (let i = 0; i < 20; i++) expect(spool.enqueue(Buffer.from(`record-${i}`))).toBe(true);
    await spool.flushed();
    expect(spool.pendingRecords).toBe(20);
    expect(segments(dir).length).toBeGreaterThan(1); // rotated at 100 bytes
    const chunk = await spool.read(5);
    expect(chunk?.formatVersion).toBe(7);
    expect(await drain(spool)).toEqual(Array.from({ length: 20 }, (_, i) => `record-${i}`));
    expect(segments(dir)).toEqual([]);
    expect(spool.pendingRecords).toBe(0);
    expect(spool.depthBytes).toBe(0);
    await spool.close();
  });

  it('keeps unpublished records across a restart, and only those', async () => {
    const dir = scratch();
    const first = new DiskSpool({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 5, formatVersion: 1, segmentBytes: 64 });
    await first.open();
    for (let i = 0; i < 10; i++) first.enqueue(Buffer.from(`r${i}`));
    await first.flushed();
    // Publish the first segment's records only.
    const chunk = await first.read(100);
    expect(chunk).not.toBeNull();
    const firstBatch = chunk?.payloads.map(String) ?? [];
    if (chunk) await first.commit(chunk);
    await first.close();

    const second = new DiskSpool({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 5, formatVersion: 1, segmentBytes: 64 });
    await second.open();
    const rest = await drain(second);
    expect([...firstBatch, ...rest]).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    // New records after the recovered ones.
    second.enqueue(Buffer.from('after-restart'));
    expect(await drain(second)).toEqual(['after-restart']);
    await second.close();
  });

  const good = [Buffer.from('one'), Buffer.from('two')];
  const intact = segmentFile(1, good);
  const torn: [string, Buffer][] = [
    ['a record header cut short', Buffer.concat([intact, Buffer.from([0, 0, 0])])],
    ['a length running past the end', Buffer.concat([intact, record(Buffer.from('three')).subarray(0, 11)])],
    ['a CRC that does not match', Buffer.concat([intact, Buffer.from([0, 0, 0, 5, 1, 2, 3, 4]), Buffer.from('three')])],
    ['an absurd length', Buffer.concat([intact, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])])],
  ];
  it.each(torn)('truncates a torn tail (%s), keeps what came before, and counts it', async (_name, bytes) => {
    const dir = scratch();
    const path = join(dir, '000000000001.seg');
    writeFileSync(path, bytes);
    const truncated: number[] = [];
    const spool = new DiskSpool({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 5, formatVersion: 1, onTruncated: (_s, n) => truncated.push(n) });
    await spool.open();
    expect(truncated).toEqual([bytes.length - intact.length]);
    expect(statSync(path).size).toBe(intact.length);
    expect(spool.pendingRecords).toBe(2);
    // Appends go to a new segment after the recovered one, never after the torn bytes.
    spool.enqueue(Buffer.from('three'));
    expect(await drain(spool)).toEqual(['one', 'two', 'three']);
    await spool.close();
  });

  it('drops a segment torn while its header was written, and sets aside one that is not a segment', async () => {
    const dir = scratch();
    writeFileSync(join(dir, '000000000001.seg'), SEGMENT_MAGIC.subarray(0, 5));
    writeFileSync(join(dir, '000000000002.seg'), Buffer.from('definitely not a spool segment'));
    writeFileSync(join(dir, '000000000003.seg'), segmentFile(1, [Buffer.from('kept')]));
    let truncated = 0;
    const spool = new DiskSpool({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 5, formatVersion: 1, onTruncated: () => truncated++ });
    await spool.open();
    expect(truncated).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['000000000002.seg.bad', '000000000003.seg']);
    expect(await drain(spool)).toEqual(['kept']);
    await spool.close();
  });

  it('refuses records beyond maxBytes without blocking, and takes them again once space is freed', async () => {
    const dir = scratch();
    const payload = Buffer.alloc(100, 1);
    const spool = new DiskSpool({ dir, maxBytes: 1000, fsyncIntervalMs: 5, formatVersion: 1, segmentBytes: 500 });
    await spool.open();
    let accepted = 0;
    for (let i = 0; i < 20; i++) if (spool.enqueue(payload)) accepted++;
    // 12-byte segment headers come out of the same budget once written.
    expect(accepted).toBe(Math.floor(1000 / (RECORD_HEADER_BYTES + 100)));
    await spool.flushed();
    expect(spool.depthBytes).toBeLessThanOrEqual(1000 + 2 * SEGMENT_HEADER_BYTES);
    await drain(spool);
    expect(spool.enqueue(payload)).toBe(true);
    await spool.close();
  });

  it('refuses everything before open() and after close()', async () => {
    const spool = new DiskSpool({ dir: scratch(), maxBytes: 1 << 20, fsyncIntervalMs: 5, formatVersion: 1 });
    expect(spool.enqueue(Buffer.from('x'))).toBe(false);
    await spool.open();
    await spool.close();
    expect(spool.enqueue(Buffer.from('x'))).toBe(false);
    expect(await spool.read(1)).toBeNull();
  });

  it('reports a write failure (directory cannot be created) as lost records', async () => {
    const dir = join(scratch(), 'spool');
    let lost = 0;
    const spool = new DiskSpool({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 5, formatVersion: 1, onWriteFailed: (n) => (lost += n) });
    await spool.open();
    writeFileSync(dir, 'a file where the spool directory should be');
    expect(spool.enqueue(Buffer.from('a'))).toBe(true);
    expect(spool.enqueue(Buffer.from('b'))).toBe(true);
    await spool.flushed();
    expect(lost).toBe(2);
    expect(spool.pendingRecords).toBe(0);
    expect(spool.depthBytes).toBe(0);
    await spool.close();
  });

  it('scanRecords stops at the first bad record and at maxRecords', () => {
    const data = Buffer.concat([record(Buffer.from('a')), record(Buffer.from('bb')), Buffer.from([0, 0, 0, 1, 9, 9, 9, 9, 0x41])]);
    expect(scanRecords(data, 0, data.length, 10).records.map(String)).toEqual(['a', 'bb']);
    expect(scanRecords(data, 0, data.length, 1)).toEqual({ records: [Buffer.from('a')], end: RECORD_HEADER_BYTES + 1 });
  });
});

describe('QueryEventSpoolCodec', () => {
  it('round-trips an event through the contracts Avro schema, wire bytes included', () => {
    const codec = new QueryEventSpoolCodec();
    const e = event(1, { query_wire: Buffer.from([1, 2, 3]), rcode: null, upstream: null, upstream_latency_us: null, transport: 'TCP' });
    const bytes = codec.encode(e);
    expect(bytes.length).toBeLessThan(JSON.stringify(e).length);
    expect(codec.decode(bytes, codec.version)).toEqual(e);
  });

  it('refuses a segment written with a schema version it does not know', () => {
    const codec = new QueryEventSpoolCodec();
    expect(() => codec.decode(codec.encode(event(1)), 9999)).toThrow(/unknown QueryEvent schema v9999/);
  });

  it('refuses an event that does not fit the schema', () => {
    const codec = new QueryEventSpoolCodec();
    expect(() => codec.encode({ ...event(1), qtype: 'A' } as unknown as QueryEvent)).toThrow();
  });
});

describe('SpoolingSink', () => {
  it('publishes straight from memory while the bus is up and writes nothing to disk', async () => {
    const dir = join(scratch(), 'spool');
    const publisher = new ScriptedPublisher();
    const metrics = new RecordingMetrics();
    const sink = new SpoolingSink({ publisher, spool: { dir, maxBytes: 1 << 20, fsyncIntervalMs: 5 }, metrics, ...FAST });
    await sink.ready();
    for (let i = 0; i < 50; i++) sink.offer(event(i));
    await waitFor(() => publisher.published.length === 50, 5000, 'published');
    expect(publisher.ids()).toEqual(Array.from({ length: 50 }, (_, i) => event(i).event_id));
    expect(existsSync(dir)).toBe(false);
    expect(metrics.count('spool_written')).toBe(0);
    await sink.close(1000);
  });

  it('spools while publishing fails, then replays everything in order and deletes the segments', async () => {
    const dir = scratch();
    const publisher = new ScriptedPublisher();
    publisher.mode = 'fail';
    const metrics = new RecordingMetrics();
    const sink = new SpoolingSink({ publisher, spool: { dir, maxBytes: 1 << 20, fsyncIntervalMs: 5, segmentBytes: 2048 }, metrics, batchSize: 20, ...FAST });
    await sink.ready();
    for (let i = 0; i < 100; i++) sink.offer(event(i));
    await waitFor(() => sink.busDown && metrics.count('spool_written') === 100, 5000, 'all spilled');
    for (let i = 100; i < 200; i++) sink.offer(event(i)); // keep answering during the outage
    await waitFor(() => metrics.count('spool_written') === 200, 5000, 'all spilled');
    await waitFor(() => segments(dir).length > 1, 5000, 'segments on disk');
    expect(sink.depth).toBe(200);
    expect(metrics.spoolBytes).toBeGreaterThan(0);

    publisher.mode = 'up';
    for (let i = 200; i < 220; i++) sink.offer(event(i)); // arrive while the backlog replays
    await waitFor(() => new Set(publisher.ids()).size === 220, 10_000, 'all published');
    expect(dedupeInOrder(publisher.ids())).toEqual(Array.from({ length: 220 }, (_, i) => event(i).event_id));
    // The gauge is set once the deletion has finished (the file may vanish a moment before).
    await waitFor(() => sink.depth === 0 && segments(dir).length === 0 && metrics.spoolBytes === 0, 5000, 'spool emptied');
    expect(metrics.count('spool_replayed')).toBeGreaterThanOrEqual(200);
    expect(metrics.count('spool_dropped')).toBe(0);
    expect(metrics.count('events_dropped')).toBe(0);
    expect([sink.spoolBytes, metrics.spoolBytes]).toEqual([0, 0]);
    await sink.close(1000);
  });

  it('treats a publish that never settles as an outage: offer never waits, events spill', async () => {
    const dir = scratch();
    const publisher = new ScriptedPublisher();
    publisher.mode = 'hang';
    const metrics = new RecordingMetrics();
    const sink = new SpoolingSink({ publisher, spool: { dir, maxBytes: 1 << 20, fsyncIntervalMs: 5 }, metrics, ...FAST, publishTimeoutMs: 30 });
    await sink.ready();
    for (let i = 0; i < 30; i++) sink.offer(event(i));
    await waitFor(() => sink.busDown && metrics.count('spool_written') === 30, 5000, 'spilled after the timeout');
    // Only one publish is outstanding at a time: retries wait for the hung one.
    const attempts = publisher.attempts;
    await waitFor(() => metrics.count('spool_written') === 30 && sink.depth === 30, 1000, 'stable');
    expect(publisher.attempts).toBe(attempts);
    publisher.mode = 'up';
    publisher.releaseHung();
    await waitFor(() => new Set(publisher.ids()).size === 30 && sink.depth === 0, 5000, 'replayed');
    expect(dedupeInOrder(publisher.ids())).toEqual(Array.from({ length: 30 }, (_, i) => event(i).event_id));
    await sink.close(1000);
  });

  it('moves the oldest events to disk above the high-water mark, keeping the order', async () => {
    const dir = scratch();
    const publisher = new ScriptedPublisher();
    publisher.mode = 'hang';
    const metrics = new RecordingMetrics();
    // Long publish timeout: the bus is slow, not down; only the high-water mark makes events spill.
    const sink = new SpoolingSink({ publisher, spool: { dir, maxBytes: 1 << 20, fsyncIntervalMs: 5 }, metrics, capacity: 100, highWater: 40, batchSize: 10, ...FAST, publishTimeoutMs: 60_000 });
    await sink.ready();
    for (let i = 0; i < 90; i++) sink.offer(event(i));
    await waitFor(() => metrics.count('spool_written') >= 50, 5000, 'spilled above high water');
    expect(sink.busDown).toBe(false);
    expect(metrics.count('events_dropped')).toBe(0);
    publisher.mode = 'up';
    publisher.releaseHung();
    await waitFor(() => new Set(publisher.ids()).size === 90 && sink.depth === 0, 5000, 'all published');
    expect(dedupeInOrder(publisher.ids())).toEqual(Array.from({ length: 90 }, (_, i) => event(i).event_id));
    await sink.close(1000);
  });

  it('counts events beyond spool.maxBytes as spool drops and never blocks', async () => {
    const dir = scratch();
    const publisher = new ScriptedPublisher();
    publisher.mode = 'fail';
    const metrics = new RecordingMetrics();
    const sink = new SpoolingSink({ publisher, spool: { dir, maxBytes: 2000, fsyncIntervalMs: 5 }, metrics, ...FAST });
    await sink.ready();
    for (let i = 0; i < 100; i++) sink.offer(event(i));
    await waitFor(() => metrics.count('spool_written') + metrics.count('spool_dropped') === 100, 5000, 'spilled or dropped');
    expect(metrics.count('spool_dropped')).toBeGreaterThan(0);
    expect(metrics.count('spool_written')).toBeGreaterThan(0);
    publisher.mode = 'up';
    const kept = metrics.count('spool_written');
    await waitFor(() => publisher.published.length >= kept && sink.depth === 0, 5000, 'kept ones published');
    // What was kept is the oldest, in order.
    expect(dedupeInOrder(publisher.ids())).toEqual(Array.from({ length: kept }, (_, i) => event(i).event_id));
    await sink.close(1000);
  });

  it('survives a restart: events spooled by one run are published first by the next', async () => {
    const dir = scratch();
    const down = new ScriptedPublisher();
    down.mode = 'fail';
    const metrics = new RecordingMetrics();
    const first = new SpoolingSink({ publisher: down, spool: { dir, maxBytes: 1 << 20, fsyncIntervalMs: 5 }, metrics, ...FAST });
    await first.ready();
    for (let i = 0; i < 40; i++) first.offer(event(i));
    await waitFor(() => first.busDown, 5000, 'outage noticed');
    for (let i = 40; i < 50; i++) first.offer(event(i));
    await first.close(50); // bus down: the rest goes to disk at once, nothing dropped
    expect(metrics.count('events_dropped')).toBe(0);
    expect(segments(dir).length).toBeGreaterThan(0);

    const up = new ScriptedPublisher();
    const second = new SpoolingSink({ publisher: up, spool: { dir, maxBytes: 1 << 20, fsyncIntervalMs: 5 }, metrics, ...FAST });
    second.offer(event(50)); // offered before the old segments were even found
    await second.ready();
    await waitFor(() => new Set(up.ids()).size === 51 && second.depth === 0, 5000, 'replayed after restart');
    expect(dedupeInOrder(up.ids())).toEqual(Array.from({ length: 51 }, (_, i) => event(i).event_id));
    expect(segments(dir)).toEqual([]);
    await second.close(1000);
  });

  it('replays segments with a torn tail up to the tear and counts the truncation', async () => {
    const dir = scratch();
    const codec = new QueryEventSpoolCodec();
    const file = join(dir, '000000000001.seg');
    writeFileSync(file, segmentFile(codec.version, [codec.encode(event(1)), codec.encode(event(2))]));
    appendFileSync(file, record(codec.encode(event(3))).subarray(0, 20)); // crash mid-write
    const publisher = new ScriptedPublisher();
    const metrics = new RecordingMetrics();
    const sink = new SpoolingSink({ publisher, spool: { dir, maxBytes: 1 << 20, fsyncIntervalMs: 5 }, metrics, ...FAST });
    await sink.ready();
    await waitFor(() => publisher.published.length === 2 && sink.depth === 0, 5000, 'replayed');
    expect(publisher.ids()).toEqual([event(1).event_id, event(2).event_id]);
    expect(metrics.count('spool_truncated')).toBe(1);
    await sink.close(1000);
  });

  it('drops undecodable records (counted) and replays the rest', async () => {
    const dir = scratch();
    const codec = new QueryEventSpoolCodec();
    writeFileSync(join(dir, '000000000001.seg'), segmentFile(codec.version, [codec.encode(event(1)), Buffer.from([0xff, 0xff]), codec.encode(event(2))]));
    const publisher = new ScriptedPublisher();
    const metrics = new RecordingMetrics();
    const sink = new SpoolingSink({ publisher, spool: { dir, maxBytes: 1 << 20, fsyncIntervalMs: 5 }, metrics, ...FAST });
    await waitFor(() => publisher.published.length === 2 && sink.depth === 0, 5000, 'replayed');
    expect(metrics.count('spool_dropped')).toBe(1);
    await sink.close(1000);
  });

  it('without a usable spool it behaves as a bounded memory queue (drop oldest, counted)', async () => {
    const file = join(scratch(), 'file');
    writeFileSync(file, 'x');
    const publisher = new ScriptedPublisher();
    publisher.mode = 'fail';
    const metrics = new RecordingMetrics();
    // readdir on a file fails with ENOTDIR: the spool is unusable.
    const sink = new SpoolingSink({ publisher, spool: { dir: file, maxBytes: 1 << 20, fsyncIntervalMs: 5 }, metrics, capacity: 10, ...FAST });
    expect(await sink.ready()).toBe(false);
    for (let i = 0; i < 15; i++) sink.offer(event(i));
    expect(metrics.count('events_dropped')).toBe(5);
    publisher.mode = 'up';
    await waitFor(() => publisher.published.length === 10, 5000, 'published');
    expect(publisher.ids()).toEqual(Array.from({ length: 10 }, (_, i) => event(i + 5).event_id));
    await sink.close(1000);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('close() publishes what is in memory when the bus is up, and drops nothing', async () => {
    const publisher = new ScriptedPublisher();
    const metrics = new RecordingMetrics();
    const sink = new SpoolingSink({ publisher, spool: { dir: scratch(), maxBytes: 1 << 20, fsyncIntervalMs: 5 }, metrics, lingerMs: 60_000 });
    await sink.ready();
    for (let i = 0; i < 5; i++) sink.offer(event(i));
    await sink.close(5000);
    expect(publisher.published).toHaveLength(5);
    sink.offer(event(99)); // after close: dropped and counted, never thrown
    expect(metrics.count('events_dropped')).toBe(1);
  });
});

/** First occurrence of each id, in order (at-least-once may repeat a batch). */
function dedupeInOrder(ids: string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => (seen.has(id) ? false : (seen.add(id), true)));
}
