import { beforeEach, describe, expect, it } from 'vitest';
import type { EventPublisher } from '@ghostdns/bus';
import type { RecordChangeEvent, TopicName, TopicPayloads } from '@ghostdns/contracts';
import { RecordsService, type RecordsInstruments } from '../src/records/records.service.js';
import { MemoryRecordsStore } from './support/memory-store.js';

class FakeBus implements EventPublisher {
  readonly events: RecordChangeEvent[] = [];
  failWith: Error | null = null;
  async publish<K extends TopicName>(topic: K, values: readonly TopicPayloads[K][]): Promise<void> {
    if (this.failWith !== null) throw this.failWith;
    expect(topic).toBe('records.changes.v1');
    this.events.push(...(values as readonly RecordChangeEvent[]));
  }
}

const ctx = { actor: 'token:test:1', clientIp: '127.0.0.1' };
let store: MemoryRecordsStore;
let bus: FakeBus;
let counted: string[];
let service: RecordsService;

beforeEach(() => {
  store = new MemoryRecordsStore();
  bus = new FakeBus();
  counted = [];
  const instruments: RecordsInstruments = { change: (op, type) => void counted.push(`${op} ${type}`), publishFailed: () => void counted.push('failed') };
  service = new RecordsService(store, bus, instruments, () => new Date('2024-05-01T00:00:00Z'));
});

