// Operations, unit level: SIGHUP reloads (coalesced, failures keep the old
// configuration), the service wiring of it, and the Prometheus names.
import { EventEmitter } from 'node:events';
import { createInProcessBus, silentLogger as silentBusLogger } from '@ghostdns/bus';
import { parseConfig } from '@ghostdns/config';
import { createMetricsRegistry } from '@ghostdns/observability';
import { createMetricsSources, type ServiceRuntime } from '@ghostdns/runtime';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EdgeLogger } from '../src/metrics.js';
import { createPrometheusResolverMetrics } from '../src/prometheus-metrics.js';
import { ResolverEdge } from '../src/resolver-edge.js';
import { reloadOnSighup, ResolverEdgeService, type SignalSource } from '../src/resolver-edge.service.js';

class RecordingLogger implements EdgeLogger {
  readonly lines: { level: string; msg: string; obj: object }[] = [];
  debug(obj: object, msg = ''): void {
    this.lines.push({ level: 'debug', msg, obj });
  }
  info(obj: object, msg = ''): void {
    this.lines.push({ level: 'info', msg, obj });
  }
  warn(obj: object, msg = ''): void {
    this.lines.push({ level: 'warn', msg, obj });
  }
  error(obj: object, msg = ''): void {
    this.lines.push({ level: 'error', msg, obj });
  }
  child(): RecordingLogger {
    return this;
  }
}

function signals(): SignalSource & { emit(s: 'SIGHUP'): boolean; listenerCount(s: string): number } {
  return new EventEmitter();
}

describe('reloadOnSighup', () => {
  it('reloads on SIGHUP and logs it', async () => {
    const src = signals();
    const logger = new RecordingLogger();
    const reload = vi.fn(async () => undefined);
    const hup = reloadOnSighup({ reload }, logger, src);
    src.emit('SIGHUP');
    await hup.settled();
    expect(reload).toHaveBeenCalledTimes(1);
    expect(logger.lines.map((l) => l.msg)).toEqual(['SIGHUP: reloading configuration', 'SIGHUP: reload complete']);
    hup.uninstall();
    expect(src.listenerCount('SIGHUP')).toBe(0);
    src.emit('SIGHUP');
    await hup.settled();
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('keeps the previous configuration when a reload fails, and reloads again on the next SIGHUP', async () => {
    const src = signals();
    const logger = new RecordingLogger();
    const reload = vi.fn<() => Promise<void>>().mockRejectedValueOnce(new Error('bad zone file')).mockResolvedValue(undefined);
    const hup = reloadOnSighup({ reload }, logger, src);
    src.emit('SIGHUP');
    await hup.settled();
    const failed = logger.lines.find((l) => l.level === 'error');
    expect(failed?.msg).toBe('SIGHUP: reload failed; keeping the previous configuration');
    expect(failed?.obj).toMatchObject({ code: 'GHOSTDNS_RESOLVER_RELOAD_FAILED' });
    src.emit('SIGHUP');
    await hup.settled();
    expect(reload).toHaveBeenCalledTimes(2);
    expect(logger.lines.at(-1)?.msg).toBe('SIGHUP: reload complete');
    hup.uninstall();
  });

  it('coalesces signals that arrive during a reload into one more reload, never two at once', async () => {
    const src = signals();
    let running = 0;
    let maxRunning = 0;
    const releases: (() => void)[] = [];
    const reload = vi.fn(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
    });
    const hup = reloadOnSighup({ reload }, new RecordingLogger(), src);
    src.emit('SIGHUP');
    src.emit('SIGHUP');
    src.emit('SIGHUP');
    src.emit('SIGHUP');
    await vi.waitFor(() => expect(releases).toHaveLength(1));
    releases[0]?.();
    await vi.waitFor(() => expect(releases).toHaveLength(2));
    releases[1]?.();
    await hup.settled();
    expect(reload).toHaveBeenCalledTimes(2);
    expect(maxRunning).toBe(1);
    hup.uninstall();
  });
});

describe('ResolverEdgeService', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function runtime(): ServiceRuntime {
    return {
      mode: 'distributed',
      config: parseConfig({ node: { id: 'ops', pop: 'test' }, dns: { listen: '127.0.0.1:0', upstreams: [], tcp: false }, data: { dir: '/nonexistent/ghostdns-ops-test' } }),
      logger: new RecordingLogger(),
      metrics: createMetricsRegistry({ processMetrics: false }),
      metricsSources: createMetricsSources(),
      bus: createInProcessBus({ logger: silentBusLogger }),
      readiness: { register: () => undefined },
      requireDatabase: () => {
        throw new Error('no database');
      },
    } as unknown as ServiceRuntime;
  }

  it('reloads the edge on SIGHUP between bootstrap and shutdown (edge stubbed)', async () => {
    const start = vi.spyOn(ResolverEdge.prototype, 'start').mockResolvedValue({ udp: { host: '127.0.0.1', port: 1, family: 'IPv4' }, tcp: null });
    const stop = vi.spyOn(ResolverEdge.prototype, 'stop').mockResolvedValue(undefined);
    const reload = vi.spyOn(ResolverEdge.prototype, 'reload').mockResolvedValue(undefined);
    const service = new ResolverEdgeService(runtime());
    const before = process.listenerCount('SIGHUP');
    await service.onApplicationBootstrap();
    expect(start).toHaveBeenCalledTimes(1);
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    // process.emit runs the listeners without a real signal (a real one would hit every listener of the test process).
    process.emit('SIGHUP', 'SIGHUP');
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(1));
    await service.beforeApplicationShutdown();
    expect(stop).toHaveBeenCalledWith({ drainTimeoutMs: 5_000, flushTimeoutMs: 5_000 });
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });
});

