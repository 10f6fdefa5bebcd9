import { beforeEach, describe, expect, it } from 'vitest';
import type { EventPublisher } from '@ghostdns/bus';
import type { PolicyChangeEvent, TopicName, TopicPayloads } from '@ghostdns/contracts';
import { ApiError } from '../src/errors.js';
import type { BlocklistsStore, BlocklistsTx, EntryRow, KeyPage, ListRow } from '../src/blocklists/blocklists.repository.js';
import { BlocklistsService, type BlocklistsInstruments } from '../src/blocklists/blocklists.service.js';
import { parseEntryPost, parseListPost, parseListPut } from '../src/blocklists/validation.js';
import type { AuditEntry } from '../src/storage/audit-log.js';
import { apiError } from './support/stubs.js';

function problem(fn: () => unknown): { status: number; code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('did not throw');
}

describe('parseListPost', () => {
  it('defaults format to auto and enabled to true; stores URLs in their normalised form', () => {
    expect(parseListPost({ kind: 'block', source: ' HTTPS://Lists.Example.NET/hosts.txt?x=1 ' })).toEqual({
      kind: 'block', source: 'https://lists.example.net/hosts.txt?x=1', format: 'auto', enabled: true,
    });
    expect(parseListPost({ kind: 'allow', source: '/etc/ghostdns/allow.txt', format: 'plain', enabled: false })).toEqual({
      kind: 'allow', source: '/etc/ghostdns/allow.txt', format: 'plain', enabled: false,
    });
  });

  it('reads a JSON body that arrived as text', () => {
    expect(parseListPost('{"kind":"block","source":"http://x.example/l"}').source).toBe('http://x.example/l');
  });

  it.each([
    ['not JSON', '{nope', 'request body'],
    ['no kind', { source: 'http://x.example/l' }, "'kind'"],
    ['an unknown kind', { kind: 'deny', source: 'http://x.example/l' }, "'kind' must be one of block, allow"],
    ['no source', { kind: 'block' }, "'source' is required"],
    ['a source that is not a string', { kind: 'block', source: 7 }, "'source'"],
    ['an ftp URL', { kind: 'block', source: 'ftp://x.example/l' }, "'source' must be an http(s) URL or an absolute file path"],
    ['a file: URL', { kind: 'block', source: 'file:///etc/hosts' }, "'source' must be an http(s) URL or an absolute file path"],
    ['a relative path', { kind: 'block', source: 'lists/hosts.txt' }, "'source' must be an http(s) URL or an absolute file path"],
    ['a path with ..', { kind: 'block', source: '/etc/ghostdns/../shadow' }, "'source' must be a normalised absolute path"],
    ['a path with //', { kind: 'block', source: '/etc//hosts' }, "'source' must be a normalised absolute path"],
    ['a control character', { kind: 'block', source: '/etc/ho\nsts' }, "'source' must not contain control characters"],
    ['a source too long', { kind: 'block', source: `http://x.example/${'a'.repeat(2100)}` }, "'source' must be at most 2048 characters"],
    ['an unknown format', { kind: 'block', source: 'http://x.example/l', format: 'rpz' }, "'format' must be one of auto, hosts, adblock, plain"],
    ['enabled not a boolean', { kind: 'block', source: 'http://x.example/l', enabled: 'yes' }, "'enabled'"],
    ['an unknown field', { kind: 'block', source: 'http://x.example/l', name: 'x' }, "'name' is not supported"],
  ])('400 naming the field for %s', (_label, body, field) => {
    const p = problem(() => parseListPost(body));
    expect(p).toMatchObject({ status: 400, code: 'GHOSTDNS_API_INVALID_BODY' });
    expect(p.message).toContain(field);
  });
});

describe('parseListPut', () => {
  it('returns only the fields given', () => {
    expect(parseListPut({})).toEqual({});
    expect(parseListPut({ enabled: false })).toEqual({ enabled: false });
    expect(parseListPut({ source: 'http://X.example/a', format: 'hosts', kind: 'allow' })).toEqual({ source: 'http://x.example/a', format: 'hosts', kind: 'allow' });
  });

  it.each([
    ['a bad source', { source: 'hosts.txt' }, "'source'"],
    ['a bad kind', { kind: 'BLOCK' }, "'kind'"],
    ['a bad format', { format: 'csv' }, "'format'"],
    ['an id', { id: 'x' }, "'id' is not supported"],
  ])('400 naming the field for %s', (_label, body, field) => {
    expect(problem(() => parseListPut(body)).message).toContain(field);
  });
});

