import type pg from 'pg';
import { DNS_QUERY_COLUMNS, type DnsQueryRow } from './row.js';
import { IngestError } from './errors.js';

const COLUMN_LIST = DNS_QUERY_COLUMNS.map(([name]) => name).join(', ');
const UNNEST_ARGS = DNS_QUERY_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');

const NODE_ID_PARAM = DNS_QUERY_COLUMNS.findIndex(([name]) => name === 'node_id') + 1;
const POP_PARAM = DNS_QUERY_COLUMNS.findIndex(([name]) => name === 'pop') + 1;

/**
 * One statement per batch, whatever its size: 26 array parameters unnested into
 * rows. Replays are absorbed by the unique key (event_id, queried_at). The
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
  `INSERT INTO dns_queries (${COLUMN_LIST}) ` +
  `SELECT * FROM unnest(${UNNEST_ARGS}) ` +
  `ON CONFLICT (event_id, queried_at) DO NOTHING`;

/** Column-major parameters for INSERT_DNS_QUERIES_SQL. */
export function toColumnArrays(rows: readonly DnsQueryRow[]): unknown[][] {
  return DNS_QUERY_COLUMNS.map(([name]) => rows.map((row) => row[name]));
}

/** The part of pg.Pool the writer uses (lets unit tests stub it). */
export type PgPoolLike = Pick<pg.Pool, 'connect'>;

/** Repository for dns_queries writes. */
export class QueryEventWriter {
  constructor(private readonly pool: PgPoolLike) {}

  /**
   * Inserts the rows in one transaction and returns how many were new
   * (duplicates of rows already stored are skipped). Resolves only after
   * COMMIT; any failure rolls back and rejects with GHOSTDNS_INGEST_DB_WRITE_FAILED.
   */
  async write(rows: readonly DnsQueryRow[]): Promise<number> {
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
        const result = await client.query(INSERT_DNS_QUERIES_SQL, toColumnArrays(rows));
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
        `writing ${rows.length} rows to dns_queries failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    } finally {
      client.off('error', onConnectionError);
      client.release(broken);
    }
  }
}
