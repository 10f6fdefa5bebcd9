import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { invalidField, invalidParameter } from '../errors.js';
import { healthCheckOf } from '../health/health-check.js';

/** Record types records-api serves (the ones resolver-edge applies from records.changes.v1). */
export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'SRV', 'MX', 'PTR'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** TTL bounds in seconds: at least 1 (0 would defeat every cache), at most 7 days. */
export const MIN_TTL = 1;
export const MAX_TTL = 604_800;
/** TTL when a request names none (the seed's service-mesh call sends no ttl). */
export const DEFAULT_TTL = 300;
/** Most values in one RRset. */
export const MAX_VALUES = 64;
/** Longest TXT value accepted, in bytes (sent as 255-byte character-strings). */
export const MAX_TXT_BYTES = 2048;
const MAX_METADATA_KEYS = 32;
const MAX_METADATA_BYTES = 4096;

/** Same grammar resolver-edge applies: LDH labels (underscore allowed for _service._proto), ≤ 253 characters. */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$/;

/** Lower-cased, without the trailing dot; throws naming `field` unless it is a host name with at least two labels. */
export function normalizeName(field: string, raw: string): string {
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  if (!HOSTNAME.test(name)) {
    throw invalidField(field, 'must be a DNS name: labels of 1-63 letters, digits, - or _, at most 253 characters');
  }
  if (!name.includes('.')) throw invalidField(field, 'must have at least two labels (e.g. svc.example.ts.net)');
  return name;
}

function u16(field: string, raw: string | undefined, what: string): number {
  if (raw === undefined || !/^\d{1,5}$/.test(raw) || Number(raw) > 0xffff) throw invalidField(field, `${what} must be an integer 0-65535`);
  return Number(raw);
}

/** One value of `type` in presentation form, normalised; throws naming `field`. */
export function normalizeValue(field: string, type: RecordType, raw: string): string {
  const v = raw.trim();
  if (v === '') throw invalidField(field, 'must not be empty');
  switch (type) {
    case 'A':
      if (!isIPv4(v)) throw invalidField(field, `must be an IPv4 address for an A record, got ${JSON.stringify(v.slice(0, 60))}`);
      return v;
    case 'AAAA':
      if (!isIPv6(v) || v.includes('%')) throw invalidField(field, `must be an IPv6 address for an AAAA record, got ${JSON.stringify(v.slice(0, 60))}`);
      return v.toLowerCase();
    case 'CNAME':
    case 'PTR':
      return normalizeName(field, v);
    case 'MX': {
      const parts = v.split(/\s+/);
      if (parts.length !== 2) throw invalidField(field, "must be '<preference> <exchange>' for an MX record");
      return `${u16(field, parts[0], 'the preference')} ${normalizeName(field, parts[1] ?? '')}`;
    }
    case 'SRV': {
      const parts = v.split(/\s+/);
      if (parts.length !== 4) throw invalidField(field, "must be '<priority> <weight> <port> <target>' for an SRV record");
      const [priority, weight, port, target] = parts;
      return `${u16(field, priority, 'the priority')} ${u16(field, weight, 'the weight')} ${u16(field, port, 'the port')} ${normalizeName(field, target ?? '')}`;
    }
    case 'TXT': {
      if (Buffer.byteLength(raw, 'utf8') > MAX_TXT_BYTES) throw invalidField(field, `must be at most ${MAX_TXT_BYTES} bytes`);
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(raw)) throw invalidField(field, 'must not contain control characters');
      return raw;
    }
  }
}

const metadataValue = z.union([z.string().max(512), z.number().finite(), z.boolean()]);
const metadataSchema = z
  .record(z.string().min(1).max(64), metadataValue)
  .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, `must have at most ${MAX_METADATA_KEYS} keys`)
  .refine((m) => Buffer.byteLength(JSON.stringify(m), 'utf8') <= MAX_METADATA_BYTES, `must be at most ${MAX_METADATA_BYTES} bytes as JSON`)
  .superRefine((m, ctx) => {
    const check = healthCheckOf(m);
    if (typeof check === 'string') ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['health_check'], message: check });
  });

export type Metadata = z.infer<typeof metadataSchema>;

const typeSchema = z
  .string()
  .transform((t) => t.trim().toUpperCase())
  .refine((t): t is RecordType => (RECORD_TYPES as readonly string[]).includes(t), { message: `must be one of ${RECORD_TYPES.join(', ')}` });

const ttlSchema = z.number().int('must be a whole number of seconds').min(MIN_TTL, `must be at least ${MIN_TTL}`).max(MAX_TTL, `must be at most ${MAX_TTL}`);
const valueSchema = z.string().max(MAX_TXT_BYTES * 2);
const valuesSchema = z.array(valueSchema).min(1, 'must hold at least one value').max(MAX_VALUES, `must hold at most ${MAX_VALUES} values`);

/**
 * POST /api/v1/records, as GhostScale sends it: `{ action?, domain, type, value, ttl?, metadata? }`.
 * `name` is accepted for `domain` and `values` (several) for `value`.
 */
