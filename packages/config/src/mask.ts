import { isSecretKeyName, listConfigKeys } from './keys.js';
import type { GhostConfig } from './schema.js';
import { stringify as toYaml } from 'yaml';

export const MASK = '****';

/** `postgres://user:pw@host/db?password=x` -> `postgres://user:****@host/db?password=****`. */
export function maskUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return maskSecretsInString(value);
  }
  if (url.password !== '') url.password = MASK;
  for (const name of [...url.searchParams.keys()]) {
    if (isSecretKeyName(name)) url.searchParams.set(name, MASK);
  }
  return url.toString().replaceAll(encodeURIComponent(MASK), MASK);
}

/** Masks `user:password@` credentials anywhere in free text (also text that is not a valid URL). */
export function maskSecretsInString(value: string): string {
  return value
    .replace(/(\/\/[^\s:/@]*:)[^\s@/]*@/g, `$1${MASK}@`)
    .replace(/([?&][^=&\s]*(?:password|passwd|token|secret|key)[^=&\s]*=)[^&\s]*/gi, `$1${MASK}`);
}

export type DescribedValue = string | number | boolean | null | DescribedValue[] | { [key: string]: DescribedValue };

function describeValue(name: string, value: unknown): DescribedValue {
  if (value === undefined || value === null) return null;
  if (isSecretKeyName(name)) return MASK;
  if (typeof value === 'string') return value.includes('://') || value.includes('@') ? maskUrl(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((item) => describeValue('', item));
  if (typeof value === 'object') {
    const out: { [key: string]: DescribedValue } = {};
    for (const [key, child] of Object.entries(value)) out[key] = describeValue(key, child);
    return out;
  }
  return typeof value === 'bigint' ? value.toString() : null;
}

/** A printable copy of the config with secrets masked (URL passwords, keys named like password/token/secret/key). */
export function describeConfig(config: GhostConfig): { [section: string]: DescribedValue } {
  const out: { [section: string]: DescribedValue } = {};
  for (const [section, value] of Object.entries(config)) out[section] = describeValue(section, value);
  // Show unset optional keys as null so the output lists every key.
  for (const key of listConfigKeys()) {
    const section = out[key.section];
    if (section !== null && typeof section === 'object' && !Array.isArray(section) && !(key.field in section)) {
      section[key.field] = null;
    }
  }
  return out;
}

/** describeConfig rendered as YAML or JSON text. */
export function formatConfig(config: GhostConfig, format: 'yaml' | 'json' = 'yaml'): string {
  const described = describeConfig(config);
  return format === 'json' ? `${JSON.stringify(described, null, 2)}\n` : toYaml(described, { nullStr: '~' });
}
