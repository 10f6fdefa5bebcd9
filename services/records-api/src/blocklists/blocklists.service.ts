import { randomUUID } from 'node:crypto';
import type { EventPublisher } from '@ghostdns/bus';
import { Topics, type PolicyChangeEvent, type PolicyChangeOp } from '@ghostdns/contracts';
import { QueryParams } from '../analytics/params.js';
import type { WriteContext } from '../auth/token.service.js';
import { ApiError, invalidParameter } from '../errors.js';
import { decodeCursorTuple, encodeCursorTuple, invalidCursor } from '../http/link.js';
import type { Page } from '../presence/presence.service.js';
import type { BlocklistsStore, BlocklistsTx, EntryRow, KeyPage, ListRow } from './blocklists.repository.js';
import { FORMAT_SYMBOLS, KIND_SYMBOLS, parseEntryPost, parseListPost, parseListPut, POLICY_KINDS, type ListValues, type PolicyKindId } from './validation.js';

export const DEFAULT_BLOCKLIST_LIMIT = 100;
export const MAX_BLOCKLIST_LIMIT = 1000;
/** Events per publish call of the boot snapshot. */
const SNAPSHOT_BATCH = 500;

/** A list as the API returns it. */
export interface BlocklistResponse {
  id: string;
  kind: PolicyKindId;
  source: string;
  format: ListValues['format'];
  enabled: boolean;
  created_at: string;
  updated_at: string;
  created_by: string;
  updated_by: string;
}

/** A custom domain as the API returns it. */
export interface BlocklistEntryResponse {
  id: string;
  kind: PolicyKindId;
  domain: string;
  comment: string | null;
  created_at: string;
  created_by: string;
}

/** The counters BlocklistsService keeps (prom-client in the module, no-ops in tests). */
export interface BlocklistsInstruments {
  change(entity: PolicyChangeEvent['entity'], op: PolicyChangeOp): void;
  publishFailed(): void;
}

export const NO_BLOCKLIST_INSTRUMENTS: BlocklistsInstruments = { change: () => undefined, publishFailed: () => undefined };

function listJson(row: ListRow): BlocklistResponse {
  return {
    id: row.id,
    kind: row.kind,
    source: row.source,
    format: row.format,
    enabled: row.enabled,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    created_by: row.createdBy,
    updated_by: row.updatedBy,
  };
}

function entryJson(row: EntryRow): BlocklistEntryResponse {
  return { id: row.id, kind: row.kind, domain: row.domain, comment: row.comment, created_at: row.createdAt.toISOString(), created_by: row.createdBy };
}

const listValues = (row: ListRow): ListValues => ({ kind: row.kind, source: row.source, format: row.format, enabled: row.enabled });

const unavailable = (error: unknown): ApiError => new ApiError('GHOSTDNS_API_BLOCKLISTS_UNAVAILABLE', 503, 'blocklists are unavailable', { cause: error });
const listNotFound = (id: string): ApiError => new ApiError('GHOSTDNS_API_BLOCKLIST_NOT_FOUND', 404, `blocklist ${id} does not exist`);
const entryNotFound = (id: string): ApiError => new ApiError('GHOSTDNS_API_BLOCKLIST_ENTRY_NOT_FOUND', 404, `blocklist entry ${id} does not exist`);
const listConflict = (values: ListValues): ApiError =>
  new ApiError('GHOSTDNS_API_BLOCKLIST_CONFLICT', 409, `a ${values.kind} list with the source ${values.source} exists already`);

/** `kind`, `limit` and `cursor` of both lists; the cursor is the (kind, source|domain) of the last row shown. */
function pageOf(query: Record<string, unknown>): { page: KeyPage; limit: number; repeat: URLSearchParams } {
  const params = new QueryParams(query, ['kind', 'limit', 'cursor']);
  const kind = params.choice('kind', POLICY_KINDS);
  const limit = params.int('limit', DEFAULT_BLOCKLIST_LIMIT, 1, MAX_BLOCKLIST_LIMIT);
  const cursor = params.string('cursor');
  let after: KeyPage['after'] = null;
  if (cursor !== undefined) {
    const [cursorKind, key] = decodeCursorTuple(cursor, 2);
    if (!(POLICY_KINDS as readonly unknown[]).includes(cursorKind) || typeof key !== 'string') throw invalidCursor();
    if (kind !== undefined && cursorKind !== kind) throw invalidParameter('cursor', `does not belong to kind=${kind}`);
    after = [cursorKind as PolicyKindId, key];
  }
  const repeat = new URLSearchParams({ limit: String(limit) });
  if (kind !== undefined) repeat.set('kind', kind);
  // One more row than shown: tells whether a next page exists without a count.
  return { page: { kind, after, limit: limit + 1 }, limit, repeat };
}

