import type pg from 'pg';
import { appendAudit, type AuditEntry } from '../storage/audit-log.js';
import { inTransaction } from '../storage/transaction.js';
import type { Metadata, RecordFilter, RecordType } from './validation.js';

export type { AuditEntry } from '../storage/audit-log.js';

/** One RRset as stored in dns_records. */
export interface RecordRow {
  id: string;
  name: string;
  type: RecordType;
  ttl: number;
  values: string[];
  metadata: Metadata;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string;
  updatedBy: string;
}

/** Reads and writes inside one transaction that holds the lock of one owner name. */
export interface RecordsTx {
  byName(name: string): Promise<RecordRow[]>;
  byId(id: string): Promise<RecordRow | null>;
  insert(row: Omit<RecordRow, 'createdAt' | 'updatedAt'>): Promise<RecordRow>;
  update(id: string, change: { ttl: number; values: string[]; metadata: Metadata; updatedBy: string }): Promise<RecordRow>;
  delete(id: string): Promise<void>;
  audit(entry: AuditEntry): Promise<void>;
}

/** What RecordsService needs from storage (in memory in unit tests). */
export interface RecordsStore {
  /**
   * Runs `fn` in one transaction holding a lock on `name` (so zone rules are
   * checked against what is committed and changes of one name are published in
   * commit order). Rolls back when `fn` throws.
   */
  withName<T>(name: string, fn: (tx: RecordsTx) => Promise<T>): Promise<T>;
  get(id: string): Promise<RecordRow | null>;
  list(filter: RecordFilter): Promise<RecordRow[]>;
  /** Every RRset, for the boot snapshot. */
  all(): Promise<RecordRow[]>;
}

interface RawRecord {
  id: string;
  name: string;
  type: string;
  ttl: number;
  values: string[];
  metadata: Metadata;
  created_at: Date;
  updated_at: Date;
  created_by: string;
  updated_by: string;
}

const COLUMNS = 'id::text AS id, name, type, ttl, "values", metadata, created_at, updated_at, created_by, updated_by';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toRow(r: RawRecord): RecordRow {
  return {
    id: r.id,
    name: r.name,
    type: r.type as RecordType,
    ttl: r.ttl,
    values: r.values,
    metadata: r.metadata,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
  };
}

function first(rows: RawRecord[]): RecordRow {
  const row = rows[0];
  if (row === undefined) throw new Error('no row returned');
  return toRow(row);
}

class PgRecordsTx implements RecordsTx {
  constructor(private readonly client: pg.PoolClient) {}

  async byName(name: string): Promise<RecordRow[]> {
    const { rows } = await this.client.query<RawRecord>(`SELECT ${COLUMNS} FROM dns_records WHERE name = $1 ORDER BY type`, [name]);
    return rows.map(toRow);
  }

  async byId(id: string): Promise<RecordRow | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.client.query<RawRecord>(`SELECT ${COLUMNS} FROM dns_records WHERE id = $1::uuid`, [id]);
    return rows[0] === undefined ? null : toRow(rows[0]);
  }

  async insert(row: Omit<RecordRow, 'createdAt' | 'updatedAt'>): Promise<RecordRow> {
    const { rows } = await this.client.query<RawRecord>(
      `INSERT INTO dns_records (id, name, type, ttl, "values", metadata, created_by, updated_by)
       VALUES ($1::uuid, $2, $3, $4, $5::text[], $6::jsonb, $7, $8) RETURNING ${COLUMNS}`,
      [row.id, row.name, row.type, row.ttl, row.values, JSON.stringify(row.metadata), row.createdBy, row.updatedBy],
    );
    return first(rows);
  }

  async update(id: string, change: { ttl: number; values: string[]; metadata: Metadata; updatedBy: string }): Promise<RecordRow> {
    const { rows } = await this.client.query<RawRecord>(
      `UPDATE dns_records SET ttl = $2, "values" = $3::text[], metadata = $4::jsonb, updated_by = $5, updated_at = now()
       WHERE id = $1::uuid RETURNING ${COLUMNS}`,
      [id, change.ttl, change.values, JSON.stringify(change.metadata), change.updatedBy],
    );
    return first(rows);
  }

  async delete(id: string): Promise<void> {
    await this.client.query('DELETE FROM dns_records WHERE id = $1::uuid', [id]);
  }

  audit(entry: AuditEntry): Promise<void> {
    return appendAudit(this.client, entry);
  }
}

export class PgRecordsStore implements RecordsStore {
  constructor(private readonly pool: pg.Pool) {}

  withName<T>(name: string, fn: (tx: RecordsTx) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, async (client) => {
      // One lock per owner name (hashtext collisions only serialise more than needed).
      await client.query("SELECT pg_advisory_xact_lock(hashtext('ghostdns.records:' || $1))", [name]);
      return fn(new PgRecordsTx(client));
    });
  }

  async get(id: string): Promise<RecordRow | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.pool.query<RawRecord>(`SELECT ${COLUMNS} FROM dns_records WHERE id = $1::uuid`, [id]);
    return rows[0] === undefined ? null : toRow(rows[0]);
  }

  async list(filter: RecordFilter): Promise<RecordRow[]> {
    // Parameters only: an unset filter is NULL and matches everything.
    const { rows } = await this.pool.query<RawRecord>(
      `SELECT ${COLUMNS} FROM dns_records
       WHERE ($1::text IS NULL OR name = $1)
         AND ($2::text IS NULL OR type = $2)
         AND ($3::text IS NULL OR name = $3 OR right(name, length($3) + 1) = '.' || $3)
       ORDER BY name, type, id
       LIMIT $4 OFFSET $5`,
      [filter.name ?? null, filter.type ?? null, filter.zone ?? null, filter.limit, filter.offset],
    );
    return rows.map(toRow);
  }

  async all(): Promise<RecordRow[]> {
    const { rows } = await this.pool.query<RawRecord>(`SELECT ${COLUMNS} FROM dns_records ORDER BY name, type`);
    return rows.map(toRow);
  }
}
