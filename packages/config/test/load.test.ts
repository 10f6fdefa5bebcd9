import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  describeConfig,
  formatConfig,
  formatHostPort,
  listConfigKeys,
  loadConfig,
  maskUrl,
  parseConfig,
  parseHostPort,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ghostdns-config-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function yamlFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function loadError(env: Record<string, string>, argvPath?: string): ConfigError {
  try {
    loadConfig(argvPath === undefined ? { env } : { env, argvPath });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig defaults', () => {
  it('starts with no file and no env', () => {
    const config = loadConfig({ env: {} });
    expect(config.dns.listen).toBe('127.0.0.1:5353');
    expect(config.http.listen).toBe('127.0.0.1:8080');
    expect(config.kafka.brokers).toEqual([]);
    expect(config.database.url).toBeUndefined();
    expect(config.data.dir).toBe(join(homedir(), '.ghostdns'));
  });

  it('deep-freezes the result', () => {
    const config = loadConfig({ env: { GHOSTDNS_DNS_UPSTREAMS: '1.1.1.1:53' } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.dns)).toBe(true);
    expect(Object.isFrozen(config.dns.upstreams)).toBe(true);
    expect(() => {
      (config.dns as { listen: string }).listen = 'x:1';
    }).toThrow(TypeError);
  });
});

describe('env coercion', () => {
  it.each([
    ['GHOSTDNS_DNS_UPSTREAMS', '1.1.1.1:53, [2606:4700::1111]:53', (c: ReturnType<typeof loadConfig>) => c.dns.upstreams, ['1.1.1.1:53', '[2606:4700::1111]:53']],
    ['GHOSTDNS_DNS_UPSTREAMS', '', (c: ReturnType<typeof loadConfig>) => c.dns.upstreams, []],
    ['KAFKA_BROKERS', 'k1:9092,k2:9092', (c: ReturnType<typeof loadConfig>) => c.kafka.brokers, ['k1:9092', 'k2:9092']],
    ['GHOSTDNS_DNS_TCP', 'no', (c: ReturnType<typeof loadConfig>) => c.dns.tcp, false],
    ['GHOSTDNS_DNS_TCP', '0', (c: ReturnType<typeof loadConfig>) => c.dns.tcp, false],
    ['GHOSTDNS_DNS_TCP', 'YES', (c: ReturnType<typeof loadConfig>) => c.dns.tcp, true],
    ['GHOSTDNS_DNS_TCP', '1', (c: ReturnType<typeof loadConfig>) => c.dns.tcp, true],
    ['GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS', '750', (c: ReturnType<typeof loadConfig>) => c.dns.upstreamTimeoutMs, 750],
    ['GHOSTDNS_PRESENCE_POLL_INTERVAL', '2.5', (c: ReturnType<typeof loadConfig>) => c.presence.pollInterval, 2.5],
    ['GHOSTDNS_SCHEMA_REGISTRY_URL', 'http://sr:8081', (c: ReturnType<typeof loadConfig>) => c.schemaRegistry.url, 'http://sr:8081'],
    ['SCHEMA_REGISTRY_URL', 'http://sr:8081', (c: ReturnType<typeof loadConfig>) => c.schemaRegistry.url, 'http://sr:8081'],
    ['DATABASE_URL', 'postgres://u:p@db:5432/g', (c: ReturnType<typeof loadConfig>) => c.database.url, 'postgres://u:p@db:5432/g'],
    ['REDIS_URL', 'redis://r:6379', (c: ReturnType<typeof loadConfig>) => c.redis.url, 'redis://r:6379'],
    ['DATABASE_URL', '', (c: ReturnType<typeof loadConfig>) => c.database.url, undefined],
    ['GHOSTDNS_LOG_LEVEL', 'debug', (c: ReturnType<typeof loadConfig>) => c.log.level, 'debug'],
    ['GHOSTDNS_DATA_DIR', '~/gd', (c: ReturnType<typeof loadConfig>) => c.data.dir, join(homedir(), 'gd')],
  ])('%s=%j', (name, value, pick, expected) => {
    expect(pick(loadConfig({ env: { [name]: value } }))).toEqual(expected);
  });
});

