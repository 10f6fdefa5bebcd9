// Policy stage: blocklists, allowlists and RPZ QNAME triggers, in front of
// local data and the cache. Lists come from the configuration (policy.*) and
// from records-api (policy.changes.v1: lists and custom domains).
//
// Precedence, per query: allowlist (incl. `@@||x^` and RPZ PASSTHRU) >
// RPZ (exact trigger, then the nearest `*.parent`) > blocklists. Blocklist
// entries match the name and every name below it; RPZ triggers match as RPZ
// defines them (exact names; wildcards only strictly below).
import { randomUUID } from 'node:crypto';
import type { Subscription } from '@ghostdns/bus';
import { Topics } from '@ghostdns/contracts';
import dnsPacket from 'dns-packet';
import type { GhostConfig } from '@ghostdns/config';
import type { Resolution, ResolveRequest, Resolver } from '../dns/resolver.js';
import { HEADER_LENGTH, Rcode, readHeader, readQuestion } from '../dns/wire.js';
import type { EdgeLogger, ResolverMetrics } from '../metrics.js';
import type { PipelineContext, PipelineStage } from '../pipeline.js';
import { DomainSetUnion, NameKey, PackedDomainSet } from './domain-set.js';
import { DEFAULT_SOURCE_LIMITS, describeSourceError, parseList, readSource, type FetchLike, type ListStats, type SourceLimits } from './lists.js';
import { ManagedPolicy } from './managed.js';
import { buildBlockedResponse, buildLocalDataResponse, negative, type BlockResponse } from './responses.js';
import { RpzPolicy, type RpzRule, type RpzStats } from './rpz.js';

export { DomainSetUnion, NameKey, PackedDomainSet } from './domain-set.js';
export { parseList, readSource, type ListFormat, type ListStats } from './lists.js';
export { ManagedPolicy, type ListContent, type ManagedListSpec } from './managed.js';
export { buildBlockedResponse, BLOCKED_TTL } from './responses.js';
export { RpzPolicy, type RpzRule, type RpzStats } from './rpz.js';

/** One immutable generation of every configured list, swapped in whole. */
export interface PolicySnapshot {
  readonly block: PackedDomainSet;
  readonly allow: PackedDomainSet;
  readonly rpz: RpzPolicy;
  readonly loadedAt: Date;
  readonly sources: readonly SourceReport[];
}

export interface SourceReport {
  kind: 'blocklist' | 'allowlist' | 'rpz';
  source: string;
  ok: boolean;
  stats?: ListStats | RpzStats;
  error?: string;
}

/** For the UDP fast path, which answers cache hits before the pipeline. */
export interface PolicyGuard {
  /** False while no list has any rule: nothing to check. */
  readonly active: boolean;
  /**
   * True when a policy rule (block, allow, RPZ) matches the query's question
   * name: the fast path must hand such a query to the pipeline. Synchronous,
   * allocation-free.
   */
  matches(query: Buffer): boolean;
}

/** What answers: the configured lists' generation and the API's lists and entries, as unions. Swapped whole. */
export interface PolicyView {
  readonly block: DomainSetUnion;
  readonly allow: DomainSetUnion;
  readonly rpz: RpzPolicy;
  /** Rules over all three: 0 means nothing to check. */
  readonly size: number;
}

