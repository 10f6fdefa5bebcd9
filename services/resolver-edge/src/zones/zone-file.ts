// BIND master files (RFC 1035 §5) for the local zones.
//
// dns-zonefile (the library) parses the seed's db.codeandcore.home correctly
// on its own, but it falls short as a general loader, so it is wrapped:
//  - it keeps no line numbers, so it cannot say where a file is wrong;
//  - it only joins the parentheses of the first SOA (a one-line SOA followed
//    by any later "( ... )" is mangled), never of other records;
//  - a blank owner inherits the previous record OF THE SAME TYPE (RFC 1035
//    §5.1 says: the previous owner), TTLs with units (1h, 1d) are not TTLs,
//    and only the last $ORIGIN of the file is remembered;
//  - unknown types are dropped silently and rdata is never validated
//    ("nas IN A not-an-ip" is accepted).
// The wrapper below tokenizes the file itself (comments, quotes, escapes,
// parentheses, $ORIGIN/$TTL, blank owners, TTL units, class/TTL in either
// order, line numbers), then hands each record, normalised to one line with an
// absolute owner, a numeric TTL and the class, to dns-zonefile for the
// positional rdata fields, and validates and qualifies what it returns.
// TXT/SPF are split by the tokenizer (the library glues the strings back
// together and loses their boundaries). $INCLUDE and $GENERATE are refused.
import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import zonefile from 'dns-zonefile';
import type dnsPacket from 'dns-packet';
import { ResolverEdgeError } from '../errors.js';
import { canonicalName, isInZone } from './names.js';

/** One resource record, ready for dns-packet (name canonical, class IN). */
export type ZoneRecord = Exclude<dnsPacket.Answer, dnsPacket.OptAnswer> & { name: string; ttl: number };

export interface ParsedZone {
  apex: string;
  records: ZoneRecord[];
}

interface Token {
  text: string;
  quoted: boolean;
}

interface Entry {
  line: number;
  /** Starts with white space: the owner is the previous one (RFC 1035 §5.1). */
  blankOwner: boolean;
  tokens: Token[];
}

const MAX_TTL = 0x7fffffff; // RFC 2181 §8
const CLASSES = new Set(['IN', 'CH', 'HS', 'CS']);
const SUPPORTED = new Set(['SOA', 'NS', 'A', 'AAAA', 'CNAME', 'MX', 'PTR', 'SRV', 'TXT', 'SPF', 'CAA']);

export class ZoneFileError extends ResolverEdgeError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    detail: string,
    cause?: unknown,
  ) {
    super('GHOSTDNS_RESOLVER_ZONE_PARSE', `${file}${line === null ? '' : `:${line}`}: ${detail}`, cause === undefined ? undefined : { cause });
  }
}

/** Reads and parses `path` as the master file of `zone`. */
export async function loadZoneFile(zone: string, path: string): Promise<ParsedZone> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new ZoneFileError(path, null, `cannot read zone file for ${zone} (${code})`, err);
  }
  return parseZoneText(zone, text, path);
}

