// A subset of DNS Response Policy Zones (draft-vixie-dnsop-dns-rpz): QNAME
// triggers only, read from zone files. RPZ needs little of the zone-file
// syntax (owner, optional TTL/class, type, rdata; $ORIGIN, $TTL, parentheses,
// comments), so this is a small line parser rather than a full zone loader.
//
//   name CNAME .              NXDOMAIN
//   name CNAME *.             NODATA
//   name CNAME rpz-passthru.  PASSTHRU (exempt from every other policy)
//   *.name ...                the same for every name below `name` (not `name` itself)
//   name A 192.0.2.1 / AAAA / TXT / CNAME target.   answer with this local data
//
// Owner names are relative to the policy zone's origin ($ORIGIN, else the SOA
// owner when absolute, else the root). Other trigger types (rpz-ip,
// rpz-nsdname, rpz-nsip, rpz-client-ip) and actions (rpz-drop, rpz-tcp-only)
// are counted as ignored.
import { isIP } from 'node:net';
import { PackedDomainSet } from './domain-set.js';
import { normalizePolicyDomain } from '@ghostdns/contracts';

export type RpzRecordType = 'A' | 'AAAA' | 'CNAME' | 'TXT';

export interface RpzRecord {
  type: RpzRecordType;
  ttl: number;
  /** A/AAAA: address; CNAME: target (no trailing dot); TXT: the strings. */
  data: string | string[];
}

export type RpzAction = 'nxdomain' | 'nodata' | 'passthru' | 'local';

export interface RpzRule {
  action: RpzAction;
  /** local: the records, in file order. */
  records: RpzRecord[];
  /** The trigger as written (for logs): `name` or `*.name`. */
  trigger: string;
}

export interface RpzStats {
  rules: number;
  ignored: number;
  invalid: number;
}

/** QNAME triggers of all configured policy zones; the first zone to define a trigger wins. */
export class RpzPolicy {
  readonly exact = new PackedDomainSet(64);
  readonly wildcard = new PackedDomainSet(64);
  readonly exactRules: RpzRule[] = [];
  readonly wildcardRules: RpzRule[] = [];

  get size(): number {
    return this.exact.size + this.wildcard.size;
  }

  /** Adds one zone's text; triggers already defined by an earlier zone are kept. */
  addZone(text: string): RpzStats {
    const stats: RpzStats = { rules: 0, ignored: 0, invalid: 0 };
    const seen = new Set<string>();
    let origin = '';
    let originSet = false;
    let ttl = 3600;
    let lastOwner: string | null = null;
    for (const { line, indented } of logicalLines(text)) {
      const tokens = tokenize(line);
      if (tokens.length === 0) continue;
      const head = tokens[0] ?? '';
      if (head.toUpperCase() === '$ORIGIN') {
        origin = absoluteName(tokens[1] ?? '.', '') ?? '';
        originSet = true;
        continue;
      }
      if (head.toUpperCase() === '$TTL') {
        const t = parseTtl(tokens[1] ?? '');
        if (t === null) stats.invalid++;
        else ttl = t;
        continue;
      }
      if (head.startsWith('$')) {
        stats.ignored++; // $INCLUDE and friends
        continue;
      }
      let owner: string | null;
      let i = 0;
      if (indented) {
        owner = lastOwner;
      } else {
        owner = head === '@' ? origin : absoluteName(head, origin);
        i = 1;
      }
      let recordTtl = ttl;
      for (; i < tokens.length; i++) {
        const t = tokens[i] ?? '';
        const asTtl = /^[0-9]/.test(t) ? parseTtl(t) : null;
        if (asTtl !== null) recordTtl = asTtl;
        else if (!/^(IN|CH|HS)$/i.test(t)) break;
      }
      const type = (tokens[i] ?? '').toUpperCase();
      const rdata = tokens.slice(i + 1);
      if (owner === null || type === '') {
        stats.invalid++;
        continue;
      }
      lastOwner = owner;
      if (type === 'SOA' && !originSet && !indented) {
        // No $ORIGIN: an absolute SOA owner names the policy zone.
        origin = owner;
        originSet = true;
        continue;
      }
      if (owner === origin && (type === 'SOA' || type === 'NS')) continue;
      const trigger = triggerName(owner, origin);
      if (trigger === null) {
        stats.invalid++;
        continue;
      }
      if (/(^|\.)rpz-(ip|nsdname|nsip|client-ip)$/.test(trigger)) {
        stats.ignored++;
        continue;
      }
      const rule = this.ruleFor(type, rdata, recordTtl, origin);
      if (rule === 'ignored' || rule === 'invalid') {
        stats[rule]++;
        continue;
      }
      const isWildcard = trigger.startsWith('*.');
      const name = normalizePolicyDomain(isWildcard ? trigger.slice(2) : trigger);
      if (name === null) {
        stats.invalid++;
        continue;
      }
      const set = isWildcard ? this.wildcard : this.exact;
      const rules = isWildcard ? this.wildcardRules : this.exactRules;
      const before = set.size;
      const index = set.add(name);
      if (set.size > before) {
        rules[index] = { ...rule, trigger };
        seen.add(trigger);
        stats.rules++;
        continue;
      }
      const existing = rules[index];
      // Several records of one owner in the same zone form one local-data rule.
      if (existing !== undefined && seen.has(trigger) && existing.action === 'local' && rule.action === 'local') {
        existing.records.push(...rule.records);
      } else if (seen.has(trigger)) {
        stats.invalid++; // e.g. `x CNAME .` and `x A 1.2.3.4`: contradictory
      } else {
        stats.ignored++; // defined by an earlier zone, which wins
      }
    }
    return stats;
  }

