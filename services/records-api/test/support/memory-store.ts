import type { AuditEntry, RecordRow, RecordsStore, RecordsTx } from '../../src/records/records.repository.js';
import type { RecordFilter } from '../../src/records/validation.js';

/** RecordsStore in memory: a transaction works on a copy that replaces the rows on commit. */
export class MemoryRecordsStore implements RecordsStore {
  rows = new Map<string, RecordRow>();
  audits: AuditEntry[] = [];
  failWith: Error | null = null;
  /** Thrown in place of the commit, after the transaction's work (and its publishes) ran. */
  failCommitWith: Error | null = null;
  private clock = 0;

  private stamp(): Date {
    return new Date(Date.UTC(2024, 0, 1) + ++this.clock * 1000);
  }

  async withName<T>(_name: string, fn: (tx: RecordsTx) => Promise<T>): Promise<T> {
    if (this.failWith !== null) throw this.failWith;
    const rows = new Map(this.rows);
    const audits: AuditEntry[] = [];
    const tx: RecordsTx = {
      byName: async (name) => [...rows.values()].filter((r) => r.name === name),
      byId: async (id) => rows.get(id) ?? null,
      insert: async (row) => {
        const at = this.stamp();
        const stored = { ...row, createdAt: at, updatedAt: at };
        rows.set(row.id, stored);
        return stored;
      },
      update: async (id, change) => {
        const old = rows.get(id);
        if (old === undefined) throw new Error('no such row');
        const stored = { ...old, ...change, updatedAt: this.stamp() };
        rows.set(id, stored);
        return stored;
      },
      delete: async (id) => void rows.delete(id),
      audit: async (entry) => void audits.push(entry),
    };
    const result = await fn(tx);
    if (this.failCommitWith !== null) throw this.failCommitWith;
    this.rows = rows;
    this.audits.push(...audits);
    return result;
  }

  async get(id: string): Promise<RecordRow | null> {
    if (this.failWith !== null) throw this.failWith;
    return this.rows.get(id) ?? null;
  }

  async list(filter: RecordFilter): Promise<RecordRow[]> {
    return [...this.rows.values()]
      .filter((r) => (filter.name === undefined || r.name === filter.name) && (filter.type === undefined || r.type === filter.type))
      .filter((r) => filter.zone === undefined || r.name === filter.zone || r.name.endsWith(`.${filter.zone}`))
      .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type))
      .slice(filter.offset, filter.offset + filter.limit);
  }

  async all(): Promise<RecordRow[]> {
    return [...this.rows.values()];
  }
}
