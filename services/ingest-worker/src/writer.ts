import type pg from 'pg';
import {
  DNS_QUERY_COLUMNS,
  PRESENCE_HISTORY_COLUMNS,
  SECURITY_EVENT_COLUMNS,
  type DnsQueryRow,
  type PresenceHistoryRow,
  type SecurityEventRow,
} from './row.js';
import { IngestError } from './errors.js';

/** Column name and the PostgreSQL type of its values, in table order. */
export type ColumnList<Row> = readonly (readonly [keyof Row & string, string])[];

const isArrayType = (type: string): boolean => type.endsWith('[]');

/**
 * `INSERT INTO <table> (…) SELECT … FROM unnest($1::t1[], …) … ON CONFLICT <target> DO NOTHING`:
 * one statement per batch whatever its size, one array parameter per column. A column of an
 * array type travels as one array literal (text) per row and is cast back in the SELECT: unnest
 * would flatten a 2-D parameter entirely, and PostgreSQL arrays must be rectangular anyway.
 */
export function unnestInsertSql<Row>(table: string, columns: ColumnList<Row>, conflictTarget: string): string {
  const names = columns.map(([name]) => name).join(', ');
  const select = columns.map(([name, type]) => (isArrayType(type) ? `${name}::${type}` : name)).join(', ');
  const args = columns.map(([, type], i) => `$${i + 1}::${isArrayType(type) ? 'text' : type}[]`).join(', ');
  return `INSERT INTO ${table} (${names}) SELECT ${select} FROM unnest(${args}) AS r(${names}) ON CONFLICT ${conflictTarget} DO NOTHING`;
}

/** A PostgreSQL array literal whose elements are taken verbatim (quoted, `"` and `\` escaped). */
export function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((value) => `"${value.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

/** Column-major parameters for unnestInsertSql(…, columns, …). */
export function toColumnArrays<Row>(columns: ColumnList<Row>, rows: readonly Row[]): unknown[][] {
  return columns.map(([name, type]) =>
    // Array columns hold string[] (ColumnList does not carry the element type).
    isArrayType(type) ? rows.map((row) => arrayLiteral(row[name] as readonly string[])) : rows.map((row) => row[name]),
  );
}

const NODE_ID_PARAM = DNS_QUERY_COLUMNS.findIndex(([name]) => name === 'node_id') + 1;
const POP_PARAM = DNS_QUERY_COLUMNS.findIndex(([name]) => name === 'pop') + 1;

/**
 * One statement per batch: the rows unnested from one array parameter per column.
 * Replays are absorbed by the unique key (event_id, queried_at). The
 * leading CTE registers in dns_nodes (migration 002) every node of the batch
 * not yet there, reusing the node_id and pop arrays, so a node appears the
 * first time one of its events is stored, in the same transaction.
 *
 * unnest rather than COPY: COPY cannot skip conflicting rows (it would need a
 * staging table and a second INSERT … SELECT … ON CONFLICT, three statements),
 * and it does not pass through the TimescaleDB test proxy (PGlite socket);
 * unnest works on plain Postgres and on hypertables alike.
 */
export const INSERT_DNS_QUERIES_SQL =
  `WITH new_nodes AS (` +
  `INSERT INTO dns_nodes (node_name, location) ` +
  `SELECT DISTINCT ON (node_name) node_name, location FROM unnest($${NODE_ID_PARAM}::text[], $${POP_PARAM}::text[]) AS n(node_name, location) ` +
  `ON CONFLICT (node_name) DO NOTHING) ` +
  unnestInsertSql('dns_queries', DNS_QUERY_COLUMNS, '(event_id, queried_at)');

/** A redelivered presence event is absorbed by the unique key (event_id, observed_at). */
export const INSERT_PRESENCE_HISTORY_SQL = unnestInsertSql('presence_history', PRESENCE_HISTORY_COLUMNS, '(event_id, observed_at)');

/** A redelivered security event is absorbed by the unique key (event_id, detected_at). */
export const INSERT_SECURITY_EVENTS_SQL = unnestInsertSql('security_events', SECURITY_EVENT_COLUMNS, '(event_id, detected_at)');

/** The part of pg.Pool the writer uses (lets unit tests stub it). */
export type PgPoolLike = Pick<pg.Pool, 'connect'>;

/** Writes batches of one table's rows with its unnest statement. */
export class TableWriter<Row> {
  constructor(
    private readonly pool: PgPoolLike,
    private readonly table: string,
    private readonly sql: string,
    private readonly columns: ColumnList<Row>,
  ) {}

  /**
   * Inserts the rows in one transaction and returns how many were new
   * (duplicates of rows already stored are skipped). Resolves only after
   * COMMIT; any failure rolls back and rejects with GHOSTDNS_INGEST_DB_WRITE_FAILED.
   */
  async write(rows: readonly Row[]): Promise<number> {
    if (rows.length === 0) return 0;
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client whose connection drops between two queries emits 'error' on
    // itself (the pool listens only on idle clients); unheard, that would crash the process.
    // Remember it: the next query fails, and the client is destroyed rather than reused.
    const onConnectionError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onConnectionError);
    try {
      await client.query('BEGIN');
      try {
        const result = await client.query(this.sql, toColumnArrays(this.columns, rows));
        await client.query('COMMIT');
        return result.rowCount ?? 0;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          // The connection is in an unknown state: do not return it to the pool.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
        throw error;
      }
    } catch (error) {
      throw new IngestError(
        'GHOSTDNS_INGEST_DB_WRITE_FAILED',
        `writing ${rows.length} rows to ${this.table} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    } finally {
      client.off('error', onConnectionError);
      client.release(broken);
    }
  }
}

export class QueryEventWriter extends TableWriter<DnsQueryRow> {
  constructor(pool: PgPoolLike) {
    super(pool, 'dns_queries', INSERT_DNS_QUERIES_SQL, DNS_QUERY_COLUMNS);
  }
}

export class PresenceHistoryWriter extends TableWriter<PresenceHistoryRow> {
  constructor(pool: PgPoolLike) {
    super(pool, 'presence_history', INSERT_PRESENCE_HISTORY_SQL, PRESENCE_HISTORY_COLUMNS);
  }
}

export class SecurityEventWriter extends TableWriter<SecurityEventRow> {
  constructor(pool: PgPoolLike) {
    super(pool, 'security_events', INSERT_SECURITY_EVENTS_SQL, SECURITY_EVENT_COLUMNS);
  }
}
