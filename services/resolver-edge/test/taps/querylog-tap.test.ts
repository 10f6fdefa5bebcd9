import { appendFileSync, renameSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '@ghostdns/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceIdentityIndex } from '../../src/device-identity.js';
import { CollectingSink } from '../support.js';
import { BindQueryLogTap, type BindQueryLogTapOptions } from '../../src/taps/querylog/index.js';

class PortCollectingSink extends CollectingSink {
  ports(): number[] {
    return this.events.map((e) => e.client_port);
  }
}

function queryLine(port: number, name = 'www.lab.test', client = '127.0.0.1'): string {
  return `23-Nov-2026 13:46:05.518 client @0x7fc2f8e6d098 ${client}#${port} (${name}): query: ${name} IN A +E(0)K (127.0.0.1)\n`;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(extra: Partial<BindQueryLogTapOptions> = {}): { dir: string; log: string; errors: string; sink: PortCollectingSink; tap: () => BindQueryLogTap } {
  const scratch = scratchDir();
  cleanups.push(() => scratch.remove());
  const log = path.join(scratch.dir, 'queries.log');
  const errors = path.join(scratch.dir, 'query-errors.log');
  const sink = new PortCollectingSink();
  const tap = (): BindQueryLogTap => {
    const t = new BindQueryLogTap({
      queriesLog: log, stateDir: path.join(scratch.dir, 'taps'), timezone: 'UTC', node: { id: 'n1', pop: 'p1' }, sink,
      rcodeWaitMs: 0, pollIntervalMs: 60_000, startAtEnd: false, ...extra,
    });
    cleanups.push(() => t.stop());
    return t;
  };
  return { dir: scratch.dir, log, errors, sink, tap };
}

describe('BindQueryLogTap', () => {
  it('emits one event per complete line and waits for a half-written one', async () => {
    const { log, sink, tap } = setup();
    writeFileSync(log, queryLine(1) + queryLine(2) + queryLine(3).slice(0, 50));
    const t = tap();
    await t.start();
    expect(sink.ports()).toEqual([1, 2]);
    appendFileSync(log, queryLine(3).slice(50));
    await t.poll();
    expect(sink.ports()).toEqual([1, 2, 3]);
    expect(sink.events[0]).toMatchObject({ source: 'BIND_QUERYLOG', node_id: 'n1', pop: 'p1', qname: 'www.lab.test', qtype: 1, rcode: null, cache_status: 'UNKNOWN', transport: 'UDP', message_type: 'CLIENT_QUERY' });
  });

  it('an event from a VPN device\'s tunnel address carries its identity, as known when the line is read', async () => {
    const devices = new DeviceIdentityIndex();
    devices.apply({
      event_id: 'p1', type: 'DEVICE_ONLINE', source: 'WIREGUARD', device_id: 'wg-key-1', name: 'laptop', interface: 'wg0',
      addresses: ['10.8.0.2/32', 'fd00::2/128'], last_handshake_us: null, observed_at_us: 1, node_id: 'vpn-1', domain: null,
    });
    const { log, sink, tap } = setup({ devices });
    writeFileSync(log, queryLine(1, 'a.lab.test', '10.8.0.2') + queryLine(2, 'a.lab.test', 'fd00::2') + queryLine(3, 'a.lab.test', '::ffff:10.8.0.2') + queryLine(4));
    await tap().start();
    const laptop = { source: 'WIREGUARD', device_id: 'wg-key-1', name: 'laptop' };
    expect(sink.events.map((e) => [e.client_ip, e.device])).toEqual([
      ['10.8.0.2', laptop], ['fd00::2', laptop], ['::ffff:10.8.0.2', laptop], ['127.0.0.1', null],
    ]);
  });

  it('follows a rename rotation: finishes the old file, then reads the new one', async () => {
    const { log, sink, tap } = setup();
    writeFileSync(log, queryLine(1));
    const t = tap();
    await t.start();
    appendFileSync(log, queryLine(2));
    renameSync(log, `${log}.0`);
    appendFileSync(`${log}.0`, queryLine(3)); // the writer still had the old file open
    writeFileSync(log, queryLine(4));
    await t.poll();
    await t.poll();
    appendFileSync(log, queryLine(5));
    await t.poll();
    expect(sink.ports().sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  });

  it('follows copytruncate: the lines between the last read and the copy come from the copy', async () => {
    const { log, sink, tap } = setup();
    writeFileSync(log, queryLine(1));
    const t = tap();
    await t.start();
    appendFileSync(log, queryLine(2));
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    appendFileSync(log, queryLine(3));
    await t.poll();
    expect(sink.ports()).toEqual([1, 2, 3]);
  });

  it('resumes after a restart from the stored position: no duplicate, no gap', async () => {
    const { log, sink, tap } = setup();
    writeFileSync(log, queryLine(1) + queryLine(2));
    const first = tap();
    await first.start();
    await first.stop();
    appendFileSync(log, queryLine(3));
    const second = tap();
    await second.start();
    expect(sink.ports()).toEqual([1, 2, 3]);
    const ids = new Set(sink.events.map((e) => e.event_id));
    expect(ids.size).toBe(3);
  });

  it('resumes across a rotation that happened while it was stopped', async () => {
    const { log, sink, tap } = setup();
    writeFileSync(log, queryLine(1));
    const first = tap();
    await first.start();
    await first.stop();
    appendFileSync(log, queryLine(2));
    renameSync(log, `${log}.0`);
    writeFileSync(log, queryLine(3));
    const second = tap();
    await second.start();
    expect(sink.ports()).toEqual([1, 2, 3]);
  });

  it('gives a query the rcode of its query-errors line; others stay rcode null', async () => {
    const { log, errors, sink, tap } = setup({ rcodeWaitMs: 60_000 });
    writeFileSync(log, queryLine(1, 'x.refused.test') + queryLine(2, 'example.com') + queryLine(3));
    writeFileSync(errors,
      '23-Nov-2026 13:46:05.519 client @0x7fc2f8e6d098 127.0.0.1#1 (x.refused.test): query failed (REFUSED) for x.refused.test/IN/A at query.c:5708\n' +
      '23-Nov-2026 13:46:05.530 client @0x7fc2f8e6d098 127.0.0.1#2 (example.com): query failed (failure) for example.com/IN/A at query.c:7916\n');
    const t = tap();
    await t.start();
    expect(sink.ports()).toEqual([1, 2]); // port 3 waits for a possible error line
    await t.stop();
    expect(sink.events.map((e) => [e.client_port, e.rcode, e.policy_action])).toEqual([[1, 5, 'REFUSED'], [2, 2, 'PASS'], [3, null, 'PASS']]);
  });

  it('with dnstap configured for the same BIND it reads but emits nothing', async () => {
    const { log, sink, tap } = setup({ supersededByDnstap: true });
    writeFileSync(log, queryLine(1));
    const t = tap();
    await t.start();
    expect(sink.events).toEqual([]);
  });

  it('counts skipped lines by reason', async () => {
    const skipped: string[] = [];
    const { log, sink, tap } = setup({
      metrics: { lines: () => undefined, events: () => undefined, rotations: () => undefined, errorsUnmatched: () => undefined, skipped: (reason) => skipped.push(reason) },
    });
    writeFileSync(log, `garbage\n${queryLine(1)}23-Nov-2026 13:46:05.518 general: info: hi\n`);
    const t = tap();
    await t.start();
    expect(sink.ports()).toEqual([1]);
    expect(skipped).toEqual(['bad_timestamp', 'not_a_client_message']);
  });
});
