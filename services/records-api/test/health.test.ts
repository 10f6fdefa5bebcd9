// Unit: service health checks (the seed's `metadata.health_check`): what is probed where,
// when a value is withheld and comes back, and what the probe loop hands on to be published.
import { describe, expect, it } from 'vitest';
import { healthCheckOf, probeUrl, type HealthCheckSpec } from '../src/health/health-check.js';
import type { HealthProbe } from '../src/health/http-probe.js';
import { FALL, RecordHealth } from '../src/health/record-health.js';
import { RecordHealthProber } from '../src/health/record-health-prober.js';
import type { RecordRow } from '../src/records/records.repository.js';
import type { Metadata, RecordType } from '../src/records/validation.js';

const row = (id: string, type: RecordType, values: string[], metadata: Metadata): RecordRow => ({
  id, name: `${id}.svc.test`, type, ttl: 60, values, metadata,
  createdAt: new Date(0), updatedAt: new Date(0), createdBy: 't', updatedBy: 't',
});

describe('healthCheckOf', () => {
  it.each<{ metadata: Metadata; expected: HealthCheckSpec | null | 'error' }>([
    { metadata: {}, expected: null },
    { metadata: { service: 'grafana' }, expected: null },
    { metadata: { health_check: '/health' }, expected: { kind: 'path', path: '/health', port: 80 } },
    { metadata: { health_check: '/api/health?full=1', port: 3000 }, expected: { kind: 'path', path: '/api/health?full=1', port: 3000 } },
    { metadata: { health_check: '/status.php', port: '8080' }, expected: { kind: 'path', path: '/status.php', port: 8080 } },
    { metadata: { health_check: 'https://status.example.test/ok' }, expected: { kind: 'url', url: 'https://status.example.test/ok' } },
    { metadata: { health_check: true }, expected: 'error' },
    { metadata: { health_check: 'health' }, expected: 'error' },
    { metadata: { health_check: 'ftp://x.test/' }, expected: 'error' },
    { metadata: { health_check: '/a b' }, expected: 'error' },
    { metadata: { health_check: '/health', port: 0 }, expected: 'error' },
    { metadata: { health_check: '/health', port: 'http' }, expected: 'error' },
  ])('$metadata', ({ metadata, expected }) => {
    const spec = healthCheckOf(metadata);
    if (expected === 'error') expect(typeof spec).toBe('string');
    else expect(spec).toEqual(expected);
  });
});

describe('probeUrl', () => {
  const path: HealthCheckSpec = { kind: 'path', path: '/health', port: 3000 };
  it.each<{ type: RecordType; value: string; spec?: HealthCheckSpec; url: string | null }>([
    { type: 'A', value: '100.64.0.10', url: 'http://100.64.0.10:3000/health' },
    { type: 'AAAA', value: 'fd7a:115c:a1e0::a', url: 'http://[fd7a:115c:a1e0::a]:3000/health' },
    { type: 'CNAME', value: 'grafana.internal.test', url: 'http://grafana.internal.test:3000/health' },
    { type: 'SRV', value: '10 5 8443 api.internal.test', url: 'http://api.internal.test:8443/health' },
    { type: 'TXT', value: 'v=1', url: null },
    { type: 'MX', value: '10 mail.test', url: null },
    { type: 'A', value: '192.0.2.1', spec: { kind: 'url', url: 'http://status.test/ok' }, url: 'http://status.test/ok' },
  ])('$type $value', ({ type, value, spec, url }) => {
    expect(probeUrl(spec ?? path, type, value)).toBe(url);
  });
});