export interface PolicyStage extends PipelineStage {
  readonly guard: PolicyGuard;
  /** The configured lists' generation currently answering. */
  readonly snapshot: PolicySnapshot;
  readonly view: PolicyView;
  /** The lists and custom domains from policy.changes.v1. */
  readonly managed: ManagedPolicy;
  start(): Promise<void>;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export interface PolicyStageOptions {
  fetch?: FetchLike;
  limits?: SourceLimits;
}

function emptySnapshot(): PolicySnapshot {
  return { block: new PackedDomainSet(16), allow: new PackedDomainSet(16), rpz: new RpzPolicy(), loadedAt: new Date(0), sources: [] };
}

/**
 * Loads every configured list into a new snapshot. Sources that fail are
 * reported (ok: false) and contribute nothing; the caller decides whether a
 * partial snapshot is acceptable.
 */
export async function loadPolicy(policy: GhostConfig['policy'], options: PolicyStageOptions = {}): Promise<PolicySnapshot> {
  const limits = options.limits ?? DEFAULT_SOURCE_LIMITS;
  const block = new PackedDomainSet(4096);
  const allow = new PackedDomainSet(256);
  const rpz = new RpzPolicy();
  const sink = { block: (n: string) => void block.add(n), allow: (n: string) => void allow.add(n) };
  const allowSink = { block: (n: string) => void allow.add(n), allow: (n: string) => void allow.add(n) };
  const sources: SourceReport[] = [];
  const lists: [SourceReport['kind'], string][] = [
    ...policy.blocklists.map((s): [SourceReport['kind'], string] => ['blocklist', s]),
    ...policy.allowlists.map((s): [SourceReport['kind'], string] => ['allowlist', s]),
    ...policy.rpzFiles.map((s): [SourceReport['kind'], string] => ['rpz', s]),
  ];
  // Fetched in parallel, parsed in configured order (RPZ: the first zone wins).
  const texts = await Promise.allSettled(lists.map(([, source]) => readSource(source, limits, options.fetch)));
  for (let i = 0; i < lists.length; i++) {
    const [kind, source] = lists[i] ?? ['blocklist', ''];
    const text = texts[i];
    if (text === undefined || text.status === 'rejected') {
      sources.push({ kind, source, ok: false, error: describeSourceError(text?.status === 'rejected' ? text.reason : undefined) });
      continue;
    }
    const stats =
      kind === 'rpz'
        ? rpz.addZone(text.value)
        : await parseList(text.value, kind === 'allowlist' ? allowSink : sink, { asAllowlist: kind === 'allowlist' });
    sources.push({ kind, source, ok: true, stats });
  }
  block.compact();
  allow.compact();
  return { block, allow, rpz, loadedAt: new Date(), sources };
}

function composeView(snapshot: PolicySnapshot, managed: ManagedPolicy): PolicyView {
  const layers = managed.layers();
  const block = new DomainSetUnion([snapshot.block, ...layers.block]);
  const allow = new DomainSetUnion([snapshot.allow, ...layers.allow]);
  return { block, allow, rpz: snapshot.rpz, size: block.size + allow.size + snapshot.rpz.size };
}

class ViewGuard implements PolicyGuard {
  private readonly key = new NameKey();

  constructor(private readonly current: () => PolicyView) {}

  get active(): boolean {
    return this.current().size > 0;
  }

  matches(query: Buffer): boolean {
    const v = this.current();
    if (v.size === 0) return false;
    // An unreadable name is the pipeline's to judge.
    if (!this.key.setWire(query, HEADER_LENGTH)) return true;
    const key = this.key;
    return v.allow.match(key) >= 0 || v.block.match(key) >= 0 || v.rpz.exact.match(key, 0, 0) >= 0 || v.rpz.wildcard.match(key, 1) >= 0;
  }
}

/** Blocklists, allowlists and RPZ, reloaded on a timer and on SIGHUP; the API's lists and entries as they change. */
export function createPolicyStage(context: PipelineContext, options: PolicyStageOptions = {}): PolicyStage {
  return new PolicyStageImpl(context, options);
}

class PolicyStageImpl implements PolicyStage {
  readonly name = 'policy';
  snapshot: PolicySnapshot = emptySnapshot();
  readonly managed: ManagedPolicy;
  view: PolicyView;
  readonly guard: PolicyGuard;
  private readonly key = new NameKey();
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private subscription: Subscription | null = null;
  private readonly policy: GhostConfig['policy'];
  private readonly metrics: ResolverMetrics;
  private readonly logger: EdgeLogger;
  private readonly mode: BlockResponse;
  private readonly hasSources: boolean;

