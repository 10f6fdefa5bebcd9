import type { WriteContext } from '../auth/token.service.js';
import { ApiError, invalidParameter } from '../errors.js';
import { QueryParams } from '../analytics/params.js';
import { decodeCursorTuple, encodeCursorTuple, invalidCursor } from '../http/link.js';
import type { DevicePage, MappingRow, MappingTx, MappingValues, PeerStateRow, PresenceStore } from './presence.repository.js';
import { isDeviceId, parseDeviceKey, parseMappingPut, PRESENCE_SOURCES, type DeviceKey, type PresenceSourceId } from './validation.js';

export const DEFAULT_PRESENCE_LIMIT = 100;
export const MAX_PRESENCE_LIMIT = 1000;

/** One entry of GET /api/v1/presence/peers: a device's latest presence transition and its mapping. */
export interface PresencePeerResponse {
  source: PresenceSourceId;
  device_id: string;
  /** The published label; '' when the device is published under none. */
  name: string;
  /** `<name>.<custom domain or presence suffix>`; null when the device has no name. */
  fqdn: string | null;
  interface: string | null;
  addresses: string[];
  online: boolean;
  last_handshake: string | null;
  observed_at: string;
  node_id: string;
  mapping: { name: string; enabled: boolean; custom_domain: string | null } | null;
}

export interface PresenceMappingResponse {
  source: PresenceSourceId;
  device_id: string;
  name: string;
  enabled: boolean;
  custom_domain: string | null;
  created_at: string;
  updated_at: string;
}

/** A list page and the query string of the next one (null on the last page). */
export interface Page<T> {
  items: T[];
  next: URLSearchParams | null;
}

export interface PutResult {
  /** 201 created, 200 replaced or unchanged. */
  status: 200 | 201;
  mapping: PresenceMappingResponse;
}

export function encodeDeviceCursor(key: DeviceKey): string {
  return encodeCursorTuple([key.source, key.deviceId]);
}

export function decodeDeviceCursor(text: string): DeviceKey {
  const [source, deviceId] = decodeCursorTuple(text, 2);
  if (!(PRESENCE_SOURCES as readonly unknown[]).includes(source) || typeof deviceId !== 'string' || !isDeviceId(deviceId)) throw invalidCursor();
  return { source: source as PresenceSourceId, deviceId };
}

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

