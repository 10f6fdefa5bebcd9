import { randomUUID } from 'node:crypto';
import type { QueryEvent } from '@ghostdns/contracts';
import type { BusLogger } from '../src/index.js';

/** Polls a condition until it holds or the deadline passes (no fixed sleeps). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

let seq = 0;
/** A QueryEvent with every field set (non-null), so a round trip exercises the whole schema. */
export function makeQueryEvent(overrides: Partial<QueryEvent> = {}): QueryEvent {
  seq++;
  return {
    event_id: randomUUID(),
    node_id: 'node-1',
    pop: 'ams1',
    source: 'RESOLVER_EDGE',
    message_type: 'CLIENT_RESPONSE',
    query_time_us: 1_700_000_000_000_000 + seq,
    response_time_us: 1_700_000_000_000_250 + seq,
    client_ip: '192.0.2.10',
    client_port: 53_000 + (seq % 1000),
    transport: 'UDP',
    qname: 'www.example.com',
    qtype: 1,
    qclass: 1,
    rcode: 0,
    flags: { qr: true, aa: false, tc: false, rd: true, ra: true, ad: true, cd: false },
    answer_count: 2,
    response_size: 96,
    cache_status: 'MISS',
    upstream: '198.51.100.1:53',
    upstream_latency_us: 1234,
    policy_action: 'PASS',
    device: null,
    query_wire: Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01]),
    response_wire: Buffer.from([0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0xff]),
    ...overrides,
  };
}

/** Collects logger calls so tests can assert on warnings without printing them. */
export function memoryLogger(): BusLogger & { lines: { level: string; obj: object | string; msg?: string }[] } {
  const lines: { level: string; obj: object | string; msg?: string }[] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
