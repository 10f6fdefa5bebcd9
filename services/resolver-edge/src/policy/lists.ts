// Blocklist / allowlist sources and their line formats. Formats are detected
// per line unless a list names its format, so one file may mix them (many
// published lists do):
//   hosts   `0.0.0.0 ads.example.com [more names]`, `127.0.0.1 x`, `::1 x`
//   adblock `||domain^` (optionally `$important`), `@@||domain^` (an allow);
//           cosmetic rules (`##`, `#@#`...), other exceptions and URL rules do
//           not apply to DNS and are ignored
//   plain   `domain` (a leading `*.` or `.` is accepted: subdomains are matched anyway)
// Comments: `#` (hosts/plain, also trailing), `!` and `[Adblock Plus 2.0]` (adblock).
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { normalizePolicyDomain } from '@ghostdns/contracts';
import { ResolverEdgeError } from '../errors.js';

export interface ListStats {
  /** Names added to the block (or, in an allowlist, allow) side. */
  block: number;
  /** `@@||domain^` exceptions, and every name of an allowlist. */
  allow: number;
  /** Valid rules that do not apply to DNS (cosmetic, URL, unsupported modifiers, `localhost` entries). */
  ignored: number;
  /** Lines that are none of the formats, or names that are not valid host names. */
  invalid: number;
}

export interface ListSink {
  block(name: string): void;
  allow(name: string): void;
}

export function emptyStats(): ListStats {
  return { block: 0, allow: 0, ignored: 0, invalid: 0 };
}

/** The entries hosts files map to themselves, never meant as blocks. */
const HOSTS_LOCAL_NAMES = new Set([
  'localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback', 'ip6-localnet',
  'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts', '0.0.0.0',
]);

const ADBLOCK_DOMAIN = /^(@@)?\|\|([^\s^$|/]+)(\^)?(?:\|)?(?:\$(.*))?$/;
/** Modifiers that keep a rule meaning "this domain" for DNS. */
const DNS_NEUTRAL_MODIFIERS = new Set(['important', 'all', 'document', 'doc', 'first-party', '1p', 'third-party', '3p']);
const COSMETIC = /#[@?$%]?#|#@[$?%]#|\$\$/;

/**
 * How a list's lines are read: `auto` recognises each line's format (the
 * configured lists always are); a named format counts lines of the others as invalid.
 */
export type ListFormat = 'auto' | 'hosts' | 'adblock' | 'plain';

export interface ParseOptions {
  /** Every name is an allow. */
  asAllowlist?: boolean;
  format?: ListFormat;
  chunkLines?: number;
}

/**
 * Parses one list's text into `sink`. Yields to the event loop every
 * `chunkLines` lines, so loading a million-line list never stalls the answers
 * being served meanwhile.
 */
export async function parseList(text: string, sink: ListSink, options: ParseOptions = {}): Promise<ListStats> {
  const stats = emptyStats();
  const asAllow = options.asAllowlist ?? false;
  const format = options.format ?? 'auto';
  const chunk = options.chunkLines ?? 20_000;
  const add = (name: string): void => {
    if (asAllow) {
      sink.allow(name);
      stats.allow++;
    } else {
      sink.block(name);
      stats.block++;
    }
  };
  let pos = 0;
  let lines = 0;
  // A byte-order mark would otherwise make the first line invalid.
  if (text.charCodeAt(0) === 0xfeff) pos = 1;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl).trim();
    pos = nl + 1;
    if (++lines % chunk === 0) await yieldToLoop();
    parseLine(line, format, stats, add, (name) => {
      sink.allow(name);
      stats.allow++;
    });
  }
  return stats;
}