/** Parses master-file text; every error names `file` and the line. */
export function parseZoneText(zone: string, text: string, file = '<zone>'): ParsedZone {
  const apex = canonicalName(zone);
  let origin = apex;
  let defaultTtl: number | null = null;
  let lastTtl: number | null = null;
  let lastOwner: string | null = null;
  const records: ZoneRecord[] = [];
  let soaCount = 0;

  for (const entry of tokenize(text, file)) {
    const fail = (detail: string): never => {
      throw new ZoneFileError(file, entry.line, detail);
    };
    const first = entry.tokens[0];
    if (first === undefined) continue;
    if (!entry.blankOwner && !first.quoted && first.text.startsWith('$')) {
      const directive = first.text.toUpperCase();
      const arg = entry.tokens[1];
      if (directive === '$ORIGIN') {
        if (arg === undefined) fail('$ORIGIN needs a name');
        origin = qualify(arg.text, origin, fail);
      } else if (directive === '$TTL') {
        if (arg === undefined) fail('$TTL needs a value');
        defaultTtl = parseTtl(arg.text) ?? fail(`bad $TTL "${arg.text}"`);
      } else {
        fail(`unsupported directive ${first.text}`);
      }
      continue;
    }

    let i = 0;
    let owner: string;
    if (entry.blankOwner) {
      owner = lastOwner ?? fail('record without an owner name and no previous owner');
    } else {
      owner = qualify(first.text, origin, fail);
      i = 1;
    }
    let ttl: number | null = null;
    let klass: string | null = null;
    for (let k = 0; k < 2; k++) {
      const t = entry.tokens[i];
      if (t === undefined) break;
      const upper = t.text.toUpperCase();
      if (klass === null && CLASSES.has(upper)) {
        klass = upper;
        i++;
      } else if (ttl === null && /^\d/.test(t.text)) {
        ttl = parseTtl(t.text) ?? fail(`bad TTL "${t.text}"`);
        i++;
      }
    }
    const typeToken = entry.tokens[i];
    if (typeToken === undefined) fail('record without a type');
    const type = typeToken.text.toUpperCase();
    if (klass !== null && klass !== 'IN') fail(`class ${klass} is not supported (only IN)`);
    if (!SUPPORTED.has(type)) fail(`unsupported record type "${typeToken.text}"`);
    if (!isInZone(owner, apex)) fail(`owner ${owner} is outside zone ${apex || '.'}`);
    if (ttl !== null) lastTtl = ttl;
    // RFC 2308 §4: $TTL, else the last explicit TTL.
    const effectiveTtl = ttl ?? defaultTtl ?? lastTtl ?? fail('no TTL given and no $TTL before this record');
    lastOwner = owner;
    const rdata = entry.tokens.slice(i + 1);
    const record = buildRecord(owner, effectiveTtl, type, rdata, origin, fail);
    if (record.type === 'SOA') {
      if (owner !== apex) fail(`SOA owner ${owner} is not the zone apex ${apex}`);
      if (++soaCount > 1) fail('more than one SOA record');
    }
    records.push(record);
  }
  if (soaCount === 0) throw new ZoneFileError(file, null, `zone ${apex || '.'} has no SOA record at its apex`);
  checkCnameExclusive(records, file);
  return { apex, records };
}

function checkCnameExclusive(records: readonly ZoneRecord[], file: string): void {
  // RFC 1034 §3.6.2: a CNAME owner has no other data; BIND refuses such zones too.
  const types = new Map<string, Set<string>>();
  for (const r of records) {
    let set = types.get(r.name);
    if (!set) types.set(r.name, (set = new Set()));
    set.add(r.type);
  }
  for (const [name, set] of types) {
    if (set.has('CNAME') && set.size > 1) throw new ZoneFileError(file, null, `${name} has a CNAME and other data`);
  }
}

type Fail = (detail: string) => never;

/** BIND-style TTL: seconds, or units 1w2d3h4m5s. */
export function parseTtl(text: string): number | null {
  let total = 0;
  if (/^\d+$/.test(text)) total = Number(text);
  else {
    const re = /(\d+)([wdhms])/giy;
    let consumed = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const unit = { w: 604_800, d: 86_400, h: 3_600, m: 60, s: 1 }[m[2].toLowerCase() as 'w' | 'd' | 'h' | 'm' | 's'];
      total += Number(m[1]) * unit;
      consumed = re.lastIndex;
    }
    if (consumed === 0 || consumed !== text.length) return null;
  }
  return total <= MAX_TTL ? total : null;
}