describe('Prometheus names', () => {
  it('are CoreDNS-style for requests, responses, duration and cache; ghostdns_* for the spool', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const m = createPrometheusResolverMetrics(registry);
    m.request('dns://127.0.0.1:53', 'UDP', 'AAAA', 'IPv6');
    m.response('dns://127.0.0.1:53', 'NXDOMAIN', 0.001, 'AAAA');
    m.cacheHit('dns://127.0.0.1:53', 'success');
    m.cacheHit('dns://127.0.0.1:53', 'denial');
    m.cacheMiss('dns://127.0.0.1:53');
    m.cacheServedStale('dns://127.0.0.1:53');
    m.cachePrefetch('dns://127.0.0.1:53');
    m.spoolDepthBytes(4096);
    m.spoolWritten(3);
    m.spoolReplayed(2);
    m.spoolDropped(1);
    m.spoolTruncated(1);
    m.spoolDropped(-5); // never throws, never decrements
    const text = await registry.metrics();
    const server = 'server="dns://127.0.0.1:53"';
    expect(text).toContain(`coredns_dns_requests_total{${server},zone=".",proto="udp",family="2",type="AAAA"} 1`);
    expect(text).toContain(`coredns_dns_responses_total{${server},zone=".",rcode="NXDOMAIN"} 1`);
    expect(text).toContain(`coredns_dns_request_duration_seconds_count{${server},zone=".",type="AAAA"} 1`);
    expect(text).toContain(`coredns_cache_hits_total{${server},type="success"} 1`);
    expect(text).toContain(`coredns_cache_hits_total{${server},type="denial"} 1`);
    expect(text).toContain(`coredns_cache_misses_total{${server}} 1`);
    expect(text).toContain(`coredns_cache_served_stale_total{${server}} 1`);
    expect(text).toContain(`coredns_cache_prefetch_total{${server}} 1`);
    expect(text).toMatch(/^ghostdns_spool_depth_bytes 4096$/m);
    expect(text).toMatch(/^ghostdns_spool_written_total 3$/m);
    expect(text).toMatch(/^ghostdns_spool_replayed_total 2$/m);
    expect(text).toMatch(/^ghostdns_spool_dropped_total 1$/m);
    expect(text).toMatch(/^ghostdns_spool_truncated_total 1$/m);
    // Every series resolver-edge registers follows one of the two naming schemes.
    const names = [...text.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1] ?? '');
    for (const name of names) expect(name).toMatch(/^(coredns_(dns|cache|forward)_|ghostdns_)[a-z_]+$/);
  });
});
