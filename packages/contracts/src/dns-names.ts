import { createRequire } from 'node:module';

/**
 * dns-packet's name tables (types.js, rcodes.js, classes.js). They are CommonJS
 * files without type declarations, so they are required and given their shape here.
 */
interface DnsPacketTable {
  toString(value: number): string;
}

const requireCommonJs = createRequire(import.meta.url);
const typeTable = requireCommonJs('dns-packet/types.js') as DnsPacketTable;
const rcodeTable = requireCommonJs('dns-packet/rcodes.js') as DnsPacketTable;
const classTable = requireCommonJs('dns-packet/classes.js') as DnsPacketTable;

/** RR type mnemonic, e.g. 1 -> A, 28 -> AAAA; a type without one is TYPE<n> (RFC 3597 §5). */
export function dnsTypeName(type: number): string {
  const name = typeTable.toString(type);
  return name === `UNKNOWN_${type}` ? `TYPE${type}` : name;
}

/** Class mnemonic, e.g. 1 -> IN, 3 -> CH; a class without one is CLASS<n> (RFC 3597 §5). */
export function dnsClassName(dnsClass: number): string {
  const name = classTable.toString(dnsClass);
  return name === `UNKNOWN_${dnsClass}` ? `CLASS${dnsClass}` : name;
}

/**
 * RCODE mnemonic (IANA DNS RCODEs), e.g. 0 -> NOERROR, 3 -> NXDOMAIN; an rcode
 * without one is RCODE<n>, in the style of RFC 3597's TYPE<n>. null (the source
 * did not say) stays null.
 */
export function rcodeName(rcode: number | null): string | null {
  if (rcode === null) return null;
  const name = rcodeTable.toString(rcode);
  return name === `RCODE_${rcode}` ? `RCODE${rcode}` : name;
}