  constructor(
    private readonly context: PipelineContext,
    private readonly options: PolicyStageOptions,
  ) {
    this.policy = context.config.policy;
    this.metrics = context.metrics;
    this.logger = context.logger;
    this.mode = this.policy.blockResponse;
    this.hasSources = this.policy.blocklists.length + this.policy.allowlists.length + this.policy.rpzFiles.length > 0;
    this.managed = new ManagedPolicy({ ...options, metrics: this.metrics, logger: this.logger, onChange: () => this.compose() });
    this.view = composeView(this.snapshot, this.managed);
    this.guard = new ViewGuard(() => this.view);
  }

  async start(): Promise<void> {
    if (this.hasSources) {
      // At start a failed source is logged and skipped: the resolver comes up
      // with what could be loaded, and the next reload retries it.
      this.install(await loadPolicy(this.policy, this.options), false);
    }
    const { bus, config } = this.context;
    if (bus !== null) {
      // A group of our own per process: every edge applies every change, and from the
      // beginning, so a restarted edge rebuilds the API's lists and entries by replay.
      this.subscription = await bus.subscribe(
        Topics.policyChanges,
        async (batch) => this.managed.apply(batch.values),
        { groupId: `resolver-edge.policy.${config.node.id}.${process.pid}.${randomUUID()}`, fromBeginning: true },
      );
    }
    if (this.policy.reloadInterval > 0 && (this.hasSources || bus !== null)) {
      this.timer = setInterval(() => void this.reload(), this.policy.reloadInterval * 1000);
      this.timer.unref();
    }
  }

