import { Writable } from 'node:stream';
import { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { counter, createLogger, createMetricsRegistry, createNestLogger, gauge, histogram } from '../src/index.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with name and level, honouring the level', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', name: 'test-svc', destination: out.stream });
    logger.debug('hidden');
    logger.info({ port: 53 }, 'listening');
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: 'test-svc', msg: 'listening', port: 53, level: 30 });
  });

  it('redacts secret fields', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', name: 't', destination: out.stream });
    logger.info({ db: { password: 'hunter2' }, token: 'abc' }, 'x');
    const line = JSON.stringify(out.lines()[0]);
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('abc');
  });

  it('adapts Nest logs', () => {
    const out = capture();
    const nest = createNestLogger(createLogger({ level: 'debug', name: 't', destination: out.stream }));
    nest.log('Mapped route', 'RoutesResolver');
    nest.error('boom', 'stack here', 'ExceptionHandler');
    const [log, error] = out.lines();
    expect(log).toMatchObject({ level: 20, msg: 'Mapped route', context: 'RoutesResolver' });
    expect(error).toMatchObject({ level: 50, msg: 'boom', stack: 'stack here' });
  });
});

describe('createMetricsRegistry', () => {
  it('includes process metrics and custom ones', async () => {
    const registry = createMetricsRegistry();
    const counter = new Counter({ name: 'ghostdns_test_total', help: 'test', registers: [registry] });
    counter.inc();
    const text = await registry.metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('ghostdns_test_total 1');
  });

  it('keeps registries independent', async () => {
    const a = createMetricsRegistry({ processMetrics: false });
    const b = createMetricsRegistry({ processMetrics: false });
    new Counter({ name: 'only_in_a', help: 'a', registers: [a] });
    expect(await b.metrics()).not.toContain('only_in_a');
  });
});

describe('counter, gauge, histogram (get-or-create)', () => {
  it('registers on the given registry and reuses the metric a second caller asks for', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const first = counter(registry, { name: 'ghostdns_test_hits_total', help: 'h', labelNames: ['kind'] as const });
    const second = counter(registry, { name: 'ghostdns_test_hits_total', help: 'h', labelNames: ['kind'] as const });
    expect(second).toBe(first);
    second.inc({ kind: 'a' });
    expect(gauge(registry, { name: 'ghostdns_test_depth', help: 'd' })).toBe(gauge(registry, { name: 'ghostdns_test_depth', help: 'd' }));
    const buckets = [1, 2] as const;
    const h = histogram(registry, { name: 'ghostdns_test_seconds', help: 's', buckets });
    expect(histogram(registry, { name: 'ghostdns_test_seconds', help: 's', buckets })).toBe(h);
    h.observe(1.5);
    const text = await registry.metrics();
    expect(text).toContain('ghostdns_test_hits_total{kind="a"} 1');
    expect(text).toContain('ghostdns_test_seconds_bucket{le="2"} 1');
    expect(text).not.toContain('ghostdns_test_seconds_bucket{le="0.005"}');
  });

  it('refuses a name taken by a metric of another type', () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    counter(registry, { name: 'ghostdns_test_taken', help: 't' });
    expect(() => gauge(registry, { name: 'ghostdns_test_taken', help: 't' })).toThrow();
    expect(() => histogram(registry, { name: 'ghostdns_test_taken', help: 't' })).toThrow();
  });
});