function qualify(name: string, origin: string, fail: Fail): string {
  if (name === '@') return origin;
  if (name.includes('\\')) fail(`escaped characters in names are not supported: ${name}`);
  if (name === '.') return '';
  if (!/^[A-Za-z0-9_*](?:[A-Za-z0-9_*-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_*](?:[A-Za-z0-9_*-]*[A-Za-z0-9_])?)*\.?$/.test(name)) {
    fail(`bad domain name "${name}"`);
  }
  const abs = name.endsWith('.') ? canonicalName(name) : origin === '' ? name.toLowerCase() : `${name.toLowerCase()}.${origin}`;
  if (abs.length > 253) fail(`name too long: ${name}`);
  return abs;
}

function intField(value: unknown, max: number, what: string, fail: Fail): number {
  const n = typeof value === 'number' ? value : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > max) fail(`bad ${what}`);
  return n;
}

const EXPECTED_TOKENS: Record<string, number> = { SOA: 7, NS: 1, A: 1, AAAA: 1, CNAME: 1, MX: 2, PTR: 1, SRV: 4, CAA: 3 };

function buildRecord(owner: string, ttl: number, type: string, rdata: Token[], origin: string, fail: Fail): ZoneRecord {
  const base = { name: owner, ttl, class: 'IN' as const };
  if (type === 'TXT' || type === 'SPF') {
    if (rdata.length === 0) fail(`${type} without text`);
    const strings = rdata.map((t) => decodeEscapes(t.text));
    if (strings.some((s) => Buffer.byteLength(s, 'latin1') > 255)) fail(`${type} string longer than 255 bytes`);
    return { ...base, type: 'TXT', data: strings };
  }
  const expected = EXPECTED_TOKENS[type] ?? 0;
  if (rdata.length !== expected) fail(`${type} needs ${expected} rdata field${expected === 1 ? '' : 's'}, got ${rdata.length}`);
  if (type === 'SOA') {
    // The library parseInt()s the timers: give it plain seconds.
    for (let k = 2; k < 7; k++) {
      const t = rdata[k];
      const n = k === 2 ? (/^\d+$/.test(t.text) ? Number(t.text) : null) : parseTtl(t.text);
      if (n === null || n > 0xffffffff) fail(`bad SOA ${['serial', 'refresh', 'retry', 'expire', 'minimum'][k - 2]} "${t.text}"`);
      rdata[k] = { text: String(n), quoted: false };
    }
  }
  // One normalised line: absolute owner, numeric TTL, class, type, rdata.
  const line = `${owner === '' ? '.' : `${owner}.`} ${ttl} IN ${type} ${rdata.map((t) => (t.quoted ? `"${t.text}"` : t.text)).join(' ')}`;
  let parsed: ReturnType<typeof zonefile.parse>;
  try {
    parsed = zonefile.parse(line);
  } catch (err) {
    return fail(`cannot parse ${type} record: ${err instanceof Error ? err.message : String(err)}`);
  }
  const q = (name: string | undefined): string => qualify(name ?? fail(`${type} without a target`), origin, fail);
  switch (type) {
    case 'SOA': {
      const s = parsed.soa ?? fail('cannot parse SOA');
      return {
        ...base,
        type: 'SOA',
        data: {
          mname: q(s.mname),
          rname: q(s.rname),
          serial: intField(s.serial, 0xffffffff, 'SOA serial', fail),
          refresh: intField(s.refresh, 0xffffffff, 'SOA refresh', fail),
          retry: intField(s.retry, 0xffffffff, 'SOA retry', fail),
          expire: intField(s.expire, 0xffffffff, 'SOA expire', fail),
          minimum: intField(s.minimum, 0xffffffff, 'SOA minimum', fail),
        },
      };
    }
    case 'A':
    case 'AAAA': {
      const ip = (type === 'A' ? parsed.a?.[0]?.ip : parsed.aaaa?.[0]?.ip) ?? '';
      if (type === 'A' ? !isIPv4(ip) : !isIPv6(ip)) fail(`bad ${type} address "${ip}"`);
      return { ...base, type, data: ip };
    }
    case 'NS':
      return { ...base, type: 'NS', data: q(parsed.ns?.[0]?.host) };
    case 'CNAME':
      return { ...base, type: 'CNAME', data: q(parsed.cname?.[0]?.alias) };
    case 'PTR':
      return { ...base, type: 'PTR', data: q(parsed.ptr?.[0]?.host) };
    case 'MX': {
      const mx = parsed.mx?.[0] ?? fail('cannot parse MX');
      return { ...base, type: 'MX', data: { preference: intField(mx.preference, 0xffff, 'MX preference', fail), exchange: q(mx.host) } };
    }
    case 'SRV': {
      const srv = parsed.srv?.[0] ?? fail('cannot parse SRV');
      return {
        ...base,
        type: 'SRV',
        data: {
          priority: intField(srv.priority, 0xffff, 'SRV priority', fail),
          weight: intField(srv.weight, 0xffff, 'SRV weight', fail),
          port: intField(srv.port, 0xffff, 'SRV port', fail),
          target: q(srv.target),
        },
      };
    }
    case 'CAA': {
      const caa = parsed.caa?.[0] ?? fail('cannot parse CAA');
      const tag = caa.tag;
      if (!/^[A-Za-z0-9]+$/.test(tag)) fail(`bad CAA tag "${tag}"`);
      return {
        ...base,
        type: 'CAA',
        data: { flags: intField(caa.flags, 255, 'CAA flags', fail), tag: tag as dnsPacket.CaaData['tag'], value: caa.value.replace(/^"|"$/g, '') },
      };
    }
    default:
      return fail(`unsupported record type "${type}"`);
  }
}

