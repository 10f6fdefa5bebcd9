import type pg from 'pg';
import { appendAudit, type AuditEntry } from '../storage/audit-log.js';
import { inTransaction } from '../storage/transaction.js';
import type { EntryValues, ListFormatId, ListValues, PolicyKindId } from './validation.js';

/** One row of policy_lists (migration 081). */
export interface ListRow extends ListValues {
  id: string;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string;
  updatedBy: string;
}

/** One row of policy_entries (migration 081). */
export interface EntryRow extends EntryValues {
  id: string;
  createdAt: Date;
  createdBy: string;
}

/** One page in (kind, key) order, key being a list's source or an entry's domain (unique per kind). */
export interface KeyPage {
  kind: PolicyKindId | undefined;
  /** Rows strictly after this (kind, key), or from the first. */
  after: readonly [PolicyKindId, string] | null;
  limit: number;
}

/** Reads and writes inside one transaction; the rows read are locked until it ends. */
export interface BlocklistsTx {
  list(id: string): Promise<ListRow | null>;
  /** null when another list already has this kind and source. */
  insertList(row: ListValues & { id: string; createdBy: string }): Promise<ListRow | null>;
  /** null when another list already has this kind and source. */
  updateList(id: string, values: ListValues, updatedBy: string): Promise<ListRow | null>;
  deleteList(id: string): Promise<void>;
  entry(id: string): Promise<EntryRow | null>;
  /** null when an entry of this kind already holds the domain. */
  insertEntry(row: EntryValues & { id: string; createdBy: string }): Promise<EntryRow | null>;
  deleteEntry(id: string): Promise<void>;
  audit(entry: AuditEntry): Promise<void>;
}

/** What BlocklistsService needs from storage (in memory in unit tests). */
export interface BlocklistsStore {
  /** Runs `fn` in one transaction; rolls back when it throws. */
  transaction<T>(fn: (tx: BlocklistsTx) => Promise<T>): Promise<T>;
  getList(id: string): Promise<ListRow | null>;
  lists(page: KeyPage): Promise<ListRow[]>;
  entries(page: KeyPage): Promise<EntryRow[]>;
  /** Everything, for the boot snapshot. */
  allLists(): Promise<ListRow[]>;
  allEntries(): Promise<EntryRow[]>;
}

interface RawList {
  id: string;
  kind: PolicyKindId;
  source: string;
  format: ListFormatId;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  created_by: string;
  updated_by: string;
}

interface RawEntry {
  id: string;
  kind: PolicyKindId;
  domain: string;
  comment: string | null;
  created_at: Date;
  created_by: string;
}

const LIST_COLUMNS = 'id::text AS id, kind, source, format, enabled, created_at, updated_at, created_by, updated_by';
const ENTRY_COLUMNS = 'id::text AS id, kind, domain, comment, created_at, created_by';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIQUE_VIOLATION = '23505';

const listRow = (r: RawList): ListRow => ({
  id: r.id, kind: r.kind, source: r.source, format: r.format, enabled: r.enabled,
  createdAt: r.created_at, updatedAt: r.updated_at, createdBy: r.created_by, updatedBy: r.updated_by,
});
const entryRow = (r: RawEntry): EntryRow => ({ id: r.id, kind: r.kind, domain: r.domain, comment: r.comment, createdAt: r.created_at, createdBy: r.created_by });

/**
 * One page of `table` in (kind, key) order. Parameters only: $1 kind filter (NULL: both), $2/$3 the
 * cursor position (NULL: from the first), $4 limit. The row comparison uses the unique index behind
 * the (kind, key) constraint.
 */
function pageSql(table: 'policy_lists' | 'policy_entries', key: 'source' | 'domain', columns: string): string {
  return `SELECT ${columns} FROM ${table}
    WHERE ($1::text IS NULL OR kind = $1)
      AND ($2::text IS NULL OR (kind, ${key}) > ($2::text, $3::text))
    ORDER BY kind, ${key}
    LIMIT $4`;
}

const LISTS_PAGE_SQL = pageSql('policy_lists', 'source', LIST_COLUMNS);
const ENTRIES_PAGE_SQL = pageSql('policy_entries', 'domain', ENTRY_COLUMNS);
const pageParams = (page: KeyPage): unknown[] => [page.kind ?? null, page.after?.[0] ?? null, page.after?.[1] ?? null, page.limit];

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === UNIQUE_VIOLATION;
}

