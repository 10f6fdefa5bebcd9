import type { QuerylogSkipReason } from './parser.js';

/** Which of the two files a line came from (metric label `file`). */
export type QuerylogFileRole = 'queries' | 'query_errors';

/** How a rotation was detected (metric label `kind`). */
export type QuerylogRotationKind = 'rename' | 'truncate';

/**
 * Counters of the BIND query-log tap. The service binds them to prom-client as
 * `ghostdns_tap_querylog_lines_total{file}`, `ghostdns_tap_querylog_events_total`,
 * `ghostdns_tap_querylog_skipped_total{reason}`, `ghostdns_tap_querylog_rotations_total{file,kind}`,
 * `ghostdns_tap_querylog_errors_unmatched_total`.
 */
export interface QuerylogTapMetrics {
  lines(file: QuerylogFileRole, count: number): void;
  events(count: number): void;
  skipped(reason: QuerylogSkipReason, count: number): void;
  rotations(file: QuerylogFileRole, kind: QuerylogRotationKind): void;
  /** query-errors lines whose query was never seen within the match window. */
  errorsUnmatched(count: number): void;
}

export const noopQuerylogTapMetrics: QuerylogTapMetrics = {
  lines: () => undefined,
  events: () => undefined,
  skipped: () => undefined,
  rotations: () => undefined,
  errorsUnmatched: () => undefined,
};