function decodeEscapes(text: string): string {
  return text.replace(/\\(\d{3}|.)/g, (_m, esc: string) => (esc.length === 3 ? String.fromCharCode(Number(esc)) : esc));
}

/** RFC 1035 §5.1 lexing: one entry per logical line, parentheses joining lines. */
function tokenize(text: string, file: string): Entry[] {
  const entries: Entry[] = [];
  let line = 1;
  let depth = 0;
  let openLine = 0;
  let current: Entry | null = null;
  let i = 0;
  const n = text.length;
  let atLineStart = true;
  const flush = (): void => {
    if (current !== null && current.tokens.length > 0) entries.push(current);
    current = null;
  };
  while (i < n) {
    const ch = text[i];
    if (atLineStart && depth === 0) {
      flush();
      current = { line, blankOwner: ch === ' ' || ch === '\t', tokens: [] };
      atLineStart = false;
    }
    if (ch === '\n') {
      line++;
      i++;
      atLineStart = true;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
      continue;
    }
    if (ch === ';') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (ch === '(') {
      if (depth === 0) openLine = line;
      depth++;
      i++;
      continue;
    }
    if (ch === ')') {
      if (depth === 0) throw new ZoneFileError(file, line, 'unbalanced ")"');
      depth--;
      i++;
      continue;
    }
    const entry = current!;
    if (ch === '"') {
      const start = line;
      let out = '';
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) {
          out += text[i] + text[i + 1];
          i += 2;
          continue;
        }
        if (text[i] === '\n') line++;
        out += text[i];
        i++;
      }
      if (i >= n) throw new ZoneFileError(file, start, 'unterminated quoted string');
      i++;
      entry.tokens.push({ text: out, quoted: true });
      continue;
    }
    let out = '';
    while (i < n) {
      const c = text[i];
      if (c === '\\' && i + 1 < n) {
        out += c + text[i + 1];
        i += 2;
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === ';' || c === '(' || c === ')' || c === '"') break;
      out += c;
      i++;
    }
    entry.tokens.push({ text: out, quoted: false });
  }
  if (depth > 0) throw new ZoneFileError(file, openLine, 'unbalanced "(": no closing ")"');
  flush();
  return entries;
}
