// What this records-api process knows of the health of each probed value, and the
// values it lets the resolvers answer. Values start healthy (a new instance answers
// at once, like a record without a check), go unhealthy after FALL consecutive
// failed probes and come back on the first success.
import type { RecordRow } from '../records/records.repository.js';
import { healthCheckOf, probeUrl } from './health-check.js';

/** Consecutive failed probes that withhold a value: one lost packet never does. */
export const FALL = 2;

export type ValueHealth = 'healthy' | 'unhealthy' | 'unchecked';

interface ValueState {
  failures: number;
  healthy: boolean;
}

/** One value to probe: the URL that decides it. */
export interface ProbeTarget {
  readonly recordId: string;
  readonly name: string;
  readonly value: string;
  readonly url: string;
}

const key = (recordId: string, value: string): string => `${recordId}\u0000${value}`;

export class RecordHealth {
  private readonly states = new Map<string, ValueState>();

  /** The values of `rows` a probe decides (records without a check, and unprobed types, have none). */
  targets(rows: readonly RecordRow[]): ProbeTarget[] {
    const targets: ProbeTarget[] = [];
    for (const row of rows) {
      const spec = healthCheckOf(row.metadata);
      if (spec === null || typeof spec === 'string') continue;
      for (const value of row.values) {
        const url = probeUrl(spec, row.type, value);
        if (url !== null) targets.push({ recordId: row.id, name: row.name, value, url });
      }
    }
    return targets;
  }

  /** Records one probe; true when the value's health flipped. */
  observe(target: ProbeTarget, ok: boolean): boolean {
    const k = key(target.recordId, target.value);
    const state = this.states.get(k) ?? { failures: 0, healthy: true };
    this.states.set(k, state);
    const wasHealthy = state.healthy;
    state.failures = ok ? 0 : state.failures + 1;
    state.healthy = ok || (wasHealthy && state.failures < FALL);
    return state.healthy !== wasHealthy;
  }

  /** Forgets values no longer probed (deleted records, removed values), so a value added again starts healthy. */
  retain(targets: readonly ProbeTarget[]): void {
    const live = new Set(targets.map((t) => key(t.recordId, t.value)));
    for (const k of this.states.keys()) if (!live.has(k)) this.states.delete(k);
  }

  health(recordId: string, value: string): ValueHealth {
    const state = this.states.get(key(recordId, value));
    if (state === undefined) return 'unchecked';
    return state.healthy ? 'healthy' : 'unhealthy';
  }

  /** The values of `row` the resolvers may answer: all but the unhealthy ones. */
  answerable(row: RecordRow): string[] {
    return row.values.filter((value) => this.health(row.id, value) !== 'unhealthy');
  }
}