  private ruleFor(type: string, rdata: string[], ttl: number, origin: string): Omit<RpzRule, 'trigger'> | 'ignored' | 'invalid' {
    const first = rdata[0] ?? '';
    switch (type) {
      case 'CNAME': {
        if (rdata.length !== 1) return 'invalid';
        const target = first.toLowerCase();
        if (target === '.') return { action: 'nxdomain', records: [] };
        if (target === '*.') return { action: 'nodata', records: [] };
        if (target === 'rpz-passthru.') return { action: 'passthru', records: [] };
        if (target === 'rpz-drop.' || target === 'rpz-tcp-only.') return 'ignored';
        const abs = absoluteName(first, origin);
        const name = abs === null ? null : normalizePolicyDomain(abs);
        return name === null ? 'invalid' : { action: 'local', records: [{ type: 'CNAME', ttl, data: name }] };
      }
      case 'A':
        return rdata.length === 1 && isIP(first) === 4 ? { action: 'local', records: [{ type: 'A', ttl, data: first }] } : 'invalid';
      case 'AAAA':
        return rdata.length === 1 && isIP(first) === 6 ? { action: 'local', records: [{ type: 'AAAA', ttl, data: first }] } : 'invalid';
      case 'TXT':
        return rdata.length > 0 ? { action: 'local', records: [{ type: 'TXT', ttl, data: rdata.map(unquote) }] } : 'invalid';
      default:
        return 'ignored';
    }
  }
}

/** Owner relative to the policy zone; null when outside it. */
function triggerName(owner: string, origin: string): string | null {
  if (origin === '') return owner === '' ? null : owner;
  if (owner.endsWith(`.${origin}`)) return owner.slice(0, -origin.length - 1);
  return null;
}

/** Absolute form without the trailing dot ('' = root); relative names get the origin. */
function absoluteName(name: string, origin: string): string | null {
  if (name === '') return null;
  if (name === '.') return '';
  if (name.endsWith('.')) return name.slice(0, -1).toLowerCase();
  return (origin === '' ? name : `${name}.${origin}`).toLowerCase();
}

/** BIND TTL syntax: seconds, or units (1w2d3h4m5s). */
function parseTtl(value: string): number | null {
  if (/^[0-9]+$/.test(value)) return Number(value);
  const m = /^(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/i.exec(value);
  if (m === null || value === '') return null;
  const [w, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0));
  return (w ?? 0) * 604_800 + (d ?? 0) * 86_400 + (h ?? 0) * 3_600 + (mi ?? 0) * 60 + (s ?? 0);
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s;
}

/** Lines with comments removed and parenthesised continuations joined (RFC 1035 §5.1). */
function* logicalLines(text: string): Generator<{ line: string; indented: boolean }> {
  let pending = '';
  let indented = false;
  let depth = 0;
  for (const raw of text.split(/\r?\n/)) {
    let line = '';
    let quoted = false;
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i] ?? '';
      if (ch === '\\' && quoted) {
        line += ch + (raw[i + 1] ?? '');
        i++;
        continue;
      }
      if (ch === '"') quoted = !quoted;
      if (!quoted && ch === ';') break;
      if (!quoted && ch === '(') {
        depth++;
        line += ' ';
        continue;
      }
      if (!quoted && ch === ')') {
        depth = Math.max(0, depth - 1);
        line += ' ';
        continue;
      }
      line += ch;
    }
    if (pending === '') indented = /^[ \t]/.test(raw);
    pending += ` ${line}`;
    if (depth > 0) continue;
    if (pending.trim() !== '') yield { line: pending.trim(), indented };
    pending = '';
  }
  if (pending.trim() !== '') yield { line: pending.trim(), indented };
}

/** Whitespace-separated tokens; a quoted string is one token (quotes kept). */
function tokenize(line: string): string[] {
  return line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}