function paged<R extends { kind: PolicyKindId }, T>(rows: R[], list: ReturnType<typeof pageOf>, key: (row: R) => string, toJson: (row: R) => T): Page<T> {
  const shown = rows.slice(0, list.limit);
  const last = shown[shown.length - 1];
  if (rows.length <= list.limit || last === undefined) return { items: shown.map(toJson), next: null };
  list.repeat.set('cursor', encodeCursorTuple([last.kind, key(last)]));
  return { items: shown.map(toJson), next: list.repeat };
}

/**
 * Blocklists/allowlists read by every resolver-edge (policy_lists) and custom
 * domains (policy_entries). Every write runs in one transaction holding the
 * row it changes; its PolicyChangeEvent (the whole new state, or DELETE) is
 * published before that transaction commits, so the events of one list or
 * entry leave in commit order, and a write whose event cannot be published
 * is rolled back (503) instead of living in the database unseen by the resolvers.
 */
export class BlocklistsService {
  constructor(
    private readonly store: BlocklistsStore,
    private readonly bus: EventPublisher,
    private readonly instruments: BlocklistsInstruments = NO_BLOCKLIST_INSTRUMENTS,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** GET /api/v1/blocklists[?kind=&limit=&cursor=] */
  async lists(query: Record<string, unknown>): Promise<Page<BlocklistResponse>> {
    const list = pageOf(query);
    const rows = await this.read(() => this.store.lists(list.page));
    return paged(rows, list, (row) => row.source, listJson);
  }

  /** GET /api/v1/blocklists/:id */
  async getList(id: string): Promise<BlocklistResponse> {
    const row = await this.read(() => this.store.getList(id));
    if (row === null) throw listNotFound(id);
    return listJson(row);
  }

  /** POST /api/v1/blocklists: 201 with the new list; 409 when the kind already has this source. */
  async createList(body: unknown, ctx: WriteContext): Promise<BlocklistResponse> {
    const values = parseListPost(body);
    return this.write(async (tx) => {
      const created = await tx.insertList({ ...values, id: randomUUID(), createdBy: ctx.actor });
      if (created === null) throw listConflict(values);
      await tx.audit({ actor: ctx.actor, action: 'blocklist.create', target: created.id, details: { ...values }, clientIp: ctx.clientIp });
      await this.publish(this.listEvent('UPSERT', created, ctx.actor));
      return listJson(created);
    });
  }

  /** PUT /api/v1/blocklists/:id: absent fields keep what the list holds; an unchanged list is not rewritten. */
  async putList(id: string, body: unknown, ctx: WriteContext): Promise<BlocklistResponse> {
    const change = parseListPut(body);
    return this.write(async (tx) => {
      const current = await tx.list(id);
      if (current === null) throw listNotFound(id);
      const previous = listValues(current);
      const values: ListValues = { ...previous, ...change };
      if (JSON.stringify(values) === JSON.stringify(previous)) return listJson(current);
      const updated = await tx.updateList(id, values, ctx.actor);
      if (updated === null) throw listConflict(values);
      await tx.audit({ actor: ctx.actor, action: 'blocklist.update', target: id, details: { ...values, previous }, clientIp: ctx.clientIp });
      await this.publish(this.listEvent('UPSERT', updated, ctx.actor));
      return listJson(updated);
    });
  }

  /** DELETE /api/v1/blocklists/:id */
  async deleteList(id: string, ctx: WriteContext): Promise<void> {
    await this.write(async (tx) => {
      const current = await tx.list(id);
      if (current === null) throw listNotFound(id);
      await tx.deleteList(id);
      await tx.audit({ actor: ctx.actor, action: 'blocklist.delete', target: id, details: { previous: listValues(current) }, clientIp: ctx.clientIp });
      await this.publish(this.listEvent('DELETE', current, ctx.actor));
    });
  }

  /** GET /api/v1/blocklists/entries[?kind=&limit=&cursor=] */
  async entries(query: Record<string, unknown>): Promise<Page<BlocklistEntryResponse>> {
    const list = pageOf(query);
    const rows = await this.read(() => this.store.entries(list.page));
    return paged(rows, list, (row) => row.domain, entryJson);
  }

  /** POST /api/v1/blocklists/entries: 201; 409 when an entry of this kind holds the domain already. */
  async createEntry(body: unknown, ctx: WriteContext): Promise<BlocklistEntryResponse> {
    const values = parseEntryPost(body);
    return this.write(async (tx) => {
      const created = await tx.insertEntry({ ...values, id: randomUUID(), createdBy: ctx.actor });
      if (created === null) throw new ApiError('GHOSTDNS_API_BLOCKLIST_CONFLICT', 409, `${values.domain} is a ${values.kind} entry already`);
      await tx.audit({ actor: ctx.actor, action: 'blocklist_entry.create', target: created.id, details: { ...values }, clientIp: ctx.clientIp });
      await this.publish(this.entryEvent('UPSERT', created, ctx.actor));
      return entryJson(created);
    });
  }

  /** DELETE /api/v1/blocklists/entries/:id */
  async deleteEntry(id: string, ctx: WriteContext): Promise<void> {
    await this.write(async (tx) => {
      const current = await tx.entry(id);
      if (current === null) throw entryNotFound(id);
      await tx.deleteEntry(id);
      await tx.audit({
        actor: ctx.actor, action: 'blocklist_entry.delete', target: id,
        details: { kind: current.kind, domain: current.domain, comment: current.comment }, clientIp: ctx.clientIp,
      });
      await this.publish(this.entryEvent('DELETE', current, ctx.actor));
    });
  }

  /**
   * Every list and entry as an UPSERT. Published at boot on the in-process bus
   * (standalone), which starts empty: resolver-edge replays it from the
   * beginning. Returns how many were published.
   */
  async publishSnapshot(): Promise<number> {
    const [lists, entries] = await Promise.all([this.store.allLists(), this.store.allEntries()]);
    const events = [...lists.map((r) => this.listEvent('UPSERT', r, 'system:snapshot')), ...entries.map((r) => this.entryEvent('UPSERT', r, 'system:snapshot'))];
    for (let i = 0; i < events.length; i += SNAPSHOT_BATCH) await this.bus.publish(Topics.policyChanges, events.slice(i, i + SNAPSHOT_BATCH));
    return events.length;
  }

  private listEvent(op: PolicyChangeOp, row: ListRow, actor: string): PolicyChangeEvent {
    return {
      ...this.eventBase(op, actor),
      entity: 'LIST', id: row.id, kind: KIND_SYMBOLS[row.kind],
      source: row.source, format: FORMAT_SYMBOLS[row.format], enabled: row.enabled, domain: null,
    };
  }

  private entryEvent(op: PolicyChangeOp, row: EntryRow, actor: string): PolicyChangeEvent {
    return {
      ...this.eventBase(op, actor),
      entity: 'ENTRY', id: row.id, kind: KIND_SYMBOLS[row.kind],
      source: null, format: null, enabled: null, domain: row.domain,
    };
  }

  private eventBase(op: PolicyChangeOp, actor: string): Pick<PolicyChangeEvent, 'event_id' | 'op' | 'changed_at_us' | 'actor'> {
    return { event_id: randomUUID(), op, changed_at_us: this.now().getTime() * 1000, actor };
  }

  private async publish(event: PolicyChangeEvent): Promise<void> {
    try {
      await this.bus.publish(Topics.policyChanges, [event]);
    } catch (error) {
      this.instruments.publishFailed();
      throw new ApiError('GHOSTDNS_API_BLOCKLISTS_UNAVAILABLE', 503, 'the change could not be published to the resolvers; nothing was changed', { cause: error });
    }
    this.instruments.change(event.entity, event.op);
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw unavailable(error);
    }
  }

  private async write<T>(fn: (tx: BlocklistsTx) => Promise<T>): Promise<T> {
    try {
      return await this.store.transaction(fn);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw unavailable(error);
    }
  }
}
