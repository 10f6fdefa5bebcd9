// What every event -> row mapper of the worker shares: the rejection control
// flow, the batch split, and the field checks whose failure is a rejection.
import { isIP } from 'node:net';
import { presenceSourceId, type PresenceSource } from '@ghostdns/contracts';

export type MapResult<Row, Reason extends string> =
  | { ok: true; row: Row }
  | { ok: false; reason: Reason; detail: string };

export interface RejectedEvent<Event, Reason extends string> {
  event: Event;
  reason: Reason;
  /** Human-readable detail for logs (field and offending value, truncated). */
  detail: string;
}

export interface MappedBatch<Event, Row, Reason extends string> {
  rows: Row[];
  rejected: RejectedEvent<Event, Reason>[];
}

/** Internal control flow of the mappers; EventMapper.map() turns it into a MapResult. */
class Rejection extends Error {
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

/**
 * A mapper never throws on a bad event: toRow() rejects through `checks.reject`
 * and the event comes back as a rejection with a stable reason, so one bad event
 * cannot poison a batch.
 */
export abstract class EventMapper<Event, Row, Reason extends string> {
  map(event: Event): MapResult<Row, Reason> {
    try {
      return { ok: true, row: this.toRow(event) };
    } catch (error) {
      // Only the subclass's checks, typed Checks<Reason>, throw a Rejection: its reason is a Reason.
      if (error instanceof Rejection) return { ok: false, reason: error.reason as Reason, detail: error.detail };
      throw error;
    }
  }

  mapBatch(events: readonly Event[]): MappedBatch<Event, Row, Reason> {
    const rows: Row[] = [];
    const rejected: RejectedEvent<Event, Reason>[] = [];
    for (const event of events) {
      const result = this.map(event);
      if (result.ok) rows.push(result.row);
      else rejected.push({ event, reason: result.reason, detail: result.detail });
    }
    return { rows, rejected };
  }

  protected abstract toRow(event: Event): Row;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Postgres text cannot hold NUL; other C0 controls are legal but never part of a sane label.
// eslint-disable-next-line no-control-regex
export const NUL_RE = /\u0000/;

/**
 * presenceSourceId() of each source, computed once: the device columns of both
 * tables hold it, and a lookup allocates no string per event.
 */
export const PRESENCE_SOURCE_IDS: Readonly<Record<PresenceSource, string>> = {
  WIREGUARD: presenceSourceId('WIREGUARD'),
  TAILSCALE: presenceSourceId('TAILSCALE'),
};

/** Largest epoch-microsecond value we accept: still a safe integer and a valid Date. */
const MAX_EPOCH_US = Number.MAX_SAFE_INTEGER;

function preview(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (Buffer.isBuffer(value)) text = `<${value.length} bytes>`;
  else text = `<${typeof value}>`;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

export function hasKey<T extends string>(set: Readonly<Record<T, unknown>>, value: unknown): value is T {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(set, value);
}

/**
 * Epoch microseconds -> ISO 8601 with all six fractional digits, so the value
 * reaches timestamptz exactly (a JS Date would truncate to milliseconds).
 */
export function epochMicrosToIso(us: number): string {
  const seconds = Math.floor(us / 1_000_000);
  const micros = us - seconds * 1_000_000;
  const whole = new Date(seconds * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${whole.slice(0, 19)}.${String(micros).padStart(6, '0')}Z`;
}

/**
 * Field checks that reject with a reason of the mapper's own set. A mapper takes
 * them as `const reject: Checks<ItsReason>['reject'] = checks.reject;`: the
 * explicit type keeps its reasons checked and lets TypeScript see that reject
 * never returns.
 */
export interface Checks<Reason extends string> {
  reject: (reason: Reason, field: string, value: unknown) => never;
  /** A non-empty string without NUL. */
  text: (value: unknown, field: string, reason: Reason) => string;
  /** A string without NUL, possibly empty. */
  textOrEmpty: (value: unknown, field: string, reason: Reason) => string;
  /** Epoch microseconds as an exact ISO 8601 timestamp. */
  timestamp: (value: unknown, field: string, reason: Reason) => string;
  /** An IPv4 or IPv6 address inet can hold. */
  ip: (value: unknown, field: string, reason: Reason) => string;
}

export const checks: Checks<string> = {
  reject: (reason, field, value) => {
    throw new Rejection(reason, `${field}=${preview(value)}`);
  },
  text: (value, field, reason) => {
    if (typeof value !== 'string' || value.length === 0 || NUL_RE.test(value)) checks.reject(reason, field, value);
    return value;
  },
  textOrEmpty: (value, field, reason) => {
    if (typeof value !== 'string' || NUL_RE.test(value)) checks.reject(reason, field, value);
    return value;
  },
  timestamp: (value, field, reason) => {
    if (!isIntIn(value, 0, MAX_EPOCH_US)) checks.reject(reason, field, value);
    return epochMicrosToIso(value);
  },
  ip: (value, field, reason) => {
    // inet has no zone ids (fe80::1%eth0) and net.isIP would accept them.
    if (typeof value !== 'string' || isIP(value) === 0 || value.includes('%')) checks.reject(reason, field, value);
    return value;
  },
};

/** The members of a reason union as a list (for metric labels), proven complete by the record. */
export function reasonList<Reason extends string>(members: Record<Reason, true>): readonly Reason[] {
  return Object.keys(members) as Reason[];
}
