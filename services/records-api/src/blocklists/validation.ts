import { posix } from 'node:path';
import { normalizePolicyDomain, type PolicyKind, type PolicyListFormat } from '@ghostdns/contracts';
import { z } from 'zod';
import { invalidField } from '../errors.js';
import { invalidBody, parseBody } from '../records/validation.js';

export const POLICY_KINDS = ['block', 'allow'] as const;
export type PolicyKindId = (typeof POLICY_KINDS)[number];

/** resolver-edge's list format names: `auto` recognises each line's format, the others accept only their own. */
export const LIST_FORMATS = ['auto', 'hosts', 'adblock', 'plain'] as const;
export type ListFormatId = (typeof LIST_FORMATS)[number];

/** The PolicyChangeEvent symbols of the stored (lower-case) values. */
export const KIND_SYMBOLS: { readonly [K in PolicyKindId]: PolicyKind } = { block: 'BLOCK', allow: 'ALLOW' };
export const FORMAT_SYMBOLS: { readonly [F in ListFormatId]: PolicyListFormat } = { auto: 'AUTO', hosts: 'HOSTS', adblock: 'ADBLOCK', plain: 'PLAIN' };

export const MAX_SOURCE_LENGTH = 2048;
export const MAX_COMMENT_LENGTH = 500;

/** Every resolver-edge reads the list itself, so it must be somewhere each of them can: a URL, or a path on their disks. */
export function normalizeSource(raw: string): string {
  const source = sourceForm(raw.trim());
  if (source.length > MAX_SOURCE_LENGTH) throw invalidField('source', `must be at most ${MAX_SOURCE_LENGTH} characters`);
  return source;
}

function sourceForm(source: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(source)) throw invalidField('source', 'must not contain control characters');
  if (source.startsWith('/')) {
    if (posix.normalize(source) !== source) throw invalidField('source', 'must be a normalised absolute path (no ., .. or empty segments)');
    return source;
  }
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw invalidField('source', 'must be an http(s) URL or an absolute file path');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidField('source', 'must be an http(s) URL or an absolute file path');
  // URL's own serialisation (lower-case scheme and host): the same list spelt twice is found as a duplicate.
  return url.href;
}

/** The domain rule resolver-edge matches with; a leading `*.` or `.` is accepted as in plain lists (names below match anyway). */
export function normalizeEntryDomain(raw: string): string {
  const trimmed = raw.trim();
  const bare = trimmed.startsWith('*.') ? trimmed.slice(2) : trimmed.startsWith('.') ? trimmed.slice(1) : trimmed;
  const domain = normalizePolicyDomain(bare);
  if (domain === null) {
    throw invalidField('domain', 'must be a domain name: labels of 1-63 letters, digits, - or _ (IDNs allowed), at most 253 characters, not an address');
  }
  return domain;
}

const kindSchema = z.enum(POLICY_KINDS, { errorMap: () => ({ message: `must be one of ${POLICY_KINDS.join(', ')}` }) });
const formatSchema = z.enum(LIST_FORMATS, { errorMap: () => ({ message: `must be one of ${LIST_FORMATS.join(', ')}` }) });
const sourceSchema = z.string().max(MAX_SOURCE_LENGTH * 2);

const listPostSchema = z.object({ kind: kindSchema, source: sourceSchema, format: formatSchema.optional(), enabled: z.boolean().optional() }).strict();
const listPutSchema = z.object({ kind: kindSchema.optional(), source: sourceSchema.optional(), format: formatSchema.optional(), enabled: z.boolean().optional() }).strict();
const entryPostSchema = z
  .object({ kind: kindSchema, domain: z.string().max(300), comment: z.string().max(MAX_COMMENT_LENGTH).nullable().optional() })
  .strict();

export interface ListValues {
  kind: PolicyKindId;
  source: string;
  format: ListFormatId;
  enabled: boolean;
}

/** POST /api/v1/blocklists: `{ kind, source, format?, enabled? }` (format auto, enabled true by default). */
export function parseListPost(body: unknown): ListValues {
  const parsed = listPostSchema.safeParse(parseBody(body));
  if (!parsed.success) invalidBody(parsed.error);
  const b = parsed.data;
  return { kind: b.kind, source: normalizeSource(b.source), format: b.format ?? 'auto', enabled: b.enabled ?? true };
}

/** PUT /api/v1/blocklists/:id: any of the POST fields; absent ones keep what the list holds. */
export function parseListPut(body: unknown): Partial<ListValues> {
  const parsed = listPutSchema.safeParse(parseBody(body));
  if (!parsed.success) invalidBody(parsed.error);
  const b = parsed.data;
  return {
    ...(b.kind === undefined ? {} : { kind: b.kind }),
    ...(b.source === undefined ? {} : { source: normalizeSource(b.source) }),
    ...(b.format === undefined ? {} : { format: b.format }),
    ...(b.enabled === undefined ? {} : { enabled: b.enabled }),
  };
}

export interface EntryValues {
  kind: PolicyKindId;
  domain: string;
  comment: string | null;
}

/** POST /api/v1/blocklists/entries: `{ kind, domain, comment? }`. */
export function parseEntryPost(body: unknown): EntryValues {
  const parsed = entryPostSchema.safeParse(parseBody(body));
  if (!parsed.success) invalidBody(parsed.error);
  const b = parsed.data;
  const comment = b.comment?.trim() ?? '';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(comment)) throw invalidField('comment', 'must not contain control characters');
  return { kind: b.kind, domain: normalizeEntryDomain(b.domain), comment: comment === '' ? null : comment };
}
