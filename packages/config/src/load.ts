import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue, type ConfigSource } from './errors.js';
import { listConfigKeys, type ConfigKey } from './keys.js';
import { configSchema, type GhostConfig, type GhostConfigInput } from './schema.js';
import { maskSecretsInString } from './mask.js';

/** The environment variable naming the YAML config file. */
export const CONFIG_FILE_ENV = 'GHOSTDNS_CONFIG';
const ENV_PREFIX = 'GHOSTDNS_';

export interface LoadConfigOptions {
  /** Defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A config file given on the command line; wins over GHOSTDNS_CONFIG. */
  argvPath?: string;
}

type RawSection = Record<string, unknown>;
type RawConfig = Record<string, RawSection>;

interface Collected {
  raw: RawConfig;
  sources: Map<string, ConfigSource>;
  issues: ConfigIssue[];
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);
const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Loads the configuration once at boot: the YAML file (argvPath, else
 * GHOSTDNS_CONFIG, else none), overlaid with GHOSTDNS_<SECTION>_<KEY> variables
 * and the standard aliases (env wins over the file), validated with the one
 * zod schema and deep-frozen. Throws one ConfigError listing every problem.
 */
export function loadConfig(options: LoadConfigOptions = {}): GhostConfig {
  const env = options.env ?? process.env;
  const collected: Collected = { raw: {}, sources: new Map(), issues: [] };

  const fileFromArg = options.argvPath !== undefined && options.argvPath !== '';
  const filePath = fileFromArg ? options.argvPath : env[CONFIG_FILE_ENV];
  if (filePath !== undefined && filePath !== '') {
    const fileSource: ConfigSource = fileFromArg
      ? { kind: 'argument', name: '--config' }
      : { kind: 'env', name: CONFIG_FILE_ENV };
    readConfigFile(filePath, fileSource, collected);
  }
  applyEnv(env, collected);
  return validate(collected);
}

/**
 * Validates an in-memory config object (tests, embedding). Same checks and
 * freezing as loadConfig, with every value attributed to `source`.
 */
export function parseConfig(input: GhostConfigInput, sourceName = 'input'): GhostConfig {
  const collected: Collected = { raw: {}, sources: new Map(), issues: [] };
  const source: ConfigSource = { kind: 'argument', name: sourceName };
  mergeObject(input, source, collected);
  return validate(collected);
}

function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return resolvePath(homedir(), path.slice(2));
  return path;
}

function readConfigFile(path: string, via: ConfigSource, collected: Collected): void {
  const absolute = resolvePath(expandHome(path));
  const fileSource: ConfigSource = { kind: 'file', path: absolute };
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : errorMessage(error);
    collected.issues.push({ key: '<config file>', source: via, message: `cannot read ${absolute}: ${reason}` });
    return;
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const pos = error.linePos?.[0];
      const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
      const firstLine = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
      collected.issues.push({ key: '<config file>', source: fileSource, message: `YAML syntax error at ${where}: ${firstLine}` });
    }
    return;
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return; // empty file
  mergeObject(value, fileSource, collected);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeObject(value: unknown, source: ConfigSource, collected: Collected): void {
  if (!isPlainObject(value)) {
    collected.issues.push({ key: '<config>', source, message: 'expected a mapping of sections (node, dns, http, ...)' });
    return;
  }
  const keys = listConfigKeys();
  const sections = new Set(keys.map((k) => k.section));
  for (const [section, sectionValue] of Object.entries(value)) {
    if (!sections.has(section)) {
      collected.issues.push({ key: section, source, message: `unknown section${suggest(section, [...sections])}` });
      continue;
    }
    if (sectionValue === null || sectionValue === undefined) continue;
    if (!isPlainObject(sectionValue)) {
      collected.issues.push({ key: section, source, message: 'expected a mapping' });
      continue;
    }
    const fields = keys.filter((k) => k.section === section);
    for (const [field, fieldValue] of Object.entries(sectionValue)) {
      const key = `${section}.${field}`;
      if (!fields.some((f) => f.field === field)) {
        collected.issues.push({ key, source, message: `unknown key${suggest(key, fields.map((f) => f.key))}` });
        continue;
      }
      if (fieldValue === undefined) continue;
      setRaw(collected, section, field, fieldValue, source);
    }
  }
}

function setRaw(collected: Collected, section: string, field: string, value: unknown, source: ConfigSource): void {
  const target = (collected.raw[section] ??= {});
  target[field] = value;
  collected.sources.set(`${section}.${field}`, source);
}

