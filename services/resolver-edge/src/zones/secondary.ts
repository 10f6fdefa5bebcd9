// Secondary zones: pulled by AXFR over TCP (RFC 5936) from a primary, kept
// fresh by the SOA timers (RFC 1035 §3.3.13): poll the serial every REFRESH,
// RETRY after a failure, stop answering (SERVFAIL) once EXPIRE passed without
// a successful check. Serials compare in RFC 1982 arithmetic.
import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { ResolverEdgeError } from '../errors.js';
import type { EdgeLogger } from '../metrics.js';
import { rcodeName } from '../dns/wire.js';
import { frame, TcpFramer } from '../server/tcp-framing.js';
import { canonicalName, isInZone } from './names.js';
import { ZoneData, type LocalDataStore } from './store.js';
import type { ZoneRecord } from './zone-file.js';

/** RFC 1982 §3.2: is s1 greater than s2 in 32-bit serial number arithmetic? */
export function serialGreater(s1: number, s2: number): boolean {
  const a = s1 >>> 0;
  const b = s2 >>> 0;
  return (a < b && b - a > 0x80000000) || (a > b && a - b < 0x80000000);
}

export interface SecondarySpec {
  apex: string;
  host: string;
  port: number;
}

/** `zone:host:port`, host possibly a bracketed IPv6 literal. */
export function parseSecondarySpec(spec: string): SecondarySpec {
  const first = spec.indexOf(':');
  const last = spec.lastIndexOf(':');
  let host = spec.slice(first + 1, last);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(spec.slice(last + 1));
  if (first <= 0 || last <= first || host === '' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_BAD_ADDRESS', `dns.secondaryZones: expected zone:host:port, got ${spec}`);
  }
  return { apex: canonicalName(spec.slice(0, first)), host, port };
}

export interface TransferOptions {
  timeoutMs: number;
  /** Bound on the transferred bytes, so a hostile primary cannot exhaust memory. */
  maxBytes?: number;
}

/** The transport the secondary uses; a seam for unit tests. */
export interface ZoneTransferClient {
  /** The zone's records (SOA first, exactly once). */
  axfr(spec: SecondarySpec): Promise<ZoneRecord[]>;
  /** The primary's current SOA serial. */
  soaSerial(spec: SecondarySpec): Promise<number>;
}

export class TcpZoneTransferClient implements ZoneTransferClient {
  constructor(private readonly options: TransferOptions) {}

  async axfr(spec: SecondarySpec): Promise<ZoneRecord[]> {
    const out: ZoneRecord[] = [];
    let soaSeen = 0;
    await this.exchange(spec, 'AXFR', (packet) => {
      for (const a of packet.answers ?? []) {
        const r = toZoneRecord(a);
        if (out.length === 0 && (r?.type !== 'SOA' || r.name !== spec.apex)) throw transferError(spec, 'transfer does not start with the zone SOA');
        if (r === null) continue;
        if (r.type === 'SOA') {
          soaSeen++;
          // RFC 5936 §2.2: the second SOA ends the transfer; it is not data.
          if (soaSeen === 2) return true;
        }
        if (!isInZone(r.name, spec.apex)) continue; // out-of-zone data is ignored (RFC 5936 §3.5)
        out.push(r);
      }
      return false;
    });
    return out;
  }

  async soaSerial(spec: SecondarySpec): Promise<number> {
    let serial: number | null = null;
    await this.exchange(spec, 'SOA', (packet) => {
      for (const a of packet.answers ?? []) {
        if (a.type === 'SOA' && canonicalName(a.name) === spec.apex && typeof a.data.serial === 'number') serial = a.data.serial;
      }
      if (serial === null) throw transferError(spec, 'SOA query returned no SOA');
      return true;
    });
    return serial ?? 0;
  }