describe('RecordsService.post', () => {
  it('creates an RRset (201), publishes its full state, audits who did it', async () => {
    const result = await service.post({ action: 'register', domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.1', ttl: 60 }, ctx);
    expect(result.status).toBe(201);
    expect(result.record).toMatchObject({ name: 'svc.example.ts.net', domain: 'svc.example.ts.net', ttl: 60, values: ['100.64.0.1'], created_by: ctx.actor });
    expect(bus.events).toEqual([
      expect.objectContaining({ op: 'UPSERT', record_id: result.record?.id, name: 'svc.example.ts.net', type: 'A', ttl: 60, values: ['100.64.0.1'], actor: ctx.actor, changed_at_us: Date.parse('2024-05-01T00:00:00Z') * 1000 }),
    ]);
    expect(store.audits).toEqual([expect.objectContaining({ actor: ctx.actor, action: 'record.create', target: result.record?.id, clientIp: '127.0.0.1' })]);
    expect(counted).toEqual(['UPSERT A']);
  });

  it('adds a value to the RRset (round robin), keeps the TTL when none is given, is idempotent', async () => {
    await service.post({ domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.1', ttl: 60 }, ctx);
    const second = await service.post({ domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.2' }, ctx);
    expect(second).toMatchObject({ status: 200, record: { ttl: 60, values: ['100.64.0.1', '100.64.0.2'] } });
    const again = await service.post({ domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.2' }, ctx);
    expect(again.status).toBe(200);
    expect(bus.events.map((e) => e.values)).toEqual([['100.64.0.1'], ['100.64.0.1', '100.64.0.2']]);
    expect(store.audits.map((a) => a.action)).toEqual(['record.create', 'record.register']);
  });

  it('deregister removes values, and the RRset with its last value (DELETE event)', async () => {
    await service.post({ domain: 'svc.example.ts.net', type: 'A', values: ['100.64.0.1', '100.64.0.2'] }, ctx);
    expect((await service.post({ action: 'deregister', domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.1' }, ctx)).record?.values).toEqual(['100.64.0.2']);
    expect(await service.post({ action: 'deregister', domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.2' }, ctx)).toEqual({ status: 200, record: null });
    expect(bus.events.at(-1)).toMatchObject({ op: 'DELETE', values: [] });
    expect(store.rows.size).toBe(0);
    await expect(service.post({ action: 'deregister', domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.2' }, ctx)).rejects.toMatchObject({ status: 404 });
  });

  it.each([
    ['a CNAME beside an A', { type: 'A', value: '192.0.2.1' }, { type: 'CNAME', value: 'x.example.com' }],
    ['an A beside a CNAME', { type: 'CNAME', value: 'x.example.com' }, { type: 'A', value: '192.0.2.1' }],
    ['a TXT beside a CNAME', { type: 'CNAME', value: 'x.example.com' }, { type: 'TXT', value: 'hi' }],
    ['a second CNAME target', { type: 'CNAME', value: 'x.example.com' }, { type: 'CNAME', value: 'y.example.com' }],
  ])('409 for %s; nothing stored or published', async (_label, first, second) => {
    await service.post({ domain: 'n.example.com', ...first }, ctx);
    const before = bus.events.length;
    await expect(service.post({ domain: 'n.example.com', ...second }, ctx)).rejects.toMatchObject({ status: 409, code: 'GHOSTDNS_API_ZONE_CONFLICT' });
    expect(bus.events).toHaveLength(before);
    expect(store.rows.size).toBe(1);
  });

  it('rolls the write back (503) when the change cannot be published', async () => {
    bus.failWith = new Error('broker down at 10.0.0.1');
    const error = await service.post({ domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.1' }, ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'GHOSTDNS_API_RECORDS_UNAVAILABLE' });
    expect((error as Error).message).not.toContain('10.0.0.1');
    expect(store.rows.size).toBe(0);
    expect(store.audits).toHaveLength(0);
    expect(counted).toEqual(['failed']);
  });

  it('503 without the cause when the store fails', async () => {
    store.failWith = new Error('password authentication failed');
    const error = await service.post({ domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.1' }, ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, message: 'records are unavailable' });
  });
});

describe('RecordsService get/put/delete/list/snapshot', () => {
  it('PUT replaces values and TTL, validating against the stored type', async () => {
    const { record } = await service.post({ domain: 'svc.example.ts.net', type: 'AAAA', value: '2001:db8::1' }, ctx);
    const id = record?.id ?? '';
    expect(await service.put(id, { values: ['2001:DB8::2'], ttl: 120 }, ctx)).toMatchObject({ ttl: 120, values: ['2001:db8::2'] });
    await expect(service.put(id, { values: ['192.0.2.1'] }, ctx)).rejects.toMatchObject({ status: 400, message: expect.stringContaining("'values.0'") as unknown });
    await expect(service.put(id, { type: 'A', values: ['192.0.2.1'] }, ctx)).rejects.toMatchObject({ status: 400, message: expect.stringContaining("'type'") as unknown });
    await expect(service.put(id, { domain: 'other.example.com', values: ['2001:db8::3'] }, ctx)).rejects.toMatchObject({ status: 400 });
    await expect(service.put(id, { ttl: 5 }, ctx)).rejects.toMatchObject({ status: 400, message: expect.stringContaining("'value'") as unknown });
    await expect(service.put('00000000-0000-0000-0000-000000000000', { value: '2001:db8::1' }, ctx)).rejects.toMatchObject({ status: 404 });
    expect(store.audits.map((a) => a.action)).toEqual(['record.create', 'record.update']);
  });

  it('DELETE removes, publishes DELETE for that type, 404 after', async () => {
    const { record } = await service.post({ domain: 'svc.example.ts.net', type: 'TXT', value: 'x' }, ctx);
    const id = record?.id ?? '';
    await service.delete(id, ctx);
    expect(bus.events.at(-1)).toMatchObject({ op: 'DELETE', type: 'TXT', name: 'svc.example.ts.net', record_id: id });
    await expect(service.get(id)).rejects.toMatchObject({ status: 404, code: 'GHOSTDNS_API_RECORD_NOT_FOUND' });
    await expect(service.delete(id, ctx)).rejects.toMatchObject({ status: 404 });
  });

  it('lists with a next page only when more rows exist', async () => {
    for (const n of ['a', 'b', 'c']) await service.post({ domain: `${n}.example.com`, type: 'A', value: '192.0.2.1' }, ctx);
    const first = await service.list({ limit: '2' });
    expect(first.records.map((r) => r.name)).toEqual(['a.example.com', 'b.example.com']);
    expect(first.next).toEqual({ limit: 2, offset: 2 });
    const last = await service.list({ limit: '2', offset: '2' });
    expect(last.records.map((r) => r.name)).toEqual(['c.example.com']);
    expect(last.next).toBeNull();
  });

  it('publishes a snapshot of every RRset as UPSERTs', async () => {
    await service.post({ domain: 'a.example.com', type: 'A', value: '192.0.2.1' }, ctx);
    await service.post({ domain: 'a.example.com', type: 'TXT', value: 'x' }, ctx);
    bus.events.length = 0;
    expect(await service.publishSnapshot()).toBe(2);
    expect(bus.events.map((e) => `${e.op} ${e.type} ${e.actor}`).sort()).toEqual(['UPSERT A system:snapshot', 'UPSERT TXT system:snapshot']);
  });
});

describe('RecordsService with health checks (metadata.health_check)', () => {
  const register = (values: string[]) =>
    service.post({ domain: 'grafana.company.ts.net', type: 'A', values, metadata: { service: 'grafana', health_check: '/api/health', port: 3000 } }, ctx);
  const failTwice = (value: string): void => {
    const target = service.health.targets([...store.rows.values()]).find((t) => t.value === value);
    if (target === undefined) throw new Error(`no probe target for ${value}`);
    service.health.observe(target, false);
    service.health.observe(target, false);
  };

  it('refuses a health check it cannot probe, naming the field', async () => {
    await expect(service.post({ domain: 'x.ts.net', type: 'A', value: '100.64.0.1', metadata: { health_check: 'health' } }, ctx))
      .rejects.toMatchObject({ status: 400, message: expect.stringContaining('metadata.health_check') as unknown });
  });

  it('publishes the healthy values only, shows the withheld ones, and withdraws the RRset while none is healthy', async () => {
    const created = await register(['100.64.0.1', '100.64.0.2']);
    failTwice('100.64.0.2');
    await service.publishHealth(['grafana.company.ts.net']);
    expect(bus.events.at(-1)).toMatchObject({ op: 'UPSERT', values: ['100.64.0.1'], actor: 'system:health-check' });
    expect(await service.get(created.record?.id ?? '')).toMatchObject({ values: ['100.64.0.1', '100.64.0.2'], unhealthy_values: ['100.64.0.2'] });
    // A write of the same name keeps the verdicts: the withheld value stays out.
    await service.post({ domain: 'grafana.company.ts.net', type: 'A', value: '100.64.0.3' }, ctx);
    expect(bus.events.at(-1)).toMatchObject({ op: 'UPSERT', values: ['100.64.0.1', '100.64.0.3'] });
    failTwice('100.64.0.1');
    failTwice('100.64.0.3');
    await service.publishHealth(['grafana.company.ts.net']);
    expect(bus.events.at(-1)).toMatchObject({ op: 'DELETE', values: [] });
    expect(store.rows.size).toBe(1);
  });
});

describe('RecordsService when COMMIT fails after the event was published', () => {
  it('publishes the committed state again: the new RRset is deleted, a changed one restored', async () => {
    const created = await service.post({ domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.1', ttl: 60 }, ctx);
    store.failCommitWith = new Error('connection lost during COMMIT');
    await expect(service.post({ domain: 'svc.example.ts.net', type: 'A', value: '100.64.0.2' }, ctx)).rejects.toMatchObject({ status: 503 });
    await expect(service.post({ domain: 'new.example.ts.net', type: 'TXT', value: 'x' }, ctx)).rejects.toMatchObject({ status: 503 });
    expect(bus.events.slice(1).map((e) => [e.name, e.op, e.values, e.actor])).toEqual([
      ['svc.example.ts.net', 'UPSERT', ['100.64.0.1', '100.64.0.2'], ctx.actor],
      ['svc.example.ts.net', 'UPSERT', ['100.64.0.1'], 'system:rollback'],
      ['new.example.ts.net', 'UPSERT', ['x'], ctx.actor],
      ['new.example.ts.net', 'DELETE', [], 'system:rollback'],
    ]);
    expect(bus.events.at(-1)?.record_id).toBe(bus.events.at(-2)?.record_id);
    expect(await service.get(created.record?.id ?? '')).toMatchObject({ values: ['100.64.0.1'] });
  });
});