const postSchema = z
  .object({
    action: z.enum(['register', 'deregister']).optional(),
    domain: z.string().max(300).optional(),
    name: z.string().max(300).optional(),
    type: typeSchema,
    value: valueSchema.optional(),
    values: valuesSchema.optional(),
    ttl: ttlSchema.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict();

/** PUT /api/v1/records/:id: replaces the TTL, the values and (when given) the metadata; name and type cannot change. */
const putSchema = z
  .object({
    domain: z.string().max(300).optional(),
    name: z.string().max(300).optional(),
    type: typeSchema.optional(),
    value: valueSchema.optional(),
    values: valuesSchema.optional(),
    ttl: ttlSchema.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict();

export interface RecordInput {
  action: 'register' | 'deregister';
  name: string;
  type: RecordType;
  values: string[];
  /** undefined: keep the stored TTL (or DEFAULT_TTL for a new RRset). */
  ttl: number | undefined;
  metadata: Metadata | undefined;
}

export interface RecordReplace {
  name: string | undefined;
  type: RecordType | undefined;
  /** Checked against the stored type by the service (normalizeValues). */
  value: string | undefined;
  values: string[] | undefined;
  ttl: number | undefined;
  metadata: Metadata | undefined;
}

/**
 * The seed's service-mesh call sends no Content-Type, so its JSON arrives as
 * text/plain: a string body is parsed as JSON here.
 */
export function parseBody(body: unknown): unknown {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as unknown;
    } catch {
      throw invalidField('', 'must be JSON');
    }
  }
  if (Buffer.isBuffer(body)) return parseBody(body.toString('utf8'));
  return body;
}

/** The first zod issue as a 400 naming its field ('is required', 'is not supported', or zod's own words). */
export function invalidBody(error: z.ZodError): never {
  const issue = error.issues[0];
  if (issue === undefined) throw invalidField('', 'is not valid');
  if (issue.code === 'unrecognized_keys') throw invalidField(issue.keys[0] ?? '', 'is not supported');
  const field = issue.path.join('.');
  const message = issue.code === 'invalid_type' && issue.received === 'undefined' ? 'is required' : issue.message.replace(/^String must/, 'must');
  throw invalidField(field, message.charAt(0).toLowerCase() + message.slice(1));
}

export function normalizeValues(type: RecordType, value: string | undefined, values: string[] | undefined, required: boolean): string[] {
  if (value !== undefined && values !== undefined) throw invalidField('values', "cannot be combined with 'value'");
  const raw = values ?? (value === undefined ? [] : [value]);
  if (raw.length === 0 && required) throw invalidField('value', 'is required');
  const field = values === undefined ? 'value' : 'values';
  const out: string[] = [];
  raw.forEach((v, i) => {
    const n = normalizeValue(values === undefined ? field : `${field}.${i}`, type, v);
    if (!out.includes(n)) out.push(n);
  });
  if (type === 'CNAME' && out.length > 1) throw invalidField(field, 'a CNAME holds exactly one target');
  return out;
}

function nameOf(domain: string | undefined, name: string | undefined, required: boolean): string | undefined {
  if (domain !== undefined && name !== undefined) throw invalidField('name', "cannot be combined with 'domain'");
  const raw = domain ?? name;
  if (raw === undefined) {
    if (required) throw invalidField('domain', 'is required');
    return undefined;
  }
  return normalizeName(domain !== undefined ? 'domain' : 'name', raw);
}

export function parseRecordPost(body: unknown): RecordInput {
  const parsed = postSchema.safeParse(parseBody(body));
  if (!parsed.success) invalidBody(parsed.error);
  const b = parsed.data;
  const type = b.type;
  const name = nameOf(b.domain, b.name, true) as string;
  return { action: b.action ?? 'register', name, type, values: normalizeValues(type, b.value, b.values, true), ttl: b.ttl, metadata: b.metadata };
}

export function parseRecordPut(body: unknown): RecordReplace {
  const parsed = putSchema.safeParse(parseBody(body));
  if (!parsed.success) invalidBody(parsed.error);
  const b = parsed.data;
  const type = b.type;
  return {
    name: nameOf(b.domain, b.name, false),
    type,
    value: b.value,
    values: b.values,
    ttl: b.ttl,
    metadata: b.metadata,
  };
}


export interface RecordFilter {
  name: string | undefined;
  type: RecordType | undefined;
  /** Names equal to or below this one. */
  zone: string | undefined;
  limit: number;
  offset: number;
}

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
const LIST_PARAMS = new Set(['name', 'domain', 'type', 'zone', 'limit', 'offset']);

export function parseRecordFilter(query: Record<string, unknown>): RecordFilter {
  const one = (key: string): string | undefined => {
    const v = query[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalidParameter(key, 'must be given once');
    return v;
  };
  for (const key of Object.keys(query)) if (!LIST_PARAMS.has(key)) throw queryProblem(key, 'is not supported (use name, type, zone, limit, offset)');
  const int = (key: string, dflt: number, min: number, max: number): number => {
    const v = one(key);
    if (v === undefined) return dflt;
    if (!/^\d{1,7}$/.test(v) || Number(v) < min || Number(v) > max) throw queryProblem(key, `must be an integer ${min}-${max}`);
    return Number(v);
  };
  const type = one('type');
  const upper = type?.trim().toUpperCase();
  if (upper !== undefined && !(RECORD_TYPES as readonly string[]).includes(upper)) throw queryProblem('type', `must be one of ${RECORD_TYPES.join(', ')}`);
  const rawName = one('name') ?? one('domain');
  const zone = one('zone');
  return {
    name: rawName === undefined ? undefined : queryName('name', rawName),
    type: upper as RecordType | undefined,
    zone: zone === undefined ? undefined : queryName('zone', zone),
    limit: int('limit', DEFAULT_LIST_LIMIT, 1, MAX_LIST_LIMIT),
    offset: int('offset', 0, 0, 1_000_000),
  };
}

function queryProblem(key: string, problem: string): Error {
  return invalidParameter(key, problem);
}

function queryName(key: string, raw: string): string {
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  if (!HOSTNAME.test(name)) throw invalidParameter(key, 'must be a DNS name');
  return name;
}