function applyEnv(env: Readonly<Record<string, string | undefined>>, collected: Collected): void {
  const keys = listConfigKeys();
  const known = new Set(keys.map((k) => k.env));
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && name !== CONFIG_FILE_ENV && !known.has(name))
    .sort();
  for (const name of unknown) {
    collected.issues.push({
      key: name,
      source: { kind: 'env', name },
      message: `unknown GhostDNS environment variable${suggest(name, [...known, CONFIG_FILE_ENV])}`,
    });
  }

  for (const key of keys) {
    const primary = env[key.env];
    const alias = key.alias !== undefined ? env[key.alias] : undefined;
    let name: string;
    let text: string;
    if (primary !== undefined && (primary !== '' || key.kind === 'list')) {
      if (key.alias !== undefined && alias !== undefined && alias !== '' && alias.trim() !== primary.trim()) {
        collected.issues.push({
          key: key.key,
          source: { kind: 'env', name: key.env },
          message: `conflicts with ${key.alias}: both are set to different values (set only one)`,
        });
        continue;
      }
      name = key.env;
      text = primary;
    } else if (key.alias !== undefined && alias !== undefined && (alias !== '' || key.kind === 'list')) {
      name = key.alias;
      text = alias;
    } else {
      continue;
    }
    const source: ConfigSource = { kind: 'env', name };
    const coerced = coerce(key, text);
    if (!coerced.ok) {
      collected.issues.push({ key: key.key, source, message: coerced.message });
      continue;
    }
    setRaw(collected, key.section, key.field, coerced.value, source);
  }
}

type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

function quote(key: ConfigKey, text: string): string {
  const shown = key.secret ? maskSecretsInString(text) : text;
  return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 77)}...` : shown);
}

function coerceScalar(key: ConfigKey, kind: ConfigKey['kind'], text: string): Coerced {
  const value = text.trim();
  switch (kind) {
    case 'integer':
    case 'number':
      if (!NUMBER_RE.test(value)) {
        return { ok: false, message: `expected a${kind === 'integer' ? 'n integer' : ' number'}, got ${quote(key, text)}` };
      }
      return { ok: true, value: Number(value) };
    case 'boolean': {
      const lower = value.toLowerCase();
      if (TRUE_WORDS.has(lower)) return { ok: true, value: true };
      if (FALSE_WORDS.has(lower)) return { ok: true, value: false };
      return { ok: false, message: `expected a boolean (true/false/1/0/yes/no/on/off), got ${quote(key, text)}` };
    }
    case 'string':
    case 'url':
    case 'host:port':
    case 'enum':
    case 'list':
      return { ok: true, value };
  }
}

function coerce(key: ConfigKey, text: string): Coerced {
  if (key.kind !== 'list') return coerceScalar(key, key.kind, text);
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const values: unknown[] = [];
  for (const part of parts) {
    const one = coerceScalar(key, key.elementKind ?? 'string', part);
    if (!one.ok) return one;
    values.push(one.value);
  }
  return { ok: true, value: values };
}

function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '<config>' : out;
}

function valueAt(raw: RawConfig, path: readonly (string | number)[]): unknown {
  let current: unknown = raw;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === 'invalid_string' && issue.validation === 'url') return 'expected a URL (scheme://host...)';
  if (issue.code === 'invalid_enum_value') return `expected one of ${issue.options.map(String).join('|')}`;
  if (issue.code === 'invalid_type') {
    if (issue.received === 'undefined') return `required (${issue.expected})`;
    return `expected ${issue.expected}, got ${issue.received}`;
  }
  if (issue.code === 'too_small') {
    if (issue.type === 'string') return 'must not be empty';
    if (issue.type === 'number') return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
  }
  if (issue.code === 'too_big' && issue.type === 'number') {
    return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
  }
  return issue.message;
}

function validate(collected: Collected): GhostConfig {
  const issues = [...collected.issues];
  const keysByName = new Map(listConfigKeys().map((k) => [k.key, k]));
  const raw = collected.raw;
  if (raw.data !== undefined && typeof raw.data.dir === 'string') {
    raw.data.dir = resolvePath(expandHome(raw.data.dir));
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const section = issue.path[0];
      const field = issue.path[1];
      const keyName = typeof section === 'string' && typeof field === 'string' ? `${section}.${field}` : String(section);
      const source = collected.sources.get(keyName) ?? { kind: 'default' };
      let message = describeIssue(issue);
      const value = valueAt(raw, issue.path);
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        const key = keysByName.get(keyName);
        const text = String(value);
        const shown = key?.secret === true ? maskSecretsInString(text) : text;
        const clipped = shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
        message += `, got ${typeof value === 'string' ? JSON.stringify(clipped) : clipped}`;
      }
      issues.push({ key: formatPath(issue.path), source, message });
    }
  }
  if (issues.length > 0 || !parsed.success) {
    throw new ConfigError(issues, parsed.success ? {} : { cause: parsed.error });
  }
  return deepFreeze(parsed.data);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

function suggest(name: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean ${best}?)` : '';
}

/** Splits `host:port` / `[v6]:port` as validated by the schema. */
export function parseHostPort(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) throw new TypeError(`expected host:port, got ${JSON.stringify(value)}`);
  let host = value.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(value.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError(`bad port in ${JSON.stringify(value)}`);
  return { host, port };
}

/** Inverse of parseHostPort (brackets IPv6 hosts). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
