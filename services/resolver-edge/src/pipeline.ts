// The resolver pipeline, outermost stage first:
//
//   query ACL ─▶ policy (blocklists, RPZ) ─▶ local data (zones, dynamic and
//   presence-aware records) ─▶ recursion ACL ─▶ cache ─▶ forwarder
//
// Each stage is a Resolver wrapping the next, built by its folder's
// create*Stage(). A stage owns its own state and lifecycle (loading zones,
// fetching blocklists, subscribing to record changes) through start/reload/stop.
import type { EventBus } from '@ghostdns/bus';
import type { GhostConfig } from '@ghostdns/config';
import { buildSlipResponse, createAccessStages } from './access/index.js';
import type { FastPathGuard } from './cache/index.js';
import { createCacheStage, type SharedCacheStore } from './cache/index.js';
import type { DeviceIdentityIndex } from './device-identity.js';
import type { Resolver } from './dns/resolver.js';
import type { EdgeLogger, ResolverMetrics } from './metrics.js';
import { createPolicyStage } from './policy/index.js';
import { createLocalDataStage } from './zones/index.js';

/** What a stage may use. Stages never construct I/O clients of their own beyond their folder's adapters. */
export interface PipelineContext {
  readonly config: GhostConfig;
  readonly metrics: ResolverMetrics;
  readonly logger: EdgeLogger;
  /** For stages that follow topics (record changes, presence). */
  readonly bus: Pick<EventBus, 'subscribe'> | null;
  /** The runtime's shared key-value store (Redis in distributed mode): the cache's optional second level. */
  readonly store?: SharedCacheStore | null;
  /** The process's device identities, fed by the presence events the local-data stage applies. */
  readonly devices?: DeviceIdentityIndex | null;
}

export interface PipelineStage {
  readonly name: string;
  wrap(next: Resolver): Resolver;
  /** Loads what the stage needs before the listeners open. */
  start?(): Promise<void>;
  /** SIGHUP: re-read files and lists without dropping a query. */
  reload?(): Promise<void>;
  stop?(): Promise<void>;
}

export interface Pipeline {
  readonly resolver: Resolver;
  /** The outer stages' verdicts for answers the UDP fast path serves from the cache. */
  readonly fastPathGuard: FastPathGuard;
  readonly stages: readonly PipelineStage[];
  start(): Promise<void>;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the stages around `innermost` (the forwarder), outermost first in `stages`. */
export function buildPipeline(context: PipelineContext, innermost: Resolver): Pipeline {
  const access = createAccessStages(context);
  const policy = createPolicyStage(context);
  const stages: PipelineStage[] = [
    access.query,
    policy,
    createLocalDataStage(context),
    access.recursion,
    createCacheStage(context),
  ];
  let resolver = innermost;
  for (const stage of [...stages].reverse()) resolver = stage.wrap(resolver);
  const fastPathGuard: FastPathGuard = {
    // Cached answers are recursion: allow-recursion implies allow-query. A name
    // any policy rule matches goes the full way so a newly blocked name is not
    // served from the cache.
    admit: (query, address, family) =>
      access.checker.allowRecursion(address, family) && !(policy.guard.active && policy.guard.matches(query)),
    limit: (response, address, family) => {
      if (!access.limiter.enabled) return response;
      switch (access.limiter.verdict(address, family, response, performance.now())) {
        case 'send':
          return response;
        case 'slip':
          return buildSlipResponse(response);
        case 'drop':
          return null;
      }
    },
  };
  return {
    resolver,
    fastPathGuard,
    stages,
    async start() {
      for (const stage of stages) await stage.start?.();
    },
    async reload() {
      for (const stage of stages) await stage.reload?.();
    },
    async stop() {
      for (const stage of [...stages].reverse()) await stage.stop?.();
    },
  };
}

/** A stage that hands every query on unchanged. */
export function passThroughStage(name: string): PipelineStage {
  return { name, wrap: (next) => next };
}