describe('parseEntryPost', () => {
  it.each([
    ['Ads.Example.COM.', 'ads.example.com'],
    ['*.tracker.example', 'tracker.example'],
    ['.metrics.example', 'metrics.example'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['zip', 'zip'],
    ['_dmarc.example.com', '_dmarc.example.com'],
  ])('normalises %j to %j', (domain, expected) => {
    expect(parseEntryPost({ kind: 'block', domain }).domain).toBe(expected);
  });

  it('trims the comment; an empty one is null', () => {
    expect(parseEntryPost({ kind: 'allow', domain: 'a.example', comment: '  the bank  ' })).toEqual({ kind: 'allow', domain: 'a.example', comment: 'the bank' });
    expect(parseEntryPost({ kind: 'allow', domain: 'a.example', comment: ' ' }).comment).toBeNull();
    expect(parseEntryPost({ kind: 'allow', domain: 'a.example', comment: null }).comment).toBeNull();
  });

  it.each([
    ['no kind', { domain: 'a.example' }, "'kind'"],
    ['no domain', { kind: 'block' }, "'domain' is required"],
    ['an address', { kind: 'block', domain: '10.0.0.1' }, "'domain' must be a domain name"],
    ['an empty label', { kind: 'block', domain: 'a..example' }, "'domain' must be a domain name"],
    ['a space', { kind: 'block', domain: 'a b.example' }, "'domain' must be a domain name"],
    ['a wildcard inside', { kind: 'block', domain: 'ads*.example' }, "'domain' must be a domain name"],
    ['a label of 64', { kind: 'block', domain: `${'a'.repeat(64)}.example` }, "'domain' must be a domain name"],
    ['a domain that is not a string', { kind: 'block', domain: ['a.example'] }, "'domain'"],
    ['a comment too long', { kind: 'block', domain: 'a.example', comment: 'x'.repeat(501) }, "'comment'"],
    ['a comment with a control character', { kind: 'block', domain: 'a.example', comment: 'a\u0007b' }, "'comment' must not contain control characters"],
    ['an unknown field', { kind: 'block', domain: 'a.example', ttl: 5 }, "'ttl' is not supported"],
  ])('400 naming the field for %s', (_label, body, field) => {
    const p = problem(() => parseEntryPost(body));
    expect(p).toMatchObject({ status: 400, code: 'GHOSTDNS_API_INVALID_BODY' });
    expect(p.message).toContain(field);
  });
});

/** One page in (kind, key) order, as the SQL pages. */
function pageRows<R extends { kind: string }>(rows: readonly R[], page: KeyPage, key: (row: R) => string): R[] {
  const position = (row: R): string => `${row.kind}\u0000${key(row)}`;
  const after = page.after === null ? null : `${page.after[0]}\u0000${page.after[1]}`;
  return rows
    .filter((r) => (page.kind === undefined || r.kind === page.kind) && (after === null || position(r) > after))
    .sort((a, b) => (position(a) < position(b) ? -1 : 1))
    .slice(0, page.limit);
}

/** BlocklistsStore in memory: a transaction works on copies that replace the rows on commit; (kind, key) is unique as in SQL. */
class MemoryBlocklistsStore implements BlocklistsStore {
  listRows = new Map<string, ListRow>();
  entryRows = new Map<string, EntryRow>();
  audits: AuditEntry[] = [];
  failWith: Error | null = null;
  private clock = 0;

  private stamp(): Date {
    return new Date(Date.UTC(2024, 0, 1) + ++this.clock * 1000);
  }

  async transaction<T>(fn: (tx: BlocklistsTx) => Promise<T>): Promise<T> {
    if (this.failWith !== null) throw this.failWith;
    const lists = new Map(this.listRows);
    const entries = new Map(this.entryRows);
    const audits: AuditEntry[] = [];
    const listTaken = (kind: string, source: string, id: string): boolean => [...lists.values()].some((l) => l.kind === kind && l.source === source && l.id !== id);
    const tx: BlocklistsTx = {
      list: async (id) => lists.get(id) ?? null,
      insertList: async (row) => {
        if (listTaken(row.kind, row.source, row.id)) return null;
        const at = this.stamp();
        const stored: ListRow = { ...row, createdAt: at, updatedAt: at, updatedBy: row.createdBy };
        lists.set(row.id, stored);
        return stored;
      },
      updateList: async (id, values, updatedBy) => {
        const old = lists.get(id);
        if (old === undefined || listTaken(values.kind, values.source, id)) return null;
        const stored: ListRow = { ...old, ...values, updatedBy, updatedAt: this.stamp() };
        lists.set(id, stored);
        return stored;
      },
      deleteList: async (id) => void lists.delete(id),
      entry: async (id) => entries.get(id) ?? null,
      insertEntry: async (row) => {
        if ([...entries.values()].some((e) => e.kind === row.kind && e.domain === row.domain)) return null;
        const stored: EntryRow = { ...row, createdAt: this.stamp() };
        entries.set(row.id, stored);
        return stored;
      },
      deleteEntry: async (id) => void entries.delete(id),
      audit: async (entry) => void audits.push(entry),
    };
    const result = await fn(tx);
    this.listRows = lists;
    this.entryRows = entries;
    this.audits.push(...audits);
    return result;
  }

  async getList(id: string): Promise<ListRow | null> {
    if (this.failWith !== null) throw this.failWith;
    return this.listRows.get(id) ?? null;
  }

  async lists(page: KeyPage): Promise<ListRow[]> {
    if (this.failWith !== null) throw this.failWith;
    return pageRows([...this.listRows.values()], page, (r) => r.source);
  }

  async entries(page: KeyPage): Promise<EntryRow[]> {
    if (this.failWith !== null) throw this.failWith;
    return pageRows([...this.entryRows.values()], page, (r) => r.domain);
  }

  async allLists(): Promise<ListRow[]> {
    return [...this.listRows.values()];
  }

  async allEntries(): Promise<EntryRow[]> {
    return [...this.entryRows.values()];
  }
}

class FakeBus implements EventPublisher {
  readonly events: PolicyChangeEvent[] = [];
  readonly batches: number[] = [];
  failWith: Error | null = null;
  async publish<K extends TopicName>(topic: K, values: readonly TopicPayloads[K][]): Promise<void> {
    if (this.failWith !== null) throw this.failWith;
    expect(topic).toBe('policy.changes.v1');
    this.batches.push(values.length);
    this.events.push(...(values as readonly PolicyChangeEvent[]));
  }
}

const ctx = { actor: 'token:ops:1', clientIp: '192.0.2.9' };
const NOW = Date.parse('2024-05-01T00:00:00Z');
const URL_A = 'https://lists.example.net/a.txt';
let store: MemoryBlocklistsStore;
let bus: FakeBus;
let counted: string[];
let service: BlocklistsService;

beforeEach(() => {
  store = new MemoryBlocklistsStore();
  bus = new FakeBus();
  counted = [];
  const instruments: BlocklistsInstruments = { change: (entity, op) => void counted.push(`${entity} ${op}`), publishFailed: () => void counted.push('failed') };
  service = new BlocklistsService(store, bus, instruments, () => new Date(NOW));
});

describe('BlocklistsService: lists', () => {
  it('creates a list, publishes its whole state, audits who did it', async () => {
    const list = await service.createList({ kind: 'block', source: URL_A, format: 'hosts' }, ctx);
    expect(list).toMatchObject({ kind: 'block', source: URL_A, format: 'hosts', enabled: true, created_by: ctx.actor, updated_by: ctx.actor });
    expect(bus.events[0]?.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(bus.events).toEqual([{
      event_id: bus.events[0]?.event_id, op: 'UPSERT', entity: 'LIST', id: list.id, kind: 'BLOCK', source: URL_A, format: 'HOSTS', enabled: true, domain: null,
      changed_at_us: NOW * 1000, actor: ctx.actor,
    }]);
    expect(store.audits).toEqual([{ actor: ctx.actor, action: 'blocklist.create', target: list.id, details: { kind: 'block', source: URL_A, format: 'hosts', enabled: true }, clientIp: ctx.clientIp }]);
    expect(counted).toEqual(['LIST UPSERT']);
    expect(await service.getList(list.id)).toEqual(list);
  });

  it('409 for a second list of the same kind and source; the other kind may have it', async () => {
    await service.createList({ kind: 'block', source: URL_A }, ctx);
    const error = await apiError(service.createList({ kind: 'block', source: 'HTTPS://LISTS.example.net/a.txt' }, ctx));
    expect(error).toMatchObject({ status: 409, code: 'GHOSTDNS_API_BLOCKLIST_CONFLICT' });
    expect(bus.events).toHaveLength(1);
    await service.createList({ kind: 'allow', source: URL_A }, ctx);
    expect(store.listRows.size).toBe(2);
  });

  it('PUT keeps absent fields, publishes the new state; an unchanged PUT writes and publishes nothing', async () => {
    const list = await service.createList({ kind: 'block', source: URL_A }, ctx);
    const put = await service.putList(list.id, { enabled: false }, { ...ctx, actor: 'token:other:2' });
    expect(put).toMatchObject({ kind: 'block', source: URL_A, format: 'auto', enabled: false, created_by: ctx.actor, updated_by: 'token:other:2' });
    expect(bus.events.at(-1)).toMatchObject({ op: 'UPSERT', entity: 'LIST', id: list.id, enabled: false, format: 'AUTO', actor: 'token:other:2' });
    expect(store.audits.at(-1)).toMatchObject({
      action: 'blocklist.update',
      details: { kind: 'block', source: URL_A, format: 'auto', enabled: false, previous: { kind: 'block', source: URL_A, format: 'auto', enabled: true } },
    });
    expect(await service.putList(list.id, { enabled: false }, ctx)).toEqual(put);
    expect(bus.events).toHaveLength(2);
    expect(store.audits).toHaveLength(2);
  });

  it('PUT: 404 for an unknown id, 409 onto another list\'s source, 400 before anything is read', async () => {
    const a = await service.createList({ kind: 'block', source: URL_A }, ctx);
    await service.createList({ kind: 'block', source: '/srv/lists/b.txt' }, ctx);
    expect(await apiError(service.putList('6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f', { enabled: false }, ctx))).toMatchObject({ status: 404, code: 'GHOSTDNS_API_BLOCKLIST_NOT_FOUND' });
    expect(await apiError(service.putList(a.id, { source: '/srv/lists/b.txt' }, ctx))).toMatchObject({ status: 409, code: 'GHOSTDNS_API_BLOCKLIST_CONFLICT' });
    expect(await apiError(service.putList(a.id, { source: 'b.txt' }, ctx))).toMatchObject({ status: 400, code: 'GHOSTDNS_API_INVALID_BODY' });
    expect(bus.events).toHaveLength(2);
  });

  it('DELETE publishes a DELETE with the state it had and audits it; 404 after', async () => {
    const list = await service.createList({ kind: 'allow', source: '/srv/allow.txt', format: 'plain' }, ctx);
    await service.deleteList(list.id, ctx);
    expect(bus.events.at(-1)).toMatchObject({ op: 'DELETE', entity: 'LIST', id: list.id, kind: 'ALLOW', source: '/srv/allow.txt', format: 'PLAIN' });
    expect(store.audits.at(-1)).toMatchObject({ action: 'blocklist.delete', target: list.id, details: { previous: { kind: 'allow', source: '/srv/allow.txt' } } });
    expect(counted).toEqual(['LIST UPSERT', 'LIST DELETE']);
    expect(await apiError(service.deleteList(list.id, ctx))).toMatchObject({ status: 404 });
    expect(await apiError(service.getList(list.id))).toMatchObject({ status: 404, code: 'GHOSTDNS_API_BLOCKLIST_NOT_FOUND' });
  });

  it('rolls the write back (503) when the change cannot be published, without the cause in the message', async () => {
    bus.failWith = new Error('broker down at 10.0.0.1');
    const error = await apiError(service.createList({ kind: 'block', source: URL_A }, ctx));
    expect(error).toMatchObject({ status: 503, code: 'GHOSTDNS_API_BLOCKLISTS_UNAVAILABLE' });
    expect(error.message).not.toContain('10.0.0.1');
    expect(store.listRows.size).toBe(0);
    expect(store.audits).toEqual([]);
    expect(counted).toEqual(['failed']);
  });

  it('503 when storage fails', async () => {
    store.failWith = new Error('connection refused');
    expect(await apiError(service.lists({}))).toMatchObject({ status: 503, code: 'GHOSTDNS_API_BLOCKLISTS_UNAVAILABLE' });
    expect(await apiError(service.createList({ kind: 'block', source: URL_A }, ctx))).toMatchObject({ status: 503 });
  });
});

describe('BlocklistsService: entries', () => {
  it('creates an entry (normalised domain), publishes it, audits it; DELETE publishes the DELETE', async () => {
    const entry = await service.createEntry({ kind: 'block', domain: 'Ads.Example.COM.', comment: 'ads' }, ctx);
    expect(entry).toMatchObject({ kind: 'block', domain: 'ads.example.com', comment: 'ads', created_by: ctx.actor });
    expect(bus.events).toEqual([{
      event_id: bus.events[0]?.event_id, op: 'UPSERT', entity: 'ENTRY', id: entry.id, kind: 'BLOCK', source: null, format: null, enabled: null, domain: 'ads.example.com',
      changed_at_us: NOW * 1000, actor: ctx.actor,
    }]);
    expect(await apiError(service.createEntry({ kind: 'block', domain: 'ads.example.com' }, ctx))).toMatchObject({ status: 409, code: 'GHOSTDNS_API_BLOCKLIST_CONFLICT' });
    await service.createEntry({ kind: 'allow', domain: 'ads.example.com' }, ctx);

    await service.deleteEntry(entry.id, ctx);
    expect(bus.events.at(-1)).toMatchObject({ op: 'DELETE', entity: 'ENTRY', id: entry.id, kind: 'BLOCK', domain: 'ads.example.com' });
    expect(store.audits.map((a) => a.action)).toEqual(['blocklist_entry.create', 'blocklist_entry.create', 'blocklist_entry.delete']);
    expect(await apiError(service.deleteEntry(entry.id, ctx))).toMatchObject({ status: 404, code: 'GHOSTDNS_API_BLOCKLIST_ENTRY_NOT_FOUND' });
    expect(counted).toEqual(['ENTRY UPSERT', 'ENTRY UPSERT', 'ENTRY DELETE']);
  });

  it('pages in (kind, domain) order with a cursor, filtered by kind', async () => {
    for (const domain of ['c.example', 'a.example', 'b.example']) await service.createEntry({ kind: 'block', domain }, ctx);
    await service.createEntry({ kind: 'allow', domain: 'z.example' }, ctx);
    const first = await service.entries({ limit: '2' });
    expect(first.items.map((e) => `${e.kind} ${e.domain}`)).toEqual(['allow z.example', 'block a.example']);
    const second = await service.entries(Object.fromEntries(first.next ?? []));
    expect(second.items.map((e) => e.domain)).toEqual(['b.example', 'c.example']);
    expect(second.next).toBeNull();
    const blocks = await service.entries({ kind: 'block', limit: '1' });
    expect(blocks.next?.get('kind')).toBe('block');
    expect((await service.entries(Object.fromEntries(blocks.next ?? []))).items.map((e) => e.domain)).toEqual(['b.example']);
  });

  it.each([
    ['an unknown parameter', { domain: 'a.example' }, "'domain' is not supported"],
    ['an unknown kind', { kind: 'deny' }, "'kind' must be one of block, allow"],
    ['a limit of 0', { limit: '0' }, "'limit' must be an integer 1-1000"],
    ['a cursor that is not one', { cursor: '!!' }, "'cursor' is not a cursor"],
    ['a cursor of another kind', { kind: 'allow', cursor: Buffer.from(JSON.stringify(['block', 'a.example'])).toString('base64url') }, "'cursor' does not belong to kind=allow"],
    ['a cursor with a bad kind', { cursor: Buffer.from(JSON.stringify(['deny', 'a.example'])).toString('base64url') }, "'cursor' is not a cursor"],
  ])('400 naming the parameter for %s (both lists)', async (_label, query, message) => {
    for (const read of [service.entries(query), service.lists(query)]) {
      const error = await apiError(read);
      expect(error).toMatchObject({ status: 400, code: 'GHOSTDNS_API_INVALID_PARAMETER' });
      expect(error.message).toContain(message);
    }
  });
});

it('publishSnapshot publishes every list and entry as an UPSERT, in batches of 500', async () => {
  await service.createList({ kind: 'block', source: URL_A }, ctx);
  for (let i = 0; i < 600; i++) await service.createEntry({ kind: 'block', domain: `host${i}.example` }, ctx);
  bus.events.length = 0;
  bus.batches.length = 0;
  expect(await service.publishSnapshot()).toBe(601);
  expect(bus.batches).toEqual([500, 101]);
  expect(bus.events.every((e) => e.op === 'UPSERT' && e.actor === 'system:snapshot')).toBe(true);
  expect(bus.events.filter((e) => e.entity === 'LIST')).toHaveLength(1);
});
