import { randomUUID } from 'node:crypto';
import type { EventPublisher } from '@ghostdns/bus';
import { Topics, type RecordChangeEvent } from '@ghostdns/contracts';
import type { WriteContext } from '../auth/token.service.js';
import { RecordHealth } from '../health/record-health.js';
import { ApiError, invalidField, recordNotFound, zoneConflict } from '../errors.js';
import type { RecordRow, RecordsStore, RecordsTx } from './records.repository.js';
import {
  DEFAULT_TTL,
  normalizeValues,
  parseRecordFilter,
  parseRecordPost,
  parseRecordPut,
  type Metadata,
  type RecordType,
} from './validation.js';

/** A record set as the API returns it. `domain` repeats `name` under the seed's field name. */
export interface RecordResponse {
  id: string;
  name: string;
  domain: string;
  type: RecordType;
  ttl: number;
  values: string[];
  metadata: Metadata;
  /** Values withheld from answers because their health check fails (metadata.health_check). */
  unhealthy_values: string[];
  created_at: string;
  updated_at: string;
  created_by: string;
  updated_by: string;
}

export function toResponse(row: RecordRow, health: RecordHealth): RecordResponse {
  return {
    id: row.id,
    name: row.name,
    domain: row.name,
    type: row.type,
    ttl: row.ttl,
    values: row.values,
    metadata: row.metadata,
    unhealthy_values: row.values.filter((value) => health.health(row.id, value) === 'unhealthy'),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    created_by: row.createdBy,
    updated_by: row.updatedBy,
  };
}

export type { WriteContext } from '../auth/token.service.js';

export interface PostResult {
  /** 201 created, 200 changed or unchanged. */
  status: 200 | 201;
  /** null when a deregister removed the last value (the RRset is gone). */
  record: RecordResponse | null;
}

/** The counters RecordsService keeps (prom-client in the module, no-ops in tests). */
export interface RecordsInstruments {
  change(op: 'UPSERT' | 'DELETE', type: string): void;
  publishFailed(): void;
}