function mappingJson(row: MappingRow): PresenceMappingResponse {
  return {
    source: row.source,
    device_id: row.device_id,
    name: row.name,
    enabled: row.enabled,
    custom_domain: row.custom_domain,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

interface ListParams {
  page: DevicePage;
  /** Rows shown per page (the store is asked for one more). */
  limit: number;
  /** The parameters the next page's query string repeats. */
  repeat: URLSearchParams;
}

/** `source`, `limit` and `cursor`, shared by both lists. */
function listParams(params: QueryParams): ListParams {
  const source = params.choice('source', PRESENCE_SOURCES);
  const limit = params.int('limit', DEFAULT_PRESENCE_LIMIT, 1, MAX_PRESENCE_LIMIT);
  const cursor = params.string('cursor');
  const after = cursor === undefined ? null : decodeDeviceCursor(cursor);
  // A page filtered by source never ends on another source's device.
  if (after !== null && source !== undefined && after.source !== source) throw invalidParameter('cursor', `does not belong to source=${source}`);
  const repeat = new URLSearchParams({ limit: String(limit) });
  if (source !== undefined) repeat.set('source', source);
  // One more row than shown: tells whether a next page exists without a count.
  return { page: { source, limit: limit + 1, after }, limit, repeat };
}

function paged<R extends { source: PresenceSourceId; device_id: string }, T>(rows: R[], list: ListParams, toJson: (row: R) => T): Page<T> {
  const shown = rows.slice(0, list.limit);
  const last = shown[shown.length - 1];
  if (rows.length <= list.limit || last === undefined) return { items: shown.map(toJson), next: null };
  list.repeat.set('cursor', encodeDeviceCursor({ source: last.source, deviceId: last.device_id }));
  return { items: shown.map(toJson), next: list.repeat };
}

const unavailable = (error: unknown): ApiError =>
  new ApiError('GHOSTDNS_API_PRESENCE_UNAVAILABLE', 503, 'presence data is unavailable', { cause: error });

/**
 * Presence peers (the latest state presence-service reported for each device,
 * from presence_history) and the hostname mappings presence-service reads every
 * poll (presence_peer_mappings; the same table `ghostdns haddns map` writes).
 * A mapping change needs no event: presence-service applies it at its next poll.
 */
export class PresenceService {
  constructor(
    private readonly store: PresenceStore,
    /** presence.suffix: the domain of a name published without a custom domain. */
    private readonly suffix: string,
  ) {}

  /** GET /api/v1/presence/peers[?online=&source=&limit=&cursor=] */
  async peers(query: Record<string, unknown>): Promise<Page<PresencePeerResponse>> {
    const params = new QueryParams(query, ['online', 'source', 'limit', 'cursor']);
    const online = params.choice('online', ['true', 'false']);
    const list = listParams(params);
    if (online !== undefined) list.repeat.set('online', online);
    const rows = await this.read(() => this.store.peers({ ...list.page, online: online === undefined ? undefined : online === 'true' }));
    return paged(rows, list, (row) => this.peerJson(row));
  }

  /** GET /api/v1/presence/mappings[?source=&limit=&cursor=] */
  async mappings(query: Record<string, unknown>): Promise<Page<PresenceMappingResponse>> {
    const list = listParams(new QueryParams(query, ['source', 'limit', 'cursor']));
    const rows = await this.read(() => this.store.mappings(list.page));
    return paged(rows, list, mappingJson);
  }

  /**
   * PUT /api/v1/presence/mappings/:source/:deviceId. Absent `enabled` and
   * `custom_domain` keep what the mapping holds (true and null for a new one),
   * as PUT /api/v1/records keeps an absent ttl; an unchanged mapping is not rewritten.
   */
  async put(source: string, deviceId: string, body: unknown, ctx: WriteContext): Promise<PutResult> {
    const key = parseDeviceKey(source, deviceId, true);
    const input = parseMappingPut(body);
    return this.write(key, async (tx) => {
      const current = await tx.get();
      const values: MappingValues = {
        name: input.name,
        enabled: input.enabled ?? current?.enabled ?? true,
        custom_domain: input.customDomain === undefined ? (current?.custom_domain ?? null) : input.customDomain,
      };
      if (current !== null && current.name === values.name && current.enabled === values.enabled && current.custom_domain === values.custom_domain) {
        return { status: 200, mapping: mappingJson(current) };
      }
      const stored = await tx.upsert(values);
      await tx.audit({
        actor: ctx.actor,
        action: current === null ? 'presence_mapping.create' : 'presence_mapping.update',
        target: auditTarget(key),
        details: { source: key.source, device_id: key.deviceId, ...values, ...(current === null ? {} : { previous: previousValues(current) }) },
        clientIp: ctx.clientIp,
      });
      return { status: current === null ? 201 : 200, mapping: mappingJson(stored) };
    });
  }

  /** DELETE /api/v1/presence/mappings/:source/:deviceId: 404 when there is none. */
  async delete(source: string, deviceId: string, ctx: WriteContext): Promise<void> {
    const key = parseDeviceKey(source, deviceId, false);
    await this.write(key, async (tx) => {
      const current = await tx.get();
      if (current === null) throw new ApiError('GHOSTDNS_API_MAPPING_NOT_FOUND', 404, `no mapping for ${key.source} device ${key.deviceId}`);
      await tx.delete();
      await tx.audit({
        actor: ctx.actor,
        action: 'presence_mapping.delete',
        target: auditTarget(key),
        details: { source: key.source, device_id: key.deviceId, previous: previousValues(current) },
        clientIp: ctx.clientIp,
      });
    });
  }

  private peerJson(row: PeerStateRow): PresencePeerResponse {
    return {
      source: row.source,
      device_id: row.device_id,
      name: row.name,
      fqdn: row.name === '' ? null : `${row.name}.${row.domain ?? this.suffix}`,
      interface: row.interface,
      addresses: row.addresses,
      online: row.online,
      last_handshake: iso(row.last_handshake),
      observed_at: row.observed_at.toISOString(),
      node_id: row.node_id,
      mapping:
        row.mapping_name === null
          ? null
          : { name: row.mapping_name, enabled: row.mapping_enabled === true, custom_domain: row.mapping_custom_domain },
    };
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw unavailable(error);
    }
  }

  private async write<T>(key: DeviceKey, fn: (tx: MappingTx) => Promise<T>): Promise<T> {
    try {
      return await this.store.withMapping(key, fn);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw unavailable(error);
    }
  }
}

function auditTarget(key: DeviceKey): string {
  return `${key.source}/${key.deviceId}`;
}

function previousValues(row: MappingRow): MappingValues {
  return { name: row.name, enabled: row.enabled, custom_domain: row.custom_domain };
}
