import { isIP } from 'node:net';
import { invalidParameter } from '../errors.js';

/** Reads the query string of one endpoint: unknown or repeated parameters are refused, naming them. */
export class QueryParams {
  constructor(
    private readonly query: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    const set = new Set(allowed);
    for (const name of Object.keys(query)) {
      if (!set.has(name)) throw invalidParameter(name, `is not supported (use ${allowed.join(', ')})`);
    }
  }

  has(name: string): boolean {
    return this.query[name] !== undefined;
  }

  string(name: string): string | undefined {
    const value = this.query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw invalidParameter(name, 'must be given once');
    const trimmed = value.trim();
    if (trimmed === '') throw invalidParameter(name, 'must not be empty');
    if (trimmed.length > 512) throw invalidParameter(name, 'is too long');
    return trimmed;
  }

  int(name: string, dflt: number, min: number, max: number): number {
    const text = this.string(name);
    if (text === undefined) return dflt;
    if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
      throw invalidParameter(name, `must be an integer ${min}-${max}`);
    }
    return Number(text);
  }

  choice<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(text)) throw invalidParameter(name, `must be one of ${allowed.join(', ')}`);
    return text as T;
  }

  ip(name: string): string | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (isIP(text) === 0) throw invalidParameter(name, 'must be an IPv4 or IPv6 address');
    return text;
  }

  /** A query name (lower-cased, trailing dot dropped); one label allowed. */
  domain(name: string): string | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const domain = text.toLowerCase().replace(/\.$/, '');
    if (!DOMAIN.test(domain)) throw invalidParameter(name, 'must be a DNS name');
    return domain;
  }
}

const DOMAIN = /^(?=.{1,253}$)[a-z0-9_*](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** The shortest and longest `?window=` of the rollup endpoints. */
export const MIN_WINDOW_MS = HOUR_MS;
export const MAX_WINDOW_MS = 31 * DAY_MS;
export const DEFAULT_WINDOW = '24h';

/** `?window=` as `<n>m|h|d` (e.g. 90m, 24h, 7d), 1 hour .. 31 days. */
export function parseDuration(name: string, text: string): number {
  const m = /^(\d{1,5})([mhd])$/.exec(text);
  if (m === null) throw invalidParameter(name, 'must be a duration such as 60m, 24h or 7d');
  const unit = m[2] === 'm' ? MINUTE_MS : m[2] === 'h' ? HOUR_MS : DAY_MS;
  const ms = Number(m[1]) * unit;
  if (ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS) throw invalidParameter(name, 'must be between 1h and 31d');
  return ms;
}

/** Hour buckets [from, to): from floored to the UTC hour, to = now (the current hour is partial). */
export interface HourWindow {
  from: Date;
  to: Date;
}

export function floorHour(date: Date): Date {
  return new Date(Math.floor(date.getTime() / HOUR_MS) * HOUR_MS);
}

/** The rollups' window for `?window=`: every hour bucket that overlaps [now - window, now). */
export function hourWindow(durationMs: number, now: Date): HourWindow {
  return { from: floorHour(new Date(now.getTime() - durationMs)), to: now };
}