export const NO_INSTRUMENTS: RecordsInstruments = { change: () => undefined, publishFailed: () => undefined };

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Record sets: zone rules, validation, storage, the audit trail and the
 * change events. Every write runs in one transaction holding the owner name's
 * lock; the RecordChangeEvent (the RRset's full new state, or DELETE) is
 * published before that transaction commits, so events of one name leave in
 * commit order, and a write whose event cannot be published is rolled back
 * (503) instead of living in the database unseen by the resolvers.
 */
export class RecordsService {
  constructor(
    private readonly store: RecordsStore,
    private readonly bus: EventPublisher,
    private readonly instruments: RecordsInstruments = NO_INSTRUMENTS,
    private readonly now: () => Date = () => new Date(),
    /** Health verdicts of probed values (RecordHealthProber): unhealthy values are left out of the events. */
    readonly health: RecordHealth = new RecordHealth(),
  ) {}

  /** Events published inside each running transaction (write()). */
  private readonly sent = new WeakMap<RecordsTx, RecordChangeEvent[]>();

  async get(id: string): Promise<RecordResponse> {
    const row = await this.read(() => this.store.get(id));
    if (row === null) throw recordNotFound(id);
    return toResponse(row, this.health);
  }

  async list(query: Record<string, unknown>): Promise<{ records: RecordResponse[]; next: { limit: number; offset: number } | null }> {
    const filter = parseRecordFilter(query);
    // One more than asked: tells whether a next page exists without a count.
    const rows = await this.read(() => this.store.list({ ...filter, limit: filter.limit + 1 }));
    const more = rows.length > filter.limit;
    return {
      records: rows.slice(0, filter.limit).map((row) => toResponse(row, this.health)),
      next: more ? { limit: filter.limit, offset: filter.offset + filter.limit } : null,
    };
  }

  /** POST /api/v1/records: register (add values to the RRset, creating it) or deregister (remove values). */
  async post(body: unknown, ctx: WriteContext): Promise<PostResult> {
    const input = parseRecordPost(body);
    return this.write(input.name, async (tx) => {
      const atName = await tx.byName(input.name);
      const existing = atName.find((r) => r.type === input.type);
      if (input.action === 'deregister') {
        if (existing === undefined) throw new ApiError('GHOSTDNS_API_RECORD_NOT_FOUND', 404, `no ${input.type} record at ${input.name}`);
        const remaining = existing.values.filter((v) => !input.values.includes(v));
        if (remaining.length === existing.values.length) return { status: 200, record: toResponse(existing, this.health) };
        if (remaining.length === 0) {
          await this.remove(tx, existing, ctx, 'record.deregister');
          return { status: 200, record: null };
        }
        const updated = await tx.update(existing.id, { ttl: existing.ttl, values: remaining, metadata: existing.metadata, updatedBy: ctx.actor });
        await this.changed(tx, updated, ctx, 'record.deregister', { removed: input.values });
        return { status: 200, record: toResponse(updated, this.health) };
      }

      this.checkZoneRules(input.name, input.type, atName);
      if (existing === undefined) {
        const created = await tx.insert({
          id: randomUUID(),
          name: input.name,
          type: input.type,
          ttl: input.ttl ?? DEFAULT_TTL,
          values: input.values,
          metadata: input.metadata ?? {},
          createdBy: ctx.actor,
          updatedBy: ctx.actor,
        });
        await this.changed(tx, created, ctx, 'record.create', {});
        return { status: 201, record: toResponse(created, this.health) };
      }
      if (input.type === 'CNAME' && !sameValues(existing.values, input.values)) {
        throw zoneConflict(`${input.name} already has a CNAME (${existing.values[0] ?? ''}); a name holds one CNAME target`);
      }
      const values = [...existing.values, ...input.values.filter((v) => !existing.values.includes(v))];
      const ttl = input.ttl ?? existing.ttl;
      const metadata = input.metadata ?? existing.metadata;
      if (sameValues(values, existing.values) && ttl === existing.ttl && JSON.stringify(metadata) === JSON.stringify(existing.metadata)) {
        return { status: 200, record: toResponse(existing, this.health) };
      }
      const updated = await tx.update(existing.id, { ttl, values, metadata, updatedBy: ctx.actor });
      await this.changed(tx, updated, ctx, 'record.register', { added: input.values });
      return { status: 200, record: toResponse(updated, this.health) };
    });
  }

  /** PUT /api/v1/records/:id: replaces TTL, values and (when given) metadata. */
  async put(id: string, body: unknown, ctx: WriteContext): Promise<RecordResponse> {
    const input = parseRecordPut(body);
    const current = await this.read(() => this.store.get(id));
    if (current === null) throw recordNotFound(id);
    if (input.name !== undefined && input.name !== current.name) throw invalidField('domain', 'cannot change; delete the record and create another');
    if (input.type !== undefined && input.type !== current.type) throw invalidField('type', 'cannot change; delete the record and create another');
    const values = normalizeValues(current.type, input.value, input.values, true);
    return this.write(current.name, async (tx) => {
      const row = await tx.byId(id);
      if (row === null) throw recordNotFound(id);
      const updated = await tx.update(id, {
        ttl: input.ttl ?? row.ttl,
        values,
        metadata: input.metadata ?? row.metadata,
        updatedBy: ctx.actor,
      });
      await this.changed(tx, updated, ctx, 'record.update', {});
      return toResponse(updated, this.health);
    });
  }

  /** DELETE /api/v1/records/:id */
  async delete(id: string, ctx: WriteContext): Promise<void> {
    const current = await this.read(() => this.store.get(id));
    if (current === null) throw recordNotFound(id);
    await this.write(current.name, async (tx) => {
      const row = await tx.byId(id);
      if (row === null) throw recordNotFound(id);
      await this.remove(tx, row, ctx, 'record.delete');
    });
  }

  /**
   * Every RRset as an UPSERT. Published at boot on the in-process bus
   * (standalone), which starts empty: resolver-edge replays it from the
   * beginning. Returns how many were published.
   */
  async publishSnapshot(): Promise<number> {
    const rows = await this.store.all();
    const events = rows.map((r) => this.event('UPSERT', r, 'system:snapshot'));
    for (let i = 0; i < events.length; i += 500) await this.bus.publish(Topics.recordChanges, events.slice(i, i + 500));
    return rows.length;
  }

  /** RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME cannot share its owner name with other data. */
  private checkZoneRules(name: string, type: RecordType, atName: readonly RecordRow[]): void {
    const others = atName.filter((r) => r.type !== type);
    if (type === 'CNAME' && others.length > 0) {
      throw zoneConflict(`${name} already has ${others.map((r) => r.type).join(', ')} data; a CNAME cannot sit beside other data`);
    }
    if (type !== 'CNAME' && others.some((r) => r.type === 'CNAME')) {
      throw zoneConflict(`${name} has a CNAME; no other data may sit beside it`);
    }
  }

  /**
   * Publishes the current state of every RRset of `names` (health verdicts applied), each under
   * its name's lock, so it never overtakes a write of the same name. Rejects when publishing fails.
   */
  async publishHealth(names: readonly string[]): Promise<void> {
    for (const name of names) {
      await this.write(name, async (tx) => {
        for (const row of await tx.byName(name)) await this.publishIn(tx, this.event('UPSERT', row, 'system:health-check'));
      });
    }
  }

  /** The event of `row`; an UPSERT whose values are all unhealthy withdraws the RRset (DELETE) until one recovers. */
  private event(op: 'UPSERT' | 'DELETE', row: RecordRow, actor: string): RecordChangeEvent {
    const values = op === 'DELETE' ? [] : this.health.answerable(row);
    return {
      event_id: randomUUID(),
      op: values.length === 0 ? 'DELETE' : op,
      record_id: row.id,
      name: row.name,
      type: row.type,
      ttl: row.ttl,
      values,
      changed_at_us: this.now().getTime() * 1000,
      actor,
    };
  }

  private async changed(tx: RecordsTx, row: RecordRow, ctx: WriteContext, action: string, details: Record<string, unknown>): Promise<void> {
    await tx.audit({ actor: ctx.actor, action, target: row.id, details: { name: row.name, type: row.type, ttl: row.ttl, values: row.values, ...details }, clientIp: ctx.clientIp });
    await this.publishIn(tx, this.event('UPSERT', row, ctx.actor));
  }

  private async remove(tx: RecordsTx, row: RecordRow, ctx: WriteContext, action: string): Promise<void> {
    await tx.delete(row.id);
    await tx.audit({ actor: ctx.actor, action, target: row.id, details: { name: row.name, type: row.type, values: row.values }, clientIp: ctx.clientIp });
    await this.publishIn(tx, this.event('DELETE', row, ctx.actor));
  }

  /** Publishes inside the transaction `tx`, remembering the event in case the transaction then fails to commit. */
  private async publishIn(tx: RecordsTx, event: RecordChangeEvent): Promise<void> {
    await this.publish(event);
    this.sent.get(tx)?.push(event);
  }

  private async publish(event: RecordChangeEvent): Promise<void> {
    try {
      await this.bus.publish(Topics.recordChanges, [event]);
    } catch (error) {
      this.instruments.publishFailed();
      throw new ApiError('GHOSTDNS_API_RECORDS_UNAVAILABLE', 503, 'the change could not be published to the resolvers; nothing was changed', { cause: error });
    }
    this.instruments.change(event.op, event.type);
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new ApiError('GHOSTDNS_API_RECORDS_UNAVAILABLE', 503, 'records are unavailable', { cause: error });
    }
  }

  /**
   * Runs `fn` in the name's transaction. Events are published before COMMIT (so they leave in
   * commit order); when the transaction fails after one was published (COMMIT refused, the
   * connection lost), the resolvers hold a state the database does not: the committed state of
   * every RRset it touched is published again, so they converge back to the database.
   */
  private async write<T>(name: string, fn: (tx: RecordsTx) => Promise<T>): Promise<T> {
    const sent: RecordChangeEvent[] = [];
    try {
      return await this.store.withName(name, (tx) => {
        this.sent.set(tx, sent);
        return fn(tx);
      });
    } catch (error) {
      if (sent.length > 0) await this.republishCommitted(name, sent);
      if (error instanceof ApiError) throw error;
      throw new ApiError('GHOSTDNS_API_RECORDS_UNAVAILABLE', 503, 'records are unavailable', { cause: error });
    }
  }

  /** The committed state of the RRsets `sent` spoke of: an UPSERT of each that exists, a DELETE of each that does not. */
  private async republishCommitted(name: string, sent: readonly RecordChangeEvent[]): Promise<void> {
    try {
      const committed = await this.store.list({ name, type: undefined, zone: undefined, limit: 1000, offset: 0 });
      const touched = new Map(sent.map((event) => [event.type, event]));
      for (const [type, event] of touched) {
        const row = committed.find((r) => r.type === type);
        await this.publish(row === undefined ? { ...event, event_id: randomUUID(), op: 'DELETE', values: [], actor: 'system:rollback' } : this.event('UPSERT', row, 'system:rollback'));
      }
    } catch {
      // Database and bus both failing: the next write or restart of this name publishes its state again (README).
      this.instruments.publishFailed();
    }
  }
}
