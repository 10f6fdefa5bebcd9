import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { requireComponent, timescalePoolMax } from '@ghostdns/testkit';
import { openDatabase, type Database, type DbLogger } from '../src/index.js';

export interface LogEntry {
  level: 'info' | 'warn' | 'error' | 'debug';
  message: string;
  fields?: Record<string, unknown>;
}

export function captureLogger(): DbLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, fields?: Record<string, unknown>): void => {
      entries.push({ level, message, fields });
    };
  return { entries, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

/** A brand-new database on the harness PostgreSQL (TEST_POSTGRES_URL), dropped by `drop()`. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = requireComponent('postgres');
  const name = `ghostdns_dbtest_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Opens the harness TimescaleDB (TEST_TIMESCALE_URL) after dropping what
 * migrations create: the PGlite stand-in has a single database, shared by
 * every test file.
 */
export async function openCleanTimescale(logger: DbLogger): Promise<Database> {
  const db = await openDatabase(requireComponent('timescaledb'), { logger, poolSize: timescalePoolMax() });
  await db.pool.query(
    'DROP TABLE IF EXISTS dns_queries CASCADE; DROP TABLE IF EXISTS schema_migrations; DROP TABLE IF EXISTS dns_nodes; ' +
      'DROP FUNCTION IF EXISTS ghostdns_ensure_partitions(int)',
  );
  return db;
}

export interface ColumnInfo {
  column_name: string;
  data_type: string;
  is_nullable: string;
}

export async function dnsQueriesColumns(db: Database): Promise<ColumnInfo[]> {
  return relationColumns(db, 'dns_queries');
}

/** Columns of a table or view in the current schema, in order. */
export async function relationColumns(db: Database, relation: string): Promise<ColumnInfo[]> {
  const res = await db.pool.query<ColumnInfo>(
    `SELECT column_name, data_type, is_nullable
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1
      ORDER BY ordinal_position`,
    [relation],
  );
  return res.rows;
}

/** One dns_queries row as ingest-worker writes it. */
export function sampleRow(eventId: string, queriedAt: Date): unknown[] {
  return [
    queriedAt, eventId, 'node-1', 'ams1', 'RESOLVER_EDGE', 'CLIENT_RESPONSE', '192.0.2.10', 53000, 'UDP',
    'www.example.com', 'example.com', 'A', 'IN', 'qr rd ra', 'NOERROR', true, 'HIT', new Date(queriedAt.getTime() + 1),
    1000, 1, 64, null, null, 'PASS', Buffer.from([0xab, 0xcd]), null,
  ];
}

export const INSERT_SQL = `INSERT INTO dns_queries (
  queried_at, event_id, node_id, pop, source, message_type, client_ip, client_port, transport,
  domain, apex_domain, qtype, qclass, flags, response_rcode, cached, cache_status, response_time,
  latency_us, answer_count, response_size, upstream, upstream_latency_us, policy_action, query_wire, response_wire
) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26)
ON CONFLICT (event_id, queried_at) DO NOTHING`;