function parseLine(line: string, format: ListFormat, stats: ListStats, add: (name: string) => void, allow: (name: string) => void): void {
  if (line.length === 0) return;
  const first = line.charCodeAt(0);
  // '#' hosts/plain comment, '!' adblock comment, '[' adblock header.
  if (first === 0x23 || first === 0x21 || first === 0x5b) return;
  if (format === 'auto' || format === 'adblock') {
    if (parseAdblockLine(line, first, stats, add, allow)) return;
    if (format === 'adblock') {
      stats.invalid++;
      return;
    }
  }
  const hash = line.indexOf('#');
  const content = hash >= 0 ? line.slice(0, hash).trim() : line;
  const tokens = content.split(/\s+/);
  const head = tokens[0] ?? '';
  if (isIP(head) !== 0) {
    if (format === 'plain' || tokens.length < 2) {
      stats.invalid++;
      return;
    }
    for (let i = 1; i < tokens.length; i++) {
      const token = tokens[i] ?? '';
      if (HOSTS_LOCAL_NAMES.has(token.toLowerCase())) {
        stats.ignored++;
        continue;
      }
      const name = normalizePolicyDomain(token);
      if (name === null) stats.invalid++;
      else add(name);
    }
    return;
  }
  if (format === 'hosts' || tokens.length !== 1) {
    stats.invalid++;
    return;
  }
  const bare = head.startsWith('*.') ? head.slice(2) : head.startsWith('.') ? head.slice(1) : head;
  const name = normalizePolicyDomain(bare);
  if (name === null) stats.invalid++;
  else add(name);
}

/** The adblock shapes (rules, exceptions, cosmetic and URL rules); false when the line is none of them. */
function parseAdblockLine(line: string, first: number, stats: ListStats, add: (name: string) => void, allow: (name: string) => void): boolean {
  if (COSMETIC.test(line)) {
    stats.ignored++;
    return true;
  }
  if (first === 0x7c || line.startsWith('@@')) {
    const m = ADBLOCK_DOMAIN.exec(line);
    if (m === null) {
      // URL rules (`|https://x/ads`, `@@/path/`) are valid adblock, not DNS.
      stats.ignored++;
      return true;
    }
    const modifiers = m[4];
    if (modifiers !== undefined && modifiers.split(',').some((mod) => !DNS_NEUTRAL_MODIFIERS.has(mod.trim().toLowerCase()))) {
      stats.ignored++;
      return true;
    }
    const name = normalizePolicyDomain(m[2] ?? '');
    if (name === null) {
      // `||ads*.example^` and friends: wildcards are not domain rules.
      if (/[*]/.test(m[2] ?? '')) stats.ignored++;
      else stats.invalid++;
    } else if (m[1] === '@@') allow(name);
    else add(name);
    return true;
  }
  if (first === 0x40 || first === 0x2f || line.includes('$') || line.includes('^')) {
    // Other adblock network rules (`/regex/`, `-banner-$script`).
    stats.ignored++;
    return true;
  }
  return false;
}

export interface SourceLimits {
  timeoutMs: number;
  maxBytes: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = { timeoutMs: 30_000, maxBytes: 128 * 1024 * 1024 };

export type FetchLike = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;

/** A failed read for logs and reports: the error and what caused it (the fetch or file system error). */
export function describeSourceError(reason: unknown): string {
  const cause = reason instanceof Error && reason.cause instanceof Error ? `: ${reason.cause.message}` : '';
  return `${reason instanceof Error ? reason.message : String(reason)}${cause}`;
}

/** Reads a list from a file path, a file: URL or an http(s) URL, within the limits. */
export async function readSource(source: string, limits: SourceLimits = DEFAULT_SOURCE_LIMITS, fetchImpl: FetchLike = fetch): Promise<string> {
  if (/^https?:\/\//i.test(source)) return fetchSource(source, limits, fetchImpl);
  const path = source.startsWith('file:') ? fileURLToPath(source) : source;
  try {
    const info = await stat(path);
    if (info.size > limits.maxBytes) throw new Error(`larger than ${limits.maxBytes} bytes`);
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_POLICY_SOURCE', `cannot read policy list ${source}`, { cause: err });
  }
}

async function fetchSource(url: string, limits: SourceLimits, fetchImpl: FetchLike): Promise<string> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    const res = await fetchImpl(url, { signal, headers: { accept: 'text/plain, */*' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > limits.maxBytes) throw new Error(`content-length ${declared} exceeds ${limits.maxBytes} bytes`);
    if (res.body === null) return '';
    const chunks: Buffer[] = [];
    let total = 0;
    // Leaving the loop early cancels the stream (and the download).
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > limits.maxBytes) throw new Error(`body exceeds ${limits.maxBytes} bytes`);
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    throw new ResolverEdgeError('GHOSTDNS_RESOLVER_POLICY_SOURCE', `cannot fetch policy list ${url}`, { cause: err });
  }
}