  /**
   * Coalesces concurrent calls (timer + SIGHUP). A failed configured source keeps
   * the whole previous configured generation; a failed API list keeps its own previous content.
   */
  reload(): Promise<void> {
    this.inFlight ??= (async () => {
      try {
        await Promise.all([
          this.hasSources ? loadPolicy(this.policy, this.options).then((next) => this.install(next, true)) : undefined,
          this.managed.reload(),
        ]);
      } catch (err) {
        this.metrics.policyReload('failure');
        this.logger.error({ err }, 'policy reload failed; keeping the previous lists');
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.managed.stop();
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.close();
    await this.inFlight;
  }

  /** Swaps in a new view; cheap (no names copied), so every change does it at once. */
  private compose(): void {
    this.view = composeView(this.snapshot, this.managed);
    this.metrics.policyRules('block', this.view.block.size);
    this.metrics.policyRules('allow', this.view.allow.size);
    this.metrics.policyRules('rpz', this.view.rpz.size);
  }

  private install(next: PolicySnapshot, strict: boolean): void {
    const failed = next.sources.filter((s) => !s.ok);
    for (const s of failed) {
      this.metrics.policyListFailure('config');
      this.logger.error({ source: s.source, kind: s.kind, error: s.error }, 'policy list could not be loaded');
    }
    if (failed.length > 0) {
      this.metrics.policyReload('failure');
      if (strict) {
        this.logger.warn({ failed: failed.length }, 'policy reload failed; keeping the previous lists');
        return;
      }
    } else {
      this.metrics.policyReload('success');
    }
    this.snapshot = next;
    this.compose();
    this.logger.info(
      { block: next.block.size, allow: next.allow.size, rpz: next.rpz.size, sources: next.sources.map((s) => ({ source: s.source, ok: s.ok, ...s.stats })) },
      'policy lists loaded',
    );
  }

  wrap(next: Resolver): Resolver {
    return { resolve: (request) => this.resolve(request, next) };
  }

  private resolve(request: ResolveRequest, next: Resolver): Promise<Resolution> {
    const s = this.view;
    if (s.size === 0) return next.resolve(request);
    const key = this.key;
    if (!key.setWire(request.query, HEADER_LENGTH) || key.count === 0) return next.resolve(request);

    let rule: RpzRule | undefined;
    let ruleSkip = 0;
    if (s.rpz.size > 0) {
      const exact = s.rpz.exact.match(key, 0, 0);
      if (exact >= 0) {
        rule = s.rpz.exactRules[exact];
      } else {
        const wild = s.rpz.wildcard.match(key, 1);
        if (wild >= 0) {
          rule = s.rpz.wildcardRules[wild];
          ruleSkip = s.rpz.wildcard.lastSkip;
        }
      }
    }
    const exempt = (s.allow.size > 0 && s.allow.match(key) >= 0) || rule?.action === 'passthru';
    if (exempt) {
      // ALLOWLISTED only when the exemption changed the outcome.
      const overrode = (rule !== undefined && rule.action !== 'passthru') || s.block.match(key) >= 0;
      if (!overrode) return next.resolve(request);
      this.metrics.policyHit(rule?.action === 'passthru' ? 'rpz_passthru' : 'allowlisted');
      return next.resolve(request).then((r) => ({ ...r, policyAction: 'ALLOWLISTED' }));
    }
    if (rule !== undefined) return this.applyRpz(request, next, rule, key.labelStart[ruleSkip] ?? -1);
    const blocked = s.block.match(key);
    if (blocked < 0) return next.resolve(request);
    this.metrics.policyHit('blocked');
    return Promise.resolve(blockedResolution(buildBlockedResponse(request, this.mode, key.labelStart[blocked] ?? -1)));
  }

  private async applyRpz(request: ResolveRequest, next: Resolver, rule: RpzRule, ownerOffset: number): Promise<Resolution> {
    switch (rule.action) {
      case 'nxdomain':
        this.metrics.policyHit('rpz_nxdomain');
        return blockedResolution(negative(request, Rcode.NXDOMAIN, ownerOffset));
      case 'nodata':
        this.metrics.policyHit('rpz_nodata');
        return blockedResolution(negative(request, Rcode.NOERROR, ownerOffset));
      case 'passthru':
        return next.resolve(request);
      case 'local':
        this.metrics.policyHit('rpz_local_data');
        return this.localData(request, next, rule);
    }
  }

  /**
   * RPZ local data. A CNAME is followed through the rest of the pipeline for
   * the asked type (as BIND does), so clients get the target's records too.
   */
  private async localData(request: ResolveRequest, next: Resolver, rule: RpzRule): Promise<Resolution> {
    const cname = rule.records.find((r) => r.type === 'CNAME');
    const qtype = request.question.type;
    if (cname === undefined || qtype === 5 || qtype === 255) {
      return blockedResolution(buildLocalDataResponse(request, rule.records));
    }
    const target = String(cname.data);
    try {
      const query = dnsPacket.encode({
        type: 'query',
        id: request.header.id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ name: target, type: dnsPacket.decode(request.query).questions?.[0]?.type ?? 'A', class: 'IN' }],
      });
      const header = readHeader(query);
      const question = readQuestion(query);
      if (header === null || question === null) throw new Error('unencodable CNAME target');
      const chased = await next.resolve({ query, header, question, client: request.client });
      const decoded = dnsPacket.decode(chased.response);
      const rcode = (chased.response[3] ?? 0) & 0x0f;
      const response = buildLocalDataResponse(request, rule.records, decoded.answers ?? [], rcode);
      return { ...chased, response, policyAction: 'BLOCKED' };
    } catch (err) {
      this.logger.warn({ err, target }, 'RPZ CNAME target could not be resolved');
      return blockedResolution(buildLocalDataResponse(request, rule.records));
    }
  }
}

/** Every policy rewrite is BLOCKED in events, whatever its shape (even blockResponse: refused). */
function blockedResolution(response: Buffer): Resolution {
  return {
    response,
    cacheStatus: 'NONE',
    policyAction: 'BLOCKED',
    upstream: null,
    upstreamLatencyUs: null,
  };
}
