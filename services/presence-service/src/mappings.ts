// Hostname mappings kept in the database (issue 6, the seed's PeerHostnameMapping):
// the name a peer is published under, the domain it goes under and whether it is published at
// all. Written by `ghostdns haddns map` / `haddns setup`, read by the sources each poll.
import type { Database } from '@ghostdns/db';
import { PresenceError } from './errors.js';
import { normalizeCustomDomain, sanitizeLabel } from '@ghostdns/contracts';

/** One row of presence_peer_mappings (packages/db/migrations/050_presence_mappings.sql, 051_presence_custom_domain.sql). */
export interface PeerMapping {
  /** presenceSourceId() of the source: "wireguard", "tailscale". */
  readonly source: string;
  /** WireGuard public key or Tailscale node id. */
  readonly deviceId: string;
  /** A DNS label (sanitizeLabel() leaves it unchanged). */
  readonly name: string;
  /** false: never published, online or not. */
  readonly enabled: boolean;
  /** The domain the peer's names go under instead of the presence suffix (mappingDomain() leaves it unchanged); null: the suffix. */
  readonly customDomain: string | null;
}

/** A mapping to write; without customDomain an existing mapping keeps its domain (a new one has none). */
export type PeerMappingInput = Omit<PeerMapping, 'customDomain'> & { readonly customDomain?: string | null };

/** The I/O seam the sources read mappings through. */
export interface PeerMappingReader {
  /** Device id -> mapping, for one source; rejects with GHOSTDNS_PRESENCE_MAPPINGS_FAILED. */
  read(sourceId: string): Promise<ReadonlyMap<string, PeerMapping>>;
}

export interface PeerMappingStore extends PeerMappingReader {
  /** Creates or replaces the mapping of one device; resolves with the mapping as stored. */
  upsert(mapping: PeerMappingInput): Promise<PeerMapping>;
  /** Creates the mappings of devices that have none (existing ones are kept); returns how many were created. */
  insertMissing(mappings: readonly PeerMappingInput[]): Promise<number>;
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

/**
 * The custom domain a mapping may hold: `raw` lower-cased, without its root dot ("Home.Example." ->
 * "home.example"); anything else that is not a DNS name is refused with a PresenceError naming it,
 * never guessed into one (a domain is someone's, unlike a device's display name).
 */
export function mappingDomain(raw: string): string {
  const { domain, problem } = normalizeCustomDomain(raw);
  if (problem !== null) throw new PresenceError('GHOSTDNS_PRESENCE_MAPPING_INVALID', `custom domain "${raw}" is not a DNS name: ${problem}`);
  return domain;
}

interface MappingRow {
  device_id: string;
  name: string;
  enabled: boolean;
  custom_domain: string | null;
}

const COLUMNS = 'device_id, name, enabled, custom_domain';

function fromRow(source: string, row: MappingRow): PeerMapping {
  return { source, deviceId: row.device_id, name: row.name, enabled: row.enabled, customDomain: row.custom_domain };
}

/** The row values of a mapping to write, validated: source, device id, name, enabled, custom domain. */
function rowValues(mapping: PeerMappingInput): [string, string, string, boolean, string | null] {
  const domain = mapping.customDomain ?? null;
  return [mapping.source, mapping.deviceId, mappingName(mapping.name), mapping.enabled, domain === null ? null : mappingDomain(domain)];
}

/** Mappings in the database's presence_peer_mappings table. */
export function databasePeerMappings(db: Pick<Database, 'pool'>): PeerMappingStore {
  const failed = (what: string, err: unknown): PresenceError =>
    new PresenceError('GHOSTDNS_PRESENCE_MAPPINGS_FAILED', `cannot ${what} the peer mappings: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  return {
    async read(sourceId) {
      try {
        const { rows } = await db.pool.query<MappingRow>(`SELECT ${COLUMNS} FROM presence_peer_mappings WHERE source = $1`, [sourceId]);
        return new Map(rows.map((row) => [row.device_id, fromRow(sourceId, row)]));
      } catch (err) {
        if (sqlState(err) === UNDEFINED_TABLE) return new Map();
        throw failed('read', err);
      }
    },
    async upsert(mapping) {
      try {
        const { rows } = await db.pool.query<MappingRow>(
          `INSERT INTO presence_peer_mappings (source, device_id, name, enabled, custom_domain) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (source, device_id) DO UPDATE SET name = EXCLUDED.name, enabled = EXCLUDED.enabled,
             custom_domain = CASE WHEN $6 THEN EXCLUDED.custom_domain ELSE presence_peer_mappings.custom_domain END, updated_at = now()
           RETURNING ${COLUMNS}`,
          [...rowValues(mapping), mapping.customDomain !== undefined],
        );
        const [row] = rows;
        if (row === undefined) throw new Error('the upsert returned no row');
        return fromRow(mapping.source, row);
      } catch (err) {
        throw err instanceof PresenceError ? err : failed('write', err);
      }
    },
    async insertMissing(mappings) {
      let created = 0;
      try {
        for (const mapping of mappings) {
          const result = await db.pool.query(
            `INSERT INTO presence_peer_mappings (source, device_id, name, enabled, custom_domain) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (source, device_id) DO NOTHING`,
            rowValues(mapping),
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
