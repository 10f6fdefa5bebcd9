// The optional second level: entries shared by the replicas of one PoP through
// the runtime's KeyValueStore (Redis). Consulted on an L1 miss, written through
// on fill; never awaited on the UDP fast path. A store that fails behaves as a miss.
import type { KeyValueStore } from '@ghostdns/runtime';
import type { CacheEntry, EntryKind } from './answer-cache.js';

/** The part of the runtime's store the cache uses. */
export type SharedCacheStore = Pick<KeyValueStore, 'kind' | 'get' | 'set' | 'isHealthy'>;

const FORMAT_VERSION = 1;
const KINDS: readonly EntryKind[] = ['positive', 'negative', 'servfail'];
/** version, kind, nameLength, keyLength(2), count(2), storedAt, expiresAt, staleUntil (3 × f64). */
const FIXED = 1 + 1 + 1 + 2 + 2 + 24;

/** Printable store key (the cache key holds raw name bytes). */
export function sharedKey(key: string): string {
  return `dnscache:${Buffer.from(key, 'latin1').toString('base64url')}`;
}

export function encodeEntry(entry: CacheEntry): Buffer {
  const count = entry.ttlOffsets.length;
  const out = Buffer.alloc(FIXED + entry.key.length + count * 6 + entry.wire.length);
  let pos = 0;
  out[pos++] = FORMAT_VERSION;
  out[pos++] = KINDS.indexOf(entry.kind);
  out[pos++] = entry.nameLength;
  pos = out.writeUInt16BE(entry.key.length, pos);
  pos = out.writeUInt16BE(count, pos);
  pos = out.writeDoubleBE(entry.storedAtMs, pos);
  pos = out.writeDoubleBE(entry.expiresAtMs, pos);
  pos = out.writeDoubleBE(entry.staleUntilMs, pos);
  pos += out.write(entry.key, pos, 'latin1');
  for (let i = 0; i < count; i++) pos = out.writeUInt16BE(entry.ttlOffsets[i] ?? 0, pos);
  for (let i = 0; i < count; i++) pos = out.writeUInt32BE(entry.ttls[i] ?? 0, pos);
  entry.wire.copy(out, pos);
  return out;
}

/** Null for anything that is not a well-formed entry for `expectedKey` (a store is not trusted blindly). */
export function decodeEntry(buf: Buffer, expectedKey: string): CacheEntry | null {
  if (buf.length < FIXED || buf[0] !== FORMAT_VERSION) return null;
  const kind = KINDS[buf[1] ?? 255];
  if (kind === undefined) return null;
  const nameLength = buf[2] ?? 0;
  const keyLength = buf.readUInt16BE(3);
  const count = buf.readUInt16BE(5);
  const storedAtMs = buf.readDoubleBE(7);
  const expiresAtMs = buf.readDoubleBE(15);
  const staleUntilMs = buf.readDoubleBE(23);
  let pos = FIXED;
  if (pos + keyLength + count * 6 + 12 > buf.length) return null;
  const key = buf.toString('latin1', pos, pos + keyLength);
  if (key !== expectedKey || nameLength + 5 !== keyLength) return null;
  pos += keyLength;
  const ttlOffsets = new Uint16Array(count);
  const ttls = new Uint32Array(count);
  for (let i = 0; i < count; i++, pos += 2) ttlOffsets[i] = buf.readUInt16BE(pos);
  for (let i = 0; i < count; i++, pos += 4) ttls[i] = buf.readUInt32BE(pos);
  const wire = Buffer.from(buf.subarray(pos));
  for (let i = 0; i < count; i++) if ((ttlOffsets[i] ?? 0) + 4 > wire.length) return null;
  if (wire.length < 12 + nameLength + 4) return null;
  return {
    key,
    wire,
    ttlOffsets,
    ttls,
    storedAtMs,
    expiresAtMs,
    staleUntilMs,
    kind,
    nameLength,
    qtype: (key.charCodeAt(nameLength) << 8) | key.charCodeAt(nameLength + 1),
    qclass: (key.charCodeAt(nameLength + 2) << 8) | key.charCodeAt(nameLength + 3),
    hits: 0,
    prefetching: false,
    question: null,
  };
}
