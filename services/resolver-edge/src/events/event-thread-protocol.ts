// Messages between the answer thread (event-thread.ts) and the event thread
// (event-thread-worker.ts). Both sides import only this file of each other.
import type { GhostConfig } from '@ghostdns/config';
import type { DeviceIdentityEntry } from '../device-identity.js';

export interface EventThreadData {
  /** The TypeScript entry the bootstrap imports (file: URL). */
  entry: string;
  config: GhostConfig;
  spoolDir: string | null;
  /** Appended to kafka.clientId for the thread's producer. */
  clientIdSuffix: string;
}

/** Answer thread → event thread. */
export type ToEventThread =
  /** `buffer` is transferred: the answer thread never touches it again. */
  | { type: 'records'; buffer: ArrayBuffer; length: number; count: number }
  /**
   * Device identities for the records posted after it: first every address a
   * (re)started thread must know, then the addresses each presence change touched.
   */
  | { type: 'devices'; entries: DeviceIdentityEntry[] }
  | { type: 'close'; timeoutMs: number };

/** What the event thread's sink reported since the last message (counters) and now (gauges). */
export interface SinkMetricsReport {
  eventsDropped: number;
  spoolWritten: number;
  spoolReplayed: number;
  spoolDropped: number;
  spoolTruncated: number;
  queueDepth: number;
  spoolDepthBytes: number;
}

/** Event thread → answer thread. */
export type FromEventThread =
  | { type: 'ready' }
  | { type: 'ack'; count: number; bytes: number }
  | { type: 'metrics'; report: SinkMetricsReport }
  | { type: 'closed' };
