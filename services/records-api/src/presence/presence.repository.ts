import type pg from 'pg';
import { appendAudit, type AuditEntry } from '../storage/audit-log.js';
import { inTransaction } from '../storage/transaction.js';
import type { DeviceKey, PresenceSourceId } from './validation.js';

/** One page of a list in (source, device_id) order. */
export interface DevicePage {
  source: PresenceSourceId | undefined;
  /** Rows strictly after this key, or from the first. */
  after: DeviceKey | null;
  limit: number;
}

export interface PeerQuery extends DevicePage {
  /** Filters on the latest state only: a device that was online once and is offline now is not online. */
  online: boolean | undefined;
}

/** The latest presence_history row of one device, with its mapping (null columns when it has none). */
export interface PeerStateRow {
  source: PresenceSourceId;
  device_id: string;
  name: string;
  domain: string | null;
  interface: string | null;
  addresses: string[];
  online: boolean;
  last_handshake: Date | null;
  observed_at: Date;
  node_id: string;
  mapping_name: string | null;
  mapping_enabled: boolean | null;
  mapping_custom_domain: string | null;
}

/** One row of presence_peer_mappings (migrations 050, 051). */
export interface MappingRow {
  source: PresenceSourceId;
  device_id: string;
  name: string;
  enabled: boolean;
  custom_domain: string | null;
  created_at: Date;
  updated_at: Date;
}

export type MappingValues = Pick<MappingRow, 'name' | 'enabled' | 'custom_domain'>;

/** Reads and writes inside one transaction that holds the lock of one device's mapping. */
export interface MappingTx {
  get(): Promise<MappingRow | null>;
  upsert(values: MappingValues): Promise<MappingRow>;
  delete(): Promise<void>;
  audit(entry: AuditEntry): Promise<void>;
}

/** What PresenceService needs from storage (a stub in unit tests). */
export interface PresenceStore {
  peers(query: PeerQuery): Promise<PeerStateRow[]>;
  mappings(page: DevicePage): Promise<MappingRow[]>;
  /**
   * Runs `fn` in one transaction holding a lock on the device's mapping, so the
   * audit line describes the change that committed. Rolls back when `fn` throws.
   */
  withMapping<T>(key: DeviceKey, fn: (tx: MappingTx) => Promise<T>): Promise<T>;
}

/**
 * The latest transition of each device, by a skip scan over presence_history_device_time_idx
 * (source, device_id, observed_at DESC): the first index entry past a device is the next
 * device's newest row, so each step reads one index position whatever the length of the
 * history (DISTINCT ON would read every transition). The cost grows with the number of
 * devices, not of transitions. `online` filters the latest state only. event_id breaks a
 * tie of two nodes reporting one device in the same microsecond.
 * The index bound is one row comparison: ANDed with `source = $1`, the btree takes the
 * equality as its start key and rescans the source from its first entry at every step, so
 * the source filter only ends the walk (the start position already lies in that source).
 * Parameters only: $1 source, $2/$3 the start position, $4 true when that position is a
 * cursor (the device there was on the previous page), $5 online, $6 limit.
 */
export const LATEST_PEERS_SQL = `
WITH RECURSIVE latest AS (
  SELECT s.* FROM (
    SELECT source, device_id, name, domain, interface, addresses, online, last_handshake, observed_at, node_id
    FROM presence_history
    WHERE (source, device_id) >= ($2::text, $3::text)
    ORDER BY source, device_id, observed_at DESC, event_id DESC
    LIMIT 1
  ) s
  WHERE $1::text IS NULL OR s.source = $1::text
  UNION ALL
  SELECT n.* FROM latest p CROSS JOIN LATERAL (
    SELECT h.source, h.device_id, h.name, h.domain, h.interface, h.addresses, h.online, h.last_handshake, h.observed_at, h.node_id
    FROM presence_history h
    WHERE (h.source, h.device_id) > (p.source, p.device_id)
    ORDER BY h.source, h.device_id, h.observed_at DESC, h.event_id DESC
    LIMIT 1
  ) n
  WHERE $1::text IS NULL OR n.source = $1::text
)
SELECT l.source, l.device_id, l.name, l.domain, l.interface,
       ARRAY(SELECT host(a.address) FROM unnest(l.addresses) WITH ORDINALITY AS a(address, i) ORDER BY a.i) AS addresses,
       l.online, l.last_handshake, l.observed_at, l.node_id,
       m.name AS mapping_name, m.enabled AS mapping_enabled, m.custom_domain AS mapping_custom_domain
FROM latest l
LEFT JOIN presence_peer_mappings m ON m.source = l.source AND m.device_id = l.device_id
WHERE NOT ($4::boolean AND l.source = $2::text AND l.device_id = $3::text)
  AND ($5::boolean IS NULL OR l.online = $5::boolean)
ORDER BY l.source, l.device_id
LIMIT $6`;

