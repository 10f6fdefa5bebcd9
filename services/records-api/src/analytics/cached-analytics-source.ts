import type { ResultCache } from '../cache/result-cache.js';
import type { AnalyticsSource } from './analytics.repository.js';
import type { HourWindow } from './params.js';

const HOUR_MS = 3_600_000;

/**
 * The rollup reads select hour buckets with `bucket >= from AND bucket < to`: every `to` within
 * one hour (H, H + 1h] selects the same buckets, so it keys by that hour's end, and a rolling
 * window ("the last 24 hours", which ends now) keeps one key for the hour.
 */
const windowKey = (w: HourWindow): string => `${w.from.toISOString()}/${Math.ceil(w.to.getTime() / HOUR_MS) * HOUR_MS}`;

/**
 * The rollup reads through a ResultCache, keyed per hour (windowKey), so a dashboard polling
 * "the last 24 hours" asks for one key per hour. `nodes` reads the small per-minute rollup for a
 * window that moves every call: it stays live.
 */
export class CachedAnalyticsSource implements AnalyticsSource {
  constructor(
    private readonly source: AnalyticsSource,
    private readonly cache: ResultCache,
  ) {}

  auditSummary(window: HourWindow): ReturnType<AnalyticsSource['auditSummary']> {
    return this.cache.get(`audit|${windowKey(window)}`, () => this.source.auditSummary(window));
  }

  externalDomains(window: HourWindow, limit: number): ReturnType<AnalyticsSource['externalDomains']> {
    return this.cache.get(`external|${windowKey(window)}|${limit}`, () => this.source.externalDomains(window, limit));
  }

  topBlocked(window: HourWindow, limit: number): ReturnType<AnalyticsSource['topBlocked']> {
    return this.cache.get(`blocked|${windowKey(window)}|${limit}`, () => this.source.topBlocked(window, limit));
  }

  topDomains(window: HourWindow, limit: number): ReturnType<AnalyticsSource['topDomains']> {
    return this.cache.get(`domains|${windowKey(window)}|${limit}`, () => this.source.topDomains(window, limit));
  }

  topClients(window: HourWindow, limit: number): ReturnType<AnalyticsSource['topClients']> {
    return this.cache.get(`clients|${windowKey(window)}|${limit}`, () => this.source.topClients(window, limit));
  }

  deviceActivity(window: HourWindow, devices: number, domainsPerDevice: number): ReturnType<AnalyticsSource['deviceActivity']> {
    return this.cache.get(`devices|${windowKey(window)}|${devices}|${domainsPerDevice}`, () => this.source.deviceActivity(window, devices, domainsPerDevice));
  }

  nodes(activeSince: Date, limit: number): ReturnType<AnalyticsSource['nodes']> {
    return this.source.nodes(activeSince, limit);
  }
}
