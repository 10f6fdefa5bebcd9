import type { PgQueryable } from '../stats/stats.repository.js';

/** One line of api_audit_log (migration 060): who wrote what, from where. */
export interface AuditEntry {
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  clientIp: string | null;
}

/** Appends to api_audit_log; callers pass their transaction's client so the line commits with the write. */
export async function appendAudit(client: PgQueryable, entry: AuditEntry): Promise<void> {
  await client.query(
    'INSERT INTO api_audit_log (actor, action, target, details, client_ip) VALUES ($1, $2, $3, $4::jsonb, $5)',
    [entry.actor, entry.action, entry.target, JSON.stringify(entry.details), entry.clientIp],
  );
}
