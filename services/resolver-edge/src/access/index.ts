// Access and abuse: allow-query (outermost, with response rate limiting of
// whatever the inner stages answer) and allow-recursion (in front of the cache
// and the forwarder), as BIND's `allow-query`, `allow-recursion` and
// `rate-limit` options.
import { performance } from 'node:perf_hooks';
import type { Resolution, ResolveRequest, Resolver } from '../dns/resolver.js';
import { localResolution } from '../dns/resolver.js';
import { Rcode } from '../dns/wire.js';
import type { PipelineContext, PipelineStage } from '../pipeline.js';
import { AccessChecker } from './acl.js';
import { buildSlipResponse, ResponseRateLimiter } from './rrl.js';

export { AccessChecker, AddressMatchList } from './acl.js';
export { buildSlipResponse, ResponseRateLimiter, type RrlOptions } from './rrl.js';
export { parseClientAddress, parseIpv4, parseIpv6 } from './ip.js';

export interface AccessStages {
  /** allow-query, then RRL on the answer (outermost stage). */
  query: PipelineStage;
  /** allow-recursion: everything past local data (cache, forwarding). */
  recursion: PipelineStage;
  /** The same ACL decision, synchronous, for the UDP fast path. */
  checker: AccessChecker;
  /** The same limiter the query stage uses: the UDP fast path must consult it too. */
  limiter: ResponseRateLimiter;
}

/** allow-query (outermost) and allow-recursion (before the cache) ACL stages. */
export function createAccessStages(context: PipelineContext): AccessStages {
  const { config, metrics } = context;
  // Invalid entries throw GHOSTDNS_RESOLVER_BAD_ACL here, at start, not per query.
  const checker = new AccessChecker(config.acl);
  const limiter = new ResponseRateLimiter(config.rrl, metrics);

  const query: PipelineStage = {
    name: 'allow-query',
    wrap(next: Resolver): Resolver {
      return {
        async resolve(request: ResolveRequest): Promise<Resolution> {
          const { client } = request;
          let resolution: Resolution;
          if (checker.allowQuery(client.address, client.family)) {
            resolution = await next.resolve(request);
          } else {
            metrics.aclRefused('query');
            resolution = localResolution(request, Rcode.REFUSED, 'REFUSED');
          }
          // REFUSED answers are rate limited too: they reflect just as well.
          if (!limiter.enabled || client.transport !== 'UDP') return resolution;
          switch (limiter.verdict(client.address, client.family, resolution.response, performance.now())) {
            case 'send':
              return resolution;
            case 'slip':
              return { ...resolution, response: buildSlipResponse(resolution.response), policyAction: 'RATE_LIMITED' };
            case 'drop':
              return { ...resolution, drop: true, policyAction: 'RATE_LIMITED' };
          }
        },
      };
    },
  };

  const recursion: PipelineStage = {
    name: 'allow-recursion',
    wrap(next: Resolver): Resolver {
      return {
        resolve(request: ResolveRequest): Promise<Resolution> {
          const { client } = request;
          if (checker.allowRecursion(client.address, client.family)) return next.resolve(request);
          metrics.aclRefused('recursion');
          return Promise.resolve(localResolution(request, Rcode.REFUSED, 'REFUSED'));
        },
      };
    },
  };

  return { query, recursion, checker, limiter };
}