describe('failures', () => {
  const missing = join(dir, 'does-not-exist.yaml');
  it.each<[string, Record<string, string>, string | undefined, string]>([
    ['bad host:port', { GHOSTDNS_DNS_LISTEN: 'localhost' }, undefined, 'dns.listen (env GHOSTDNS_DNS_LISTEN): expected host:port'],
    ['bad port range', { GHOSTDNS_HTTP_LISTEN: '0.0.0.0:70000' }, undefined, 'http.listen (env GHOSTDNS_HTTP_LISTEN): port must be 0-65535'],
    ['bad list element', { KAFKA_BROKERS: 'k1:9092,k2' }, undefined, 'kafka.brokers[1] (env KAFKA_BROKERS): expected host:port'],
    ['bad number', { GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS: 'fast' }, undefined, 'dns.upstreamTimeoutMs (env GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS): expected an integer, got "fast"'],
    ['number out of range', { GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS: '10' }, undefined, 'dns.upstreamTimeoutMs (env GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS): must be >= 50'],
    ['non-integer', { GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS: '100.5' }, undefined, 'dns.upstreamTimeoutMs (env GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS): expected integer'],
    ['bad bool', { GHOSTDNS_DNS_TCP: 'maybe' }, undefined, 'dns.tcp (env GHOSTDNS_DNS_TCP): expected a boolean'],
    ['bad enum', { GHOSTDNS_LOG_LEVEL: 'verbose' }, undefined, 'log.level (env GHOSTDNS_LOG_LEVEL): expected one of fatal|error|warn|info|debug|trace'],
    ['bad url', { DATABASE_URL: 'not a url' }, undefined, 'database.url (env DATABASE_URL): expected a URL'],
    ['unknown env key', { GHOSTDNS_DNS_LISTN: '1.2.3.4:53' }, undefined, 'GHOSTDNS_DNS_LISTN (env GHOSTDNS_DNS_LISTN): unknown GhostDNS environment variable (did you mean GHOSTDNS_DNS_LISTEN?)'],
    ['alias conflict', { KAFKA_BROKERS: 'a:1', GHOSTDNS_KAFKA_BROKERS: 'b:1' }, undefined, 'kafka.brokers (env GHOSTDNS_KAFKA_BROKERS): conflicts with KAFKA_BROKERS'],
    ['missing file (env)', { GHOSTDNS_CONFIG: missing }, undefined, `<config file> (env GHOSTDNS_CONFIG): cannot read ${missing}: file not found`],
    ['missing file (argv)', {}, missing, `<config file> (argument --config): cannot read ${missing}: file not found`],
    ['YAML syntax error', { GHOSTDNS_CONFIG: yamlFile('syntax.yaml', 'dns:\n  listen: [1\n') }, undefined, `<config file> (file ${join(dir, 'syntax.yaml')}): YAML syntax error at line`],
    ['YAML unknown key', { GHOSTDNS_CONFIG: yamlFile('unknown.yaml', 'dns:\n  lisen: 1.2.3.4:53\n') }, undefined, `dns.lisen (file ${join(dir, 'unknown.yaml')}): unknown key (did you mean dns.listen?)`],
    ['YAML unknown section', { GHOSTDNS_CONFIG: yamlFile('section.yaml', 'dnss:\n  listen: 1.2.3.4:53\n') }, undefined, `dnss (file ${join(dir, 'section.yaml')}): unknown section (did you mean dns?)`],
    ['YAML section not a mapping', { GHOSTDNS_CONFIG: yamlFile('scalar.yaml', 'dns: 5\n') }, undefined, `dns (file ${join(dir, 'scalar.yaml')}): expected a mapping`],
    ['YAML top level not a mapping', { GHOSTDNS_CONFIG: yamlFile('list.yaml', '- a\n- b\n') }, undefined, `<config> (file ${join(dir, 'list.yaml')}): expected a mapping`],
    ['YAML wrong type', { GHOSTDNS_CONFIG: yamlFile('type.yaml', 'dns:\n  tcp: "sometimes"\n') }, undefined, `dns.tcp (file ${join(dir, 'type.yaml')}): expected boolean, got string`],
    ['YAML bad value', { GHOSTDNS_CONFIG: yamlFile('value.yaml', 'http:\n  listen: nohost\n') }, undefined, `http.listen (file ${join(dir, 'value.yaml')}): expected host:port`],
  ])('%s', (_name, env, argvPath, expected) => {
    const error = loadError(env, argvPath);
    expect(error.code).toBe('GHOSTDNS_CONFIG_INVALID');
    expect(error.message).toContain(expected);
  });

  it('lists every bad key in one error', () => {
    const error = loadError({
      GHOSTDNS_DNS_LISTEN: 'localhost',
      GHOSTDNS_DNS_TCP: 'maybe',
      GHOSTDNS_NOPE: '1',
      GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS: 'x',
    });
    expect(error.issues.map((i) => i.key).sort()).toEqual(['GHOSTDNS_NOPE', 'dns.listen', 'dns.tcp', 'dns.upstreamTimeoutMs']);
    expect(error.message.split('\n')).toHaveLength(5);
  });

  it('never prints a password from a bad value', () => {
    const error = loadError({ DATABASE_URL: 'postgres://u:hunter2@ db/x' });
    expect(error.message).not.toContain('hunter2');
  });

  it('accepts GHOSTDNS_CONFIG itself and ignores non-GhostDNS variables', () => {
    expect(() => loadConfig({ env: { PATH: '/bin', HOME: '/root', GHOSTDNS_CONFIG: '' } })).not.toThrow();
  });
});