class PgBlocklistsTx implements BlocklistsTx {
  constructor(private readonly client: pg.PoolClient) {}

  async list(id: string): Promise<ListRow | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.client.query<RawList>(`SELECT ${LIST_COLUMNS} FROM policy_lists WHERE id = $1::uuid FOR UPDATE`, [id]);
    return rows[0] === undefined ? null : listRow(rows[0]);
  }

  async insertList(row: ListValues & { id: string; createdBy: string }): Promise<ListRow | null> {
    const { rows } = await this.client.query<RawList>(
      `INSERT INTO policy_lists (id, kind, source, format, enabled, created_by, updated_by)
       VALUES ($1::uuid, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING ${LIST_COLUMNS}`,
      [row.id, row.kind, row.source, row.format, row.enabled, row.createdBy],
    );
    return rows[0] === undefined ? null : listRow(rows[0]);
  }

  async updateList(id: string, values: ListValues, updatedBy: string): Promise<ListRow | null> {
    try {
      const { rows } = await this.client.query<RawList>(
        `UPDATE policy_lists SET kind = $2, source = $3, format = $4, enabled = $5, updated_by = $6, updated_at = now()
         WHERE id = $1::uuid RETURNING ${LIST_COLUMNS}`,
        [id, values.kind, values.source, values.format, values.enabled, updatedBy],
      );
      return rows[0] === undefined ? null : listRow(rows[0]);
    } catch (error) {
      // The transaction is aborted either way; the caller answers 409 and rolls it back.
      if (isUniqueViolation(error)) return null;
      throw error;
    }
  }

  async deleteList(id: string): Promise<void> {
    await this.client.query('DELETE FROM policy_lists WHERE id = $1::uuid', [id]);
  }

  async entry(id: string): Promise<EntryRow | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.client.query<RawEntry>(`SELECT ${ENTRY_COLUMNS} FROM policy_entries WHERE id = $1::uuid FOR UPDATE`, [id]);
    return rows[0] === undefined ? null : entryRow(rows[0]);
  }

  async insertEntry(row: EntryValues & { id: string; createdBy: string }): Promise<EntryRow | null> {
    const { rows } = await this.client.query<RawEntry>(
      `INSERT INTO policy_entries (id, kind, domain, comment, created_by)
       VALUES ($1::uuid, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING ${ENTRY_COLUMNS}`,
      [row.id, row.kind, row.domain, row.comment, row.createdBy],
    );
    return rows[0] === undefined ? null : entryRow(rows[0]);
  }

  async deleteEntry(id: string): Promise<void> {
    await this.client.query('DELETE FROM policy_entries WHERE id = $1::uuid', [id]);
  }

  audit(entry: AuditEntry): Promise<void> {
    return appendAudit(this.client, entry);
  }
}

export class PgBlocklistsStore implements BlocklistsStore {
  constructor(private readonly pool: pg.Pool) {}

  transaction<T>(fn: (tx: BlocklistsTx) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, (client) => fn(new PgBlocklistsTx(client)));
  }

  async getList(id: string): Promise<ListRow | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.pool.query<RawList>(`SELECT ${LIST_COLUMNS} FROM policy_lists WHERE id = $1::uuid`, [id]);
    return rows[0] === undefined ? null : listRow(rows[0]);
  }

  async lists(page: KeyPage): Promise<ListRow[]> {
    const { rows } = await this.pool.query<RawList>(LISTS_PAGE_SQL, pageParams(page));
    return rows.map(listRow);
  }

  async entries(page: KeyPage): Promise<EntryRow[]> {
    const { rows } = await this.pool.query<RawEntry>(ENTRIES_PAGE_SQL, pageParams(page));
    return rows.map(entryRow);
  }

  async allLists(): Promise<ListRow[]> {
    const { rows } = await this.pool.query<RawList>(`SELECT ${LIST_COLUMNS} FROM policy_lists ORDER BY kind, source`);
    return rows.map(listRow);
  }

  async allEntries(): Promise<EntryRow[]> {
    const { rows } = await this.pool.query<RawEntry>(`SELECT ${ENTRY_COLUMNS} FROM policy_entries ORDER BY kind, domain`);
    return rows.map(entryRow);
  }
}
