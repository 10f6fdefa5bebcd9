import { invalidParameter } from '../errors.js';

/** Half-open time window [from, to) over queried_at. */
export interface StatsWindow {
  from: Date;
  to: Date;
}

/** Window used when the request names none: the last 24 hours. */
export const DEFAULT_WINDOW_MINUTES = 24 * 60;
/**
 * Longest window served from the raw dns_queries table. Once continuous
 * aggregates exist, long windows must be answered from them instead.
 */
export const MAX_WINDOW_MINUTES = 31 * 24 * 60;

const ALLOWED = new Set(['minutes', 'from', 'to']);
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/;

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidParameter(name, 'must be given once');
  if (value.trim() === '') throw invalidParameter(name, 'must not be empty');
  return value.trim();
}

/**
 * Strict ISO 8601: a date, or a date-time with seconds optional and an
 * explicit zone (Z or ±hh:mm). A '+' that arrived as a space (form
 * encoding) is read as '+'.
 */
export function parseIsoTimestamp(name: string, raw: string): Date {
  const text = raw.replace(/ (\d{2}:?\d{2})$/, '+$1');
  const m = ISO_RE.exec(text);
  if (m === null) {
    throw invalidParameter(name, 'must be an ISO 8601 timestamp with a zone, e.g. 2024-05-01T12:00:00Z');
  }
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m;
  const date = new Date(text);
  const civil = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  const valid =
    !Number.isNaN(date.getTime()) &&
    civil.getUTCFullYear() === Number(y) &&
    civil.getUTCMonth() === Number(mo) - 1 &&
    civil.getUTCDate() === Number(d) &&
    Number(h) <= 23 && Number(mi) <= 59 && Number(s) <= 59;
  if (!valid) throw invalidParameter(name, `is not a valid date-time: ${JSON.stringify(raw.slice(0, 40))}`);
  return date;
}

/**
 * Reads the window of GET /api/v1/stats: `?minutes=N` (the last N minutes),
 * `?from=&to=` (to defaults to now), or nothing (the last 24 hours). Throws
 * an ApiError naming the offending parameter.
 */
export function parseStatsWindow(query: Record<string, unknown>, now: Date): StatsWindow {
  for (const name of Object.keys(query)) {
    if (!ALLOWED.has(name)) throw invalidParameter(name, 'is not supported (use minutes, or from and to)');
  }
  const minutesText = single(query, 'minutes');
  const fromText = single(query, 'from');
  const toText = single(query, 'to');

  if (minutesText !== undefined) {
    if (fromText !== undefined || toText !== undefined) {
      throw invalidParameter('minutes', 'cannot be combined with from/to');
    }
    if (!/^\d{1,7}$/.test(minutesText)) throw invalidParameter('minutes', 'must be a whole number of minutes');
    const minutes = Number(minutesText);
    if (minutes < 1 || minutes > MAX_WINDOW_MINUTES) {
      throw invalidParameter('minutes', `must be between 1 and ${MAX_WINDOW_MINUTES}`);
    }
    return { from: new Date(now.getTime() - minutes * 60_000), to: now };
  }

  if (fromText === undefined) {
    if (toText !== undefined) throw invalidParameter('from', 'is required when to is given');
    return { from: new Date(now.getTime() - DEFAULT_WINDOW_MINUTES * 60_000), to: now };
  }

  const from = parseIsoTimestamp('from', fromText);
  const to = toText === undefined ? now : parseIsoTimestamp('to', toText);
  if (from.getTime() >= to.getTime()) throw invalidParameter('from', 'must be earlier than to');
  if (to.getTime() - from.getTime() > MAX_WINDOW_MINUTES * 60_000) {
    throw invalidParameter('from', `must be at most ${MAX_WINDOW_MINUTES} minutes before to`);
  }
  return { from, to };
}
