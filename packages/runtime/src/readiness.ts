import type { ReadinessProbe, ReadinessRegistry } from './types.js';

/** Why a probe is not ok: it returned false, threw/rejected, or did not answer in time. */
export type ProbeFailure = 'false' | 'error' | 'timeout';

export interface ProbeResult {
  ok: boolean;
  failure?: ProbeFailure;
}

export interface ReadinessReport {
  ready: boolean;
  shuttingDown: boolean;
  probes: Record<string, ProbeResult>;
}

/** The registry the runtime builds: services register probes; /readyz checks them. */
export interface ReadinessReporter extends ReadinessRegistry {
  /** Runs every probe (in parallel, each with the timeout). */
  check(): Promise<ReadinessReport>;
  /** From now on /readyz answers 503 (called first thing on shutdown). */
  markShuttingDown(): void;
  names(): string[];
}

export interface ReadinessRegistryOptions {
  /** A probe that has not answered after this long counts as not ready. Default 2000 ms. */
  probeTimeoutMs?: number;
  /** Told about probes that throw (the HTTP answer only says `error`). */
  onProbeError?: (name: string, error: unknown) => void;
}

export function createReadinessRegistry(options: ReadinessRegistryOptions = {}): ReadinessReporter {
  const timeoutMs = options.probeTimeoutMs ?? 2000;
  const probes = new Map<string, ReadinessProbe>();
  let shuttingDown = false;

  async function run(name: string, probe: ReadinessProbe): Promise<ProbeResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ProbeResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, failure: 'timeout' }), timeoutMs);
      timer.unref();
    });
    const answer = (async (): Promise<ProbeResult> => {
      try {
        return (await probe()) ? { ok: true } : { ok: false, failure: 'false' };
      } catch (error) {
        options.onProbeError?.(name, error);
        return { ok: false, failure: 'error' };
      }
    })();
    try {
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    register(name: string, probe: ReadinessProbe): void {
      // Independently written services may pick the same name; keep both probes.
      let unique = name;
      for (let n = 2; probes.has(unique); n++) unique = `${name}#${n}`;
      probes.set(unique, probe);
    },
    async check(): Promise<ReadinessReport> {
      const entries = await Promise.all([...probes].map(async ([name, probe]) => [name, await run(name, probe)] as const));
      const results = Object.fromEntries(entries);
      return {
        ready: !shuttingDown && entries.every(([, result]) => result.ok),
        shuttingDown,
        probes: results,
      };
    },
    markShuttingDown(): void {
      shuttingDown = true;
    },
    names(): string[] {
      return [...probes.keys()];
    },
  };
}

export function isReadinessReporter(registry: ReadinessRegistry): registry is ReadinessReporter {
  const candidate = registry as Partial<ReadinessReporter>;
  return typeof candidate.check === 'function' && typeof candidate.markShuttingDown === 'function';
}