describe('YAML file and precedence', () => {
  const file = yamlFile(
    'full.yaml',
    ['dns:', '  listen: 0.0.0.0:53', '  upstreams: [9.9.9.9:53]', '  tcp: false', 'kafka:', '  brokers:', '    - file:9092', 'log:', '  level: warn', 'redis:', ''].join('\n'),
  );

  it('reads the file', () => {
    const config = loadConfig({ env: { GHOSTDNS_CONFIG: file } });
    expect(config.dns.listen).toBe('0.0.0.0:53');
    expect(config.dns.upstreams).toEqual(['9.9.9.9:53']);
    expect(config.dns.tcp).toBe(false);
    expect(config.kafka.brokers).toEqual(['file:9092']);
    expect(config.log.level).toBe('warn');
  });

  it('env wins over the file, key by key', () => {
    const config = loadConfig({
      env: { GHOSTDNS_CONFIG: file, GHOSTDNS_DNS_LISTEN: '127.0.0.1:5300', KAFKA_BROKERS: 'env:9092', GHOSTDNS_DNS_TCP: 'true' },
    });
    expect(config.dns.listen).toBe('127.0.0.1:5300');
    expect(config.kafka.brokers).toEqual(['env:9092']);
    expect(config.dns.tcp).toBe(true);
    expect(config.dns.upstreams).toEqual(['9.9.9.9:53']);
  });

  it('argvPath wins over GHOSTDNS_CONFIG', () => {
    const other = yamlFile('other.yaml', 'log:\n  level: error\n');
    expect(loadConfig({ env: { GHOSTDNS_CONFIG: file }, argvPath: other }).log.level).toBe('error');
  });

  it('an empty file is fine', () => {
    expect(loadConfig({ env: { GHOSTDNS_CONFIG: yamlFile('empty.yaml', '') } }).log.level).toBe('info');
  });

  it('reports a value overridden by env under the env source', () => {
    const error = loadError({ GHOSTDNS_CONFIG: file, GHOSTDNS_DNS_LISTEN: 'bad' });
    expect(error.message).toContain('dns.listen (env GHOSTDNS_DNS_LISTEN)');
    expect(error.message).not.toContain('dns.listen (file');
  });
});

describe('describeConfig', () => {
  it('masks URL passwords and secret-named keys', () => {
    const config = loadConfig({
      env: { DATABASE_URL: 'postgres://ghost:s3cret@db:5432/ghost?sslpassword=x', REDIS_URL: 'redis://:r3dis@r:6379/0' },
    });
    const text = formatConfig(config, 'json');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('r3dis');
    expect(text).not.toContain('sslpassword=x');
    const described = describeConfig(config) as { database: { url: string }; schemaRegistry: { url: null } };
    expect(described.database.url).toBe('postgres://ghost:****@db:5432/ghost?sslpassword=****');
    expect(described.schemaRegistry.url).toBeNull();
  });

  it('masks keys named like secrets', () => {
    expect(maskUrl('http://h/x?token=abc&x=1')).toBe('http://h/x?token=****&x=1');
  });

  it('renders YAML', () => {
    expect(formatConfig(loadConfig({ env: {} }))).toContain('listen: 127.0.0.1:5353');
  });
});

describe('listConfigKeys', () => {
  it('lists every key with env name, type, default and description', () => {
    const keys = listConfigKeys();
    const byKey = new Map(keys.map((k) => [k.key, k]));
    expect(byKey.get('dns.upstreamTimeoutMs')).toMatchObject({ env: 'GHOSTDNS_DNS_UPSTREAM_TIMEOUT_MS', kind: 'integer', default: '2000' });
    expect(byKey.get('schemaRegistry.url')).toMatchObject({ env: 'GHOSTDNS_SCHEMA_REGISTRY_URL', alias: 'SCHEMA_REGISTRY_URL' });
    expect(byKey.get('kafka.brokers')).toMatchObject({ alias: 'KAFKA_BROKERS', kind: 'list', elementKind: 'host:port' });
    expect(byKey.get('data.dir')?.default).toBe('~/.ghostdns');
    for (const key of keys) expect(key.description, key.key).not.toBe('');
  });
});

describe('parseConfig and host:port helpers', () => {
  it('validates an object', () => {
    expect(parseConfig({ http: { listen: '127.0.0.1:0' } }).http.listen).toBe('127.0.0.1:0');
    expect(() => parseConfig({ http: { listen: 'x' } })).toThrow('http.listen (argument input)');
  });

  it('splits host:port', () => {
    expect(parseHostPort('[::1]:53')).toEqual({ host: '::1', port: 53 });
    expect(parseHostPort('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(formatHostPort('::1', 53)).toBe('[::1]:53');
  });
});
