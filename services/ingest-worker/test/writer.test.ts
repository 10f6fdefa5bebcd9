import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../src/errors.js';
import { QueryEventMapper } from '../src/mapper.js';
import { PresenceEventMapper } from '../src/presence-mapper.js';
import { DNS_QUERY_COLUMNS, PRESENCE_HISTORY_COLUMNS, SECURITY_EVENT_COLUMNS } from '../src/row.js';
import { SecurityEventMapper } from '../src/security-mapper.js';
import {
  arrayLiteral,
  INSERT_DNS_QUERIES_SQL,
  INSERT_PRESENCE_HISTORY_SQL,
  INSERT_SECURITY_EVENTS_SQL,
  PresenceHistoryWriter,
  QueryEventWriter,
  SecurityEventWriter,
  type PgPoolLike,
} from '../src/writer.js';
import { device, presenceEvent, queryEvent, securityEvent } from './fixtures.js';

/** A pool of one scripted client: records every query, fails the ones the test names. */
class StubPool implements PgPoolLike {
  readonly queries: { text: string; values: unknown[] | undefined }[] = [];
  readonly released: (Error | boolean | undefined)[] = [];
  readonly client = new EventEmitter();

  constructor(private readonly fail: { statement?: Error; rollback?: Error; dropBeforeInsert?: Error } = {}) {}

  connect(): Promise<pg.PoolClient> {
    const client = Object.assign(this.client, {
      query: (text: string, values?: unknown[]) => {
        this.queries.push({ text, values });
        if (text === 'ROLLBACK' && this.fail.rollback) return Promise.reject(this.fail.rollback);
        if (text === 'BEGIN' && this.fail.dropBeforeInsert) this.client.emit('error', this.fail.dropBeforeInsert);
        if (text !== 'BEGIN' && text !== 'COMMIT' && text !== 'ROLLBACK' && this.fail.statement) return Promise.reject(this.fail.statement);
        return Promise.resolve({ rowCount: values?.[0] instanceof Array ? values[0].length : 0 });
      },
      release: (err?: Error | boolean) => {
        this.released.push(err);
      },
    });
    return Promise.resolve(client as unknown as pg.PoolClient);
  }
}

const queryRows = new QueryEventMapper().mapBatch([queryEvent(), queryEvent({ device: device() })]).rows;
const presenceRows = new PresenceEventMapper().mapBatch([presenceEvent(), presenceEvent({ addresses: [] })]).rows;
const securityRows = new SecurityEventMapper().mapBatch([securityEvent(), securityEvent({ qname: null })]).rows;

// Each writer with a batch of its rows (closed over, so the table can hold both row types).
const writers = [
  {
    table: 'dns_queries',
    write: (pool: PgPoolLike, empty = false) => new QueryEventWriter(pool).write(empty ? [] : queryRows),
    rows: queryRows.length,
    sql: INSERT_DNS_QUERIES_SQL,
    columns: DNS_QUERY_COLUMNS.length,
  },
  {
    table: 'presence_history',
    write: (pool: PgPoolLike, empty = false) => new PresenceHistoryWriter(pool).write(empty ? [] : presenceRows),
    rows: presenceRows.length,
    sql: INSERT_PRESENCE_HISTORY_SQL,
    columns: PRESENCE_HISTORY_COLUMNS.length,
  },
  {
    table: 'security_events',
    write: (pool: PgPoolLike, empty = false) => new SecurityEventWriter(pool).write(empty ? [] : securityRows),
    rows: securityRows.length,
    sql: INSERT_SECURITY_EVENTS_SQL,
    columns: SECURITY_EVENT_COLUMNS.length,
  },
] as const;

