import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { newPgClient } from '../src/pg-client.js';
import { requireComponent, timescalePoolMax } from '../src/index.js';

function tcpReachable(hostPort: string): Promise<boolean> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('harness components', () => {
  it('postgres answers on TEST_POSTGRES_URL', async () => {
    const c = newPgClient(requireComponent('postgres'));
    await c.connect();
    try {
      const res = (await c.query('SELECT current_database() AS db')) as { rows: Array<{ db: string }> };
      expect(res.rows[0]?.db).toMatch(/^ghostdns_test_|./);
    } finally {
      await c.end();
    }
  });

  it('timescaledb answers with the extension and hypertables work', async () => {
    expect(timescalePoolMax()).toBeGreaterThanOrEqual(1);
    const c = newPgClient(requireComponent('timescaledb'));
    await c.connect();
    try {
      await c.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
      await c.query('DROP TABLE IF EXISTS testkit_probe');
      await c.query('CREATE TABLE testkit_probe (t timestamptz NOT NULL, v int)');
      await c.query("SELECT create_hypertable('testkit_probe', 't', chunk_time_interval => INTERVAL '1 day')");
      await c.query('INSERT INTO testkit_probe VALUES (now(), 1)');
      const res = (await c.query(
        "SELECT count(*)::int AS n FROM timescaledb_information.hypertables WHERE hypertable_name = 'testkit_probe'",
      )) as { rows: Array<{ n: number }> };
      expect(res.rows[0]?.n).toBe(1);
      await c.query('DROP TABLE testkit_probe');
    } finally {
      await c.end();
    }
  });

  it('kafka exports three reachable brokers', async () => {
    const brokers = requireComponent('kafka').split(',');
    expect(brokers).toHaveLength(3);
    for (const b of brokers) expect(await tcpReachable(b)).toBe(true);
  });

  it('redis answers PING', async () => {
    const r = new Redis(requireComponent('redis'), { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await r.connect();
      expect(await r.ping()).toBe('PONG');
    } finally {
      r.disconnect();
    }
  });
});
