// Hostname mappings kept in the database (issue 6, the seed's PeerHostnameMapping):
// the name a peer is published under and whether it is published at all. Written by
// `ghostdns haddns map` / `haddns setup`, read by the sources each poll.
import type { Database } from '@ghostdns/db';
import { PresenceError } from './errors.js';
import { sanitizeLabel } from './names.js';

/** One row of presence_peer_mappings (packages/db/migrations/050_presence_mappings.sql). */
export interface PeerMapping {
  /** presenceSourceId() of the source: "wireguard", "tailscale". */
  readonly source: string;
  /** WireGuard public key or Tailscale node id. */
  readonly deviceId: string;
  /** A DNS label (sanitizeLabel() leaves it unchanged). */
  readonly name: string;
  /** false: never published, online or not. */
  readonly enabled: boolean;
}

/** The I/O seam the sources read mappings through. */
export interface PeerMappingReader {
  /** Device id -> mapping, for one source; rejects with GHOSTDNS_PRESENCE_MAPPINGS_FAILED. */
  read(sourceId: string): Promise<ReadonlyMap<string, PeerMapping>>;
}

export interface PeerMappingStore extends PeerMappingReader {
  /** Creates or replaces the mapping of one device. */
  upsert(mapping: PeerMapping): Promise<void>;
  /** Creates the mappings of devices that have none (existing ones are kept); returns how many were created. */
  insertMissing(mappings: readonly PeerMapping[]): Promise<number>;
}

/** PostgreSQL's undefined_table: nobody ever ran a migration that writes mappings, so there are none. */
const UNDEFINED_TABLE = '42P01';

function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** The label a mapping may hold, or a PresenceError naming the rejected input. */
export function mappingName(raw: string): string {
  const label = sanitizeLabel(raw);
  if (label === null) throw new PresenceError('GHOSTDNS_PRESENCE_MAPPING_INVALID', `"${raw}" makes no DNS label`);
  return label;
}

/** Mappings in the database's presence_peer_mappings table. */
export function databasePeerMappings(db: Pick<Database, 'pool'>): PeerMappingStore {
  const failed = (what: string, err: unknown): PresenceError =>
    new PresenceError('GHOSTDNS_PRESENCE_MAPPINGS_FAILED', `cannot ${what} the peer mappings: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  return {
    async read(sourceId) {
      try {
        const { rows } = await db.pool.query<{ device_id: string; name: string; enabled: boolean }>(
          'SELECT device_id, name, enabled FROM presence_peer_mappings WHERE source = $1',
          [sourceId],
        );
        return new Map(rows.map((row) => [row.device_id, { source: sourceId, deviceId: row.device_id, name: row.name, enabled: row.enabled }]));
      } catch (err) {
        if (sqlState(err) === UNDEFINED_TABLE) return new Map();
        throw failed('read', err);
      }
    },
    async upsert(mapping) {
      try {
        await db.pool.query(
          `INSERT INTO presence_peer_mappings (source, device_id, name, enabled) VALUES ($1, $2, $3, $4)
           ON CONFLICT (source, device_id) DO UPDATE SET name = EXCLUDED.name, enabled = EXCLUDED.enabled, updated_at = now()`,
          [mapping.source, mapping.deviceId, mappingName(mapping.name), mapping.enabled],
        );
      } catch (err) {
        throw err instanceof PresenceError ? err : failed('write', err);
      }
    },
    async insertMissing(mappings) {
      let created = 0;
      try {
        for (const mapping of mappings) {
          const result = await db.pool.query(
            `INSERT INTO presence_peer_mappings (source, device_id, name, enabled) VALUES ($1, $2, $3, $4)
             ON CONFLICT (source, device_id) DO NOTHING`,
            [mapping.source, mapping.deviceId, mappingName(mapping.name), mapping.enabled],
          );
          created += result.rowCount ?? 0;
        }
      } catch (err) {
        throw err instanceof PresenceError ? err : failed('write', err);
      }
      return created;
    },
  };
}