  /** One query over a fresh TCP connection; `onMessage` returns true when done. */
  private exchange(spec: SecondarySpec, type: 'AXFR' | 'SOA', onMessage: (packet: dnsPacket.DecodedPacket) => boolean): Promise<void> {
    const id = randomInt(0x10000);
    const query = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ name: spec.apex, type, class: 'IN' }] });
    const maxBytes = this.options.maxBytes ?? 256 * 1024 * 1024;
    return new Promise<void>((resolve, reject) => {
      const socket = connect({ host: spec.host, port: spec.port });
      const framer = new TcpFramer();
      let received = 0;
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => finish(transferError(spec, `${type} timed out after ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      socket.once('connect', () => socket.write(frame(query)));
      socket.on('error', (err) => finish(transferError(spec, `${type} connection failed: ${err.message}`, err)));
      socket.on('close', () => finish(transferError(spec, `${type}: connection closed before the answer was complete`)));
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) return finish(transferError(spec, `${type} larger than ${maxBytes} bytes`));
        try {
          for (const msg of framer.push(chunk)) {
            const packet = dnsPacket.decode(msg);
            // RFC 5452-style matching: our ID, a response, and the question we asked.
            if (packet.id !== id || packet.type !== 'response') throw transferError(spec, `${type} answer with a foreign ID`);
            const q = packet.questions?.[0];
            if (q && (canonicalName(q.name) !== spec.apex || q.type !== type)) throw transferError(spec, `${type} answer for another question`);
            const rcode = (msg[3] ?? 0) & 0x0f;
            if (rcode !== 0) throw transferError(spec, `${type} refused by the primary: ${rcodeName(rcode)}`);
            if (onMessage(packet)) return finish();
          }
        } catch (err) {
          finish(err instanceof Error ? err : transferError(spec, String(err)));
        }
      });
    });
  }
}

function transferError(spec: SecondarySpec, detail: string, cause?: unknown): ResolverEdgeError {
  return new ResolverEdgeError('GHOSTDNS_RESOLVER_ZONE_TRANSFER', `zone ${spec.apex} from ${spec.host}:${spec.port}: ${detail}`, cause === undefined ? undefined : { cause });
}

/** A decoded record in the store's form (names canonical), or null for non-IN classes and OPT. */
export function toZoneRecord(a: dnsPacket.Answer): ZoneRecord | null {
  if (a.type === 'OPT' || (a.class !== undefined && a.class !== 'IN')) return null;
  const base = { name: canonicalName(a.name), ttl: a.ttl ?? 0, class: 'IN' as const };
  // Names inside rdata are made canonical so lookups and glue match; other rdata is kept as decoded.
  if (a.type === 'NS' || a.type === 'CNAME' || a.type === 'PTR' || a.type === 'DNAME') return { ...base, type: a.type, data: canonicalName(a.data) };
  if (a.type === 'MX') return { ...base, type: 'MX', data: { preference: a.data.preference, exchange: canonicalName(a.data.exchange) } };
  if (a.type === 'SRV') return { ...base, type: 'SRV', data: { ...a.data, target: canonicalName(a.data.target) } };
  if (a.type === 'SOA') return { ...base, type: 'SOA', data: { ...a.data, mname: canonicalName(a.data.mname), rname: canonicalName(a.data.rname) } };
  return { ...a, ...base };
}

export interface SecondaryZoneOptions {
  spec: SecondarySpec;
  store: LocalDataStore;
  client: ZoneTransferClient;
  logger: EdgeLogger;
  /** Seconds before the first retry when no SOA is known yet. */
  initialRetrySeconds?: number;
  now?: () => number;
}

/** Floor on every timer, so a zero REFRESH/RETRY cannot turn into a busy loop against the primary. */
const MIN_TIMER_SECONDS = 1;

export class SecondaryZone {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Time of the last successful transfer or up-to-date check (ms), null before the first. */
  private lastSuccess: number | null = null;
  private readonly now: () => number;

  constructor(private readonly options: SecondaryZoneOptions) {
    this.now = options.now ?? Date.now;
    options.store.declareZone(options.spec.apex, 'secondary');
  }

  get apex(): string {
    return this.options.spec.apex;
  }

  /** First transfer; a failure is logged and retried, the zone answering SERVFAIL meanwhile. */
  async start(): Promise<void> {
    await this.check(true);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One refresh cycle: SOA serial check, AXFR when newer (or forced), then the next timer. */
  async check(forceTransfer = false): Promise<void> {
    if (this.stopped) return;
    const { spec, store, client, logger } = this.options;
    const current = store.zone(spec.apex)?.data ?? null;
    try {
      let transfer = forceTransfer || current === null;
      if (!transfer) {
        const remote = await client.soaSerial(spec);
        transfer = serialGreater(remote, current!.serial);
      }
      if (transfer) {
        const records = await client.axfr(spec);
        const data = ZoneData.build(spec.apex, records);
        if (current === null || data.serial !== current.serial || forceTransfer) {
          store.setZoneData(spec.apex, 'secondary', data);
          logger.info({ zone: spec.apex, serial: data.serial, records: records.length }, 'secondary zone transferred');
        }
      }
      this.lastSuccess = this.now();
      const entry = store.zone(spec.apex);
      if (entry && entry.data !== null) entry.status = 'loaded';
      this.schedule(store.zone(spec.apex)?.data?.soa.data.refresh ?? this.options.initialRetrySeconds ?? 30);
    } catch (err) {
      const soa = current?.soa.data;
      if (soa && this.lastSuccess !== null && this.now() - this.lastSuccess >= soa.expire * 1000) {
        // RFC 1035 §3.3.13: past EXPIRE the data is no longer authoritative.
        store.setZoneStatus(spec.apex, 'expired');
        logger.error({ zone: spec.apex, err }, 'secondary zone expired; answering SERVFAIL');
      } else {
        logger.warn({ zone: spec.apex, err }, 'secondary zone refresh failed; retrying');
      }
      let retry = soa?.retry ?? this.options.initialRetrySeconds ?? 30;
      // Never sleep past the expiry moment, so expiry is noticed on time.
      if (soa && this.lastSuccess !== null) {
        const untilExpire = (this.lastSuccess + soa.expire * 1000 - this.now()) / 1000;
        if (untilExpire > 0) retry = Math.min(retry, untilExpire);
      }
      this.schedule(retry);
    }
  }

  private schedule(seconds: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const ms = Math.min(Math.max(seconds, MIN_TIMER_SECONDS), 0x7fffffff / 1000) * 1000;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.check();
    }, ms);
    this.timer.unref();
  }
}
