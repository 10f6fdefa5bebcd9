import { createHash } from 'node:crypto';
import type { PolicyAction } from '@ghostdns/contracts';
import { QueryEventMapper } from '../src/mapper.js';
import type { DnsQueryRow } from '../src/row.js';
import { QUERY_TIME_US, queryEvent } from './fixtures.js';

const mapper = new QueryEventMapper();

export const RCODE_NXDOMAIN = 3;

export interface StreamOptions {
  client?: string;
  /** Milliseconds after QUERY_TIME_US of the first query. */
  startMs?: number;
  /** Milliseconds between two queries. */
  everyMs?: number;
  rcode?: number;
  policy?: PolicyAction;
  qtype?: number;
}

/** `count` stored queries (mapped as the worker maps them), named by `name(i)`. */
export function queries(count: number, name: (i: number) => string, options: StreamOptions = {}): DnsQueryRow[] {
  const { client = '10.1.2.3', startMs = 0, everyMs = 100, rcode = 0, policy = 'PASS', qtype = 1 } = options;
  const events = Array.from({ length: count }, (_, i) => {
    const at = QUERY_TIME_US + (startMs + i * everyMs) * 1000;
    return queryEvent({ qname: name(i), client_ip: client, query_time_us: at, response_time_us: at + 500, rcode, policy_action: policy, qtype });
  });
  const { rows, rejected } = mapper.mapBatch(events);
  if (rejected.length > 0) throw new Error(`fixture refused: ${rejected[0]?.reason} ${rejected[0]?.detail}`);
  return rows;
}

/** A deterministic random-looking string of `length` characters of `alphabet` (different for every seed). */
export function randomish(seed: string, length: number, alphabet = '0123456789abcdef'): string {
  let out = '';
  for (let block = 0; out.length < length; block++) {
    for (const byte of createHash('sha256').update(`${seed}/${block}`).digest()) {
      if (out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

/** A dnscat2-style name: 48 hex characters of payload in two labels under `apex`. */
export function tunnelName(i: number, apex = 'example.net'): string {
  const payload = randomish(`tunnel-${apex}-${i}`, 48);
  return `${payload.slice(0, 30)}.${payload.slice(30)}.${apex}`;
}

/** A DGA-style name: 12 random letters and digits under .com. */
export function dgaName(i: number, length = 12): string {
  return `${randomish(`dga-${i}-${length}`, length, 'abcdefghijklmnopqrstuvwxyz0123456789')}.com`;
}