describe.each(writers)('the $table writer (stubbed pool)', ({ table, write, rows, sql, columns }) => {
  it('writes a batch as one statement in a transaction, one array per column, and returns the new rows', async () => {
    const pool = new StubPool();
    expect(await write(pool)).toBe(rows);
    expect(pool.queries.map((q) => q.text)).toEqual(['BEGIN', sql, 'COMMIT']);
    const values = pool.queries[1]?.values ?? [];
    expect(values).toHaveLength(columns);
    for (const column of values) expect(column).toHaveLength(rows);
    expect(pool.released).toEqual([undefined]);
  });

  it('does not touch the database for an empty batch', async () => {
    const pool = new StubPool();
    expect(await write(pool, true)).toBe(0);
    expect(pool.queries).toEqual([]);
  });

  it.each([
    ['the statement fails', { statement: new Error('duplicate key') }, false],
    ['the rollback fails too', { statement: new Error('connection reset'), rollback: new Error('not connected') }, true],
    ['the connection drops while checked out', { statement: new Error('connection terminated'), dropBeforeInsert: new Error('ECONNRESET') }, true],
  ])('rolls back and rejects with GHOSTDNS_INGEST_DB_WRITE_FAILED when %s', async (_name, fail, discarded) => {
    const pool = new StubPool(fail);
    const error = await write(pool).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect(error).toMatchObject({ code: 'GHOSTDNS_INGEST_DB_WRITE_FAILED', cause: fail.statement });
    expect((error as IngestError).message).toContain(`to ${table} failed`);
    expect(pool.queries.map((q) => q.text)).toEqual(['BEGIN', sql, 'ROLLBACK']);
    // A client in an unknown state is destroyed (release(err)), never returned to the pool.
    expect(pool.released).toHaveLength(1);
    expect(pool.released[0] instanceof Error).toBe(discarded);
    expect(pool.client.listenerCount('error')).toBe(0);
  });
});

describe('the unnest statements', () => {
  it('write the device columns of dns_queries and skip replays', () => {
    expect(INSERT_DNS_QUERIES_SQL).toContain('device_source, device_id, device_name) SELECT');
    expect(INSERT_DNS_QUERIES_SQL).toMatch(/\$29::text\[\]\) AS r\(/);
    expect(INSERT_DNS_QUERIES_SQL).toMatch(/ON CONFLICT \(event_id, queried_at\) DO NOTHING$/);
  });

  it('pass presence addresses as one array literal per row, cast back to inet[]', () => {
    expect(INSERT_PRESENCE_HISTORY_SQL).toContain('addresses::inet[]');
    expect(INSERT_PRESENCE_HISTORY_SQL).toContain('$10::text[]');
    expect(INSERT_PRESENCE_HISTORY_SQL).toMatch(/ON CONFLICT \(event_id, observed_at\) DO NOTHING$/);
  });

  it('write security events with their details as jsonb and skip replays', () => {
    expect(INSERT_SECURITY_EVENTS_SQL).toContain('INSERT INTO security_events (detected_at, event_id, node_id, kind, severity, client_ip, qname, details)');
    expect(INSERT_SECURITY_EVENTS_SQL).toContain('$8::jsonb[]');
    expect(INSERT_SECURITY_EVENTS_SQL).toMatch(/ON CONFLICT \(event_id, detected_at\) DO NOTHING$/);
  });

  it.each([
    [[], '{}'],
    [['10.8.0.2', 'fd00:8::2'], '{"10.8.0.2","fd00:8::2"}'],
    [['a"b', 'c\\d', 'e,f'], '{"a\\"b","c\\\\d","e,f"}'],
  ])('formats %j as the array literal %s', (values, literal) => {
    expect(arrayLiteral(values)).toBe(literal);
  });

  it('hands the presence writer its addresses as literals', async () => {
    const pool = new StubPool();
    await new PresenceHistoryWriter(pool).write(presenceRows);
    const addresses = pool.queries[1]?.values?.[PRESENCE_HISTORY_COLUMNS.findIndex(([name]) => name === 'addresses')];
    expect(addresses).toEqual(['{"10.8.0.2","fd00:8::2"}', '{}']);
  });
});
