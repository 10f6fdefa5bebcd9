// Name and type helpers shared by the local-data modules. Names are kept in one
// canonical form everywhere: lower-case, no trailing dot, the root is ''.
import { createRequire } from 'node:module';

interface DnsPacketTypeTable {
  toString(type: number): string;
  toType(name: string): number;
}

const requireCommonJs = createRequire(import.meta.url);
// dns-packet's own table, so type numbers and the names it encodes never disagree.
const typeTable = requireCommonJs('dns-packet/types.js') as DnsPacketTypeTable;

export const RrType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  DS: 43,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;

/** 0 when dns-packet does not know the mnemonic. */
export function typeCode(name: string): number {
  const upper = name.toUpperCase();
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m) return Number(m[1]);
  const code = typeTable.toType(upper);
  return Number.isInteger(code) && code > 0 ? code : 0;
}

export function typeName(code: number): string {
  const name = typeTable.toString(code);
  return name.startsWith('UNKNOWN_') ? `TYPE${code}` : name;
}

/** Canonical form of a presentation name (absolute or not): lower-case, no trailing dot. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** The parent of a canonical name; null for the root. */
export function parentName(name: string): string | null {
  if (name === '') return null;
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

/** True when `name` is `zone` or below it (both canonical). */
export function isInZone(name: string, zone: string): boolean {
  if (zone === '') return true;
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 0x2e);
}

/** Absolute presentation form (trailing dot) for dns-packet and logs. */
export function absolute(name: string): string {
  return `${name}.`;
}