const MAPPING_COLUMNS = 'source, device_id, name, enabled, custom_domain, created_at, updated_at';

/** Parameters only: $1 source, $2/$3 the key to start after, $4 limit. */
export const MAPPINGS_SQL = `
SELECT ${MAPPING_COLUMNS}
FROM presence_peer_mappings
WHERE ($1::text IS NULL OR source = $1::text)
  AND ($2::text IS NULL OR (source, device_id) > ($2::text, $3::text))
ORDER BY source, device_id
LIMIT $4`;

class PgMappingTx implements MappingTx {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly key: DeviceKey,
  ) {}

  async get(): Promise<MappingRow | null> {
    const { rows } = await this.client.query<MappingRow>(
      `SELECT ${MAPPING_COLUMNS} FROM presence_peer_mappings WHERE source = $1 AND device_id = $2`,
      [this.key.source, this.key.deviceId],
    );
    return rows[0] ?? null;
  }

  async upsert(values: MappingValues): Promise<MappingRow> {
    const { rows } = await this.client.query<MappingRow>(
      `INSERT INTO presence_peer_mappings (source, device_id, name, enabled, custom_domain) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (source, device_id) DO UPDATE
         SET name = EXCLUDED.name, enabled = EXCLUDED.enabled, custom_domain = EXCLUDED.custom_domain, updated_at = now()
       RETURNING ${MAPPING_COLUMNS}`,
      [this.key.source, this.key.deviceId, values.name, values.enabled, values.custom_domain],
    );
    const row = rows[0];
    if (row === undefined) throw new Error('no row returned');
    return row;
  }

  async delete(): Promise<void> {
    await this.client.query('DELETE FROM presence_peer_mappings WHERE source = $1 AND device_id = $2', [this.key.source, this.key.deviceId]);
  }

  audit(entry: AuditEntry): Promise<void> {
    return appendAudit(this.client, entry);
  }
}

export class PgPresenceStore implements PresenceStore {
  constructor(private readonly pool: pg.Pool) {}

  async peers(query: PeerQuery): Promise<PeerStateRow[]> {
    // Without a cursor the walk starts at the first device of the source (or of all): '' sorts first.
    const start = query.after ?? { source: query.source ?? '', deviceId: '' };
    const { rows } = await this.pool.query<PeerStateRow>(LATEST_PEERS_SQL, [
      query.source ?? null,
      start.source,
      start.deviceId,
      query.after !== null,
      query.online ?? null,
      query.limit,
    ]);
    return rows;
  }

  async mappings(page: DevicePage): Promise<MappingRow[]> {
    const { rows } = await this.pool.query<MappingRow>(MAPPINGS_SQL, [page.source ?? null, page.after?.source ?? null, page.after?.deviceId ?? null, page.limit]);
    return rows;
  }

  withMapping<T>(key: DeviceKey, fn: (tx: MappingTx) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, async (client) => {
      // A row lock cannot cover a mapping that does not exist yet; the advisory lock does
      // (hashtext collisions only serialise more than needed).
      await client.query("SELECT pg_advisory_xact_lock(hashtext('ghostdns.presence-mapping:' || $1 || '/' || $2))", [key.source, key.deviceId]);
      return fn(new PgMappingTx(client, key));
    });
  }
}