describe('RecordHealth', () => {
  const record = row('web', 'A', ['10.0.0.1', '10.0.0.2'], { health_check: '/health' });
  const [first, second] = new RecordHealth().targets([record]);

  it('targets only the values of records with a usable check', () => {
    const health = new RecordHealth();
    const targets = health.targets([record, row('txt', 'TXT', ['x'], { health_check: '/h' }), row('plain', 'A', ['10.0.0.9'], {}), row('bad', 'A', ['10.0.0.8'], { health_check: 'nope' })]);
    expect(targets.map((t) => t.url)).toEqual(['http://10.0.0.1:80/health', 'http://10.0.0.2:80/health']);
  });

  it(`withholds a value after ${FALL} failed probes in a row and answers it again on the first success`, () => {
    const health = new RecordHealth();
    if (first === undefined || second === undefined) throw new Error('no targets');
    expect(health.answerable(record)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(health.health(record.id, '10.0.0.1')).toBe('unchecked');
    const flips: boolean[] = [];
    for (let i = 0; i < FALL; i++) flips.push(health.observe(first, false));
    expect(flips).toEqual([...Array<boolean>(FALL - 1).fill(false), true]);
    expect(health.answerable(record)).toEqual(['10.0.0.2']);
    expect(health.observe(first, false)).toBe(false);
    expect(health.observe(first, true)).toBe(true);
    expect(health.health(record.id, '10.0.0.1')).toBe('healthy');
    // A single failure after a success does not withhold.
    expect(health.observe(first, false)).toBe(false);
    expect(health.observe(first, true)).toBe(false);
    expect(health.answerable(record)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('forgets values no longer probed, so a value added again starts healthy', () => {
    const health = new RecordHealth();
    if (first === undefined || second === undefined) throw new Error('no targets');
    for (let i = 0; i < FALL; i++) health.observe(first, false);
    health.retain([second]);
    expect(health.health(record.id, '10.0.0.1')).toBe('unchecked');
  });
});

describe('RecordHealthProber', () => {
  const quiet = { warn: () => undefined, info: () => undefined };
  const setup = (rows: RecordRow[], healthyUrls: Set<string>, republish: (names: readonly string[]) => Promise<void>) => {
    const health = new RecordHealth();
    const probe: HealthProbe = { check: async (url) => healthyUrls.has(url) };
    const counts = { ok: 0, failed: 0, unhealthy: -1 };
    const prober = new RecordHealthProber({
      store: { all: async () => rows }, health, probe, republish, intervalMs: 1000, timeoutMs: 100, logger: quiet,
      instruments: { probe: (ok) => (ok ? counts.ok++ : counts.failed++), unhealthy: (n) => (counts.unhealthy = n) },
    });
    return { health, prober, counts };
  };

  it('republishes exactly the names whose answerable values changed, once per flip', async () => {
    const web = row('web', 'A', ['10.0.0.1', '10.0.0.2'], { health_check: '/health' });
    const api = row('api', 'A', ['10.0.1.1'], { health_check: '/health' });
    const up = new Set(['http://10.0.0.1:80/health', 'http://10.0.1.1:80/health']);
    const published: string[][] = [];
    const { health, prober, counts } = setup([web, api], up, async (names) => void published.push([...names]));
    for (let i = 0; i < FALL + 1; i++) await prober.runOnce();
    expect(published).toEqual([['web.svc.test']]);
    expect(health.answerable(web)).toEqual(['10.0.0.1']);
    expect(counts).toEqual({ ok: 2 * (FALL + 1), failed: FALL + 1, unhealthy: 1 });
    up.add('http://10.0.0.2:80/health');
    await prober.runOnce();
    expect(published).toEqual([['web.svc.test'], ['web.svc.test']]);
    expect(health.answerable(web)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('retries a publish that failed on the next round', async () => {
    const web = row('web', 'A', ['10.0.0.1'], { health_check: '/health' });
    let fail = true;
    const published: string[][] = [];
    const { prober } = setup([web], new Set(), async (names) => {
      if (fail) throw new Error('broker down');
      published.push([...names]);
    });
    for (let i = 0; i < FALL; i++) await prober.runOnce();
    expect(published).toEqual([]);
    fail = false;
    await prober.runOnce();
    expect(published).toEqual([['web.svc.test']]);
  });

  it('skips a round when the records cannot be read', async () => {
    const health = new RecordHealth();
    const prober = new RecordHealthProber({
      store: { all: async () => Promise.reject(new Error('db down')) }, health, probe: { check: async () => true },
      republish: async () => undefined, intervalMs: 1000, timeoutMs: 100, logger: quiet, instruments: { probe: () => undefined, unhealthy: () => undefined },
    });
    await expect(prober.runOnce()).resolves.toBeUndefined();
  });
});
