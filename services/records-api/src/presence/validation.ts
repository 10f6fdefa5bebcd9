import { normalizeCustomDomain, sanitizeLabel, type PresenceSource } from '@ghostdns/contracts';
import { z } from 'zod';
import { invalidField, invalidParameter } from '../errors.js';
import { invalidBody, parseBody } from '../records/validation.js';

/** presenceSourceId() of every presence source: the `source` of presence_history and presence_peer_mappings. */
export const PRESENCE_SOURCES = ['wireguard', 'tailscale'] as const satisfies readonly Lowercase<PresenceSource>[];
export type PresenceSourceId = (typeof PRESENCE_SOURCES)[number];

/** The primary key of a mapping, and the position of a peer or mapping in list order. */
export interface DeviceKey {
  source: PresenceSourceId;
  deviceId: string;
}

const MAX_DEVICE_ID = 256;
/** Printable ASCII without spaces: what any source's device id is made of. */
const DEVICE_ID = /^[\x21-\x7e]+$/;
/** A WireGuard public key: 32 bytes in padded base64 (the 43rd character holds only the last 4 bits, hence its short set). */
const WIREGUARD_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function parseSource(raw: string): PresenceSourceId {
  if (!(PRESENCE_SOURCES as readonly string[]).includes(raw)) throw invalidParameter('source', `must be one of ${PRESENCE_SOURCES.join(', ')}`, 'path');
  return raw as PresenceSourceId;
}

/**
 * `:source/:deviceId` of a mapping route. Any device id a row may hold is
 * accepted (so DELETE can remove what `ghostdns haddns map` stored without
 * checking); `strict` (PUT) also requires a WireGuard id to be a public key,
 * since a mapping under a mistyped key would never match a peer.
 */
export function parseDeviceKey(source: string, deviceId: string, strict: boolean): DeviceKey {
  const key = { source: parseSource(source), deviceId };
  if (!isDeviceId(deviceId)) throw invalidParameter('deviceId', `must be 1-${MAX_DEVICE_ID} printable characters without spaces`, 'path');
  if (strict && key.source === 'wireguard' && !WIREGUARD_KEY.test(deviceId)) {
    throw invalidParameter('deviceId', 'must be a WireGuard public key (44 characters of base64)', 'path');
  }
  return key;
}

export function isDeviceId(value: string): boolean {
  return value.length <= MAX_DEVICE_ID && DEVICE_ID.test(value);
}

const putSchema = z
  .object({
    name: z.string().max(255),
    enabled: z.boolean().optional(),
    custom_domain: z.string().max(255).nullable().optional(),
  })
  .strict();

/** A PUT body, normalised. `undefined`: keep what the mapping holds (or the default for a new one). */
export interface MappingInput {
  name: string;
  enabled: boolean | undefined;
  customDomain: string | null | undefined;
}

function customDomainOf(raw: string): string {
  const { domain, problem } = normalizeCustomDomain(raw);
  if (problem !== null) throw invalidField('custom_domain', `must be a DNS name or null: ${problem}`);
  return domain;
}

/** PUT /api/v1/presence/mappings/:source/:deviceId: `{ name, enabled?, custom_domain? }`. */
export function parseMappingPut(body: unknown): MappingInput {
  const parsed = putSchema.safeParse(parseBody(body));
  if (!parsed.success) invalidBody(parsed.error);
  const b = parsed.data;
  const name = sanitizeLabel(b.name);
  if (name === null) throw invalidField('name', 'must contain a letter or digit (it is made into one DNS label)');
  return {
    name,
    enabled: b.enabled,
    customDomain: b.custom_domain === undefined || b.custom_domain === null ? b.custom_domain : customDomainOf(b.custom_domain),
  };
}
