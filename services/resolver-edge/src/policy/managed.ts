// Blocklists, allowlists and custom domains managed through records-api, as
// policy.changes.v1 describes them: the state is kept per entity id (the
// topic's key), so the outcome depends only on the last event of each list
// or entry, whatever order events of different keys arrive in (partitions,
// replay after a restart).
import { normalizePolicyDomain, type PolicyChangeEvent, type PolicyListFormat } from '@ghostdns/contracts';
import type { EdgeLogger, ResolverMetrics } from '../metrics.js';
import { PackedDomainSet } from './domain-set.js';
import { DEFAULT_SOURCE_LIMITS, describeSourceError, parseList, readSource, type FetchLike, type ListFormat, type ListStats, type SourceLimits } from './lists.js';

type Kind = 'block' | 'allow';

export interface ManagedListSpec {
  readonly id: string;
  readonly kind: Kind;
  /** http(s) URL or absolute path, read by this process. */
  readonly source: string;
  readonly format: ListFormat;
  readonly enabled: boolean;
}

/** What one list yielded: names to block and to allow (adblock `@@` rules, or every name of an allowlist). */
export interface ListContent {
  readonly block: PackedDomainSet;
  readonly allow: PackedDomainSet;
  readonly stats: ListStats;
}

interface ManagedList {
  spec: ManagedListSpec;
  /** The last successful load; kept when a later one fails. null until the first, and while disabled. */
  content: ListContent | null;
  /** Bumped whenever what must be loaded changes: a load started under an older value is dropped. */
  generation: number;
  /** The load of the current generation, while it runs (a reload joins it instead of fetching again). */
  loading: Promise<void> | null;
}

export interface ManagedPolicyOptions {
  metrics: ResolverMetrics;
  logger: EdgeLogger;
  /** Called after every change of what `layers()` returns. Synchronous. */
  onChange: () => void;
  fetch?: FetchLike;
  limits?: SourceLimits;
}

const SOURCE = /^(https?:\/\/|\/)/i;
const FORMATS: { readonly [F in PolicyListFormat]: ListFormat } = { AUTO: 'auto', HOSTS: 'hosts', ADBLOCK: 'adblock', PLAIN: 'plain' };
const kindOf = (event: PolicyChangeEvent): Kind => (event.kind === 'ALLOW' ? 'allow' : 'block');

/** The sets this state adds to the configured lists' (empty ones included; the union drops them). */
export interface ManagedLayers {
  readonly block: readonly PackedDomainSet[];
  readonly allow: readonly PackedDomainSet[];
}

export class ManagedPolicy {
  private readonly lists = new Map<string, ManagedList>();
  private readonly entries = new Map<string, { kind: Kind; domain: string }>();
  private entrySets: { block: PackedDomainSet; allow: PackedDomainSet } | null = null;
  private stopped = false;

  constructor(private readonly options: ManagedPolicyOptions) {}

  /** Applies one batch of events; lists whose source changed start loading (their content arrives later, through onChange). */
  apply(events: readonly PolicyChangeEvent[]): void {
    let changed = false;
    for (const event of events) changed = (event.entity === 'LIST' ? this.applyList(event) : this.applyEntry(event)) || changed;
    if (changed) this.options.onChange();
  }

  /** Reads every enabled list again; a list that fails keeps what it had. Never rejects. */
  async reload(): Promise<void> {
    await Promise.all([...this.lists.values()].filter((l) => l.spec.enabled).map((l) => l.loading ?? this.load(l)));
  }

  /** Loads finishing after this are dropped. */
  stop(): void {
    this.stopped = true;
  }

  layers(): ManagedLayers {
    const entries = (this.entrySets ??= this.buildEntrySets());
    const block = [entries.block];
    const allow = [entries.allow];
    for (const list of this.lists.values()) {
      if (!list.spec.enabled || list.content === null) continue;
      block.push(list.content.block);
      allow.push(list.content.allow);
    }
    return { block, allow };
  }

  /** What this process holds for each list (diagnostics and tests). */
  listStates(): { spec: ManagedListSpec; content: ListContent | null }[] {
    return [...this.lists.values()].map((l) => ({ spec: l.spec, content: l.content }));
  }

  private applyList(event: PolicyChangeEvent): boolean {
    const current = this.lists.get(event.id);
    if (event.op === 'DELETE') {
      if (current === undefined) return false;
      current.generation++;
      this.lists.delete(event.id);
      return true;
    }
    const source = event.source?.trim() ?? '';
    if (!SOURCE.test(source)) {
      this.options.logger.warn({ id: event.id, source: event.source, eventId: event.event_id }, 'policy list change without an http(s) URL or absolute path skipped');
      return false;
    }
    const spec: ManagedListSpec = {
      id: event.id,
      kind: kindOf(event),
      source,
      format: FORMATS[event.format ?? 'AUTO'],
      enabled: event.enabled ?? true,
    };
    if (current === undefined) {
      const list: ManagedList = { spec, content: null, generation: 0, loading: null };
      this.lists.set(spec.id, list);
      if (spec.enabled) void this.load(list);
      return false;
    }
    const previous = current.spec;
    current.spec = spec;
    const reread = previous.source !== spec.source || previous.format !== spec.format || previous.kind !== spec.kind;
    if (!spec.enabled || reread || !previous.enabled) {
      current.generation++;
      current.loading = null;
    }
    // A disabled list holds no memory; a list that changed kind must not keep acting as the other kind
    // while it is read again. Another source or format keeps the old names until the new ones are in.
    if (!spec.enabled || previous.kind !== spec.kind) current.content = null;
    if (spec.enabled && (reread || !previous.enabled)) void this.load(current);
    return previous.enabled !== spec.enabled || previous.kind !== spec.kind;
  }

  private applyEntry(event: PolicyChangeEvent): boolean {
    if (event.op === 'DELETE') {
      if (!this.entries.delete(event.id)) return false;
    } else {
      const domain = event.domain === null ? null : normalizePolicyDomain(event.domain);
      if (domain === null) {
        this.options.logger.warn({ id: event.id, domain: event.domain, eventId: event.event_id }, 'policy entry change without a valid domain skipped');
        return false;
      }
      this.entries.set(event.id, { kind: kindOf(event), domain });
    }
    this.entrySets = null;
    return true;
  }

  private buildEntrySets(): { block: PackedDomainSet; allow: PackedDomainSet } {
    const block = new PackedDomainSet(16);
    const allow = new PackedDomainSet(16);
    for (const entry of this.entries.values()) (entry.kind === 'block' ? block : allow).add(entry.domain);
    block.compact();
    allow.compact();
    this.options.metrics.policyEntries('block', block.size);
    this.options.metrics.policyEntries('allow', allow.size);
    return { block, allow };
  }

  private load(list: ManagedList): Promise<void> {
    const loading = this.read(list).finally(() => {
      if (list.loading === loading) list.loading = null;
    });
    list.loading = loading;
    return loading;
  }

  private async read(list: ManagedList): Promise<void> {
    const { spec, generation } = list;
    const current = (): boolean => !this.stopped && this.lists.get(spec.id) === list && list.generation === generation;
    try {
      const text = await readSource(spec.source, this.options.limits ?? DEFAULT_SOURCE_LIMITS, this.options.fetch);
      const block = new PackedDomainSet(1024);
      const allow = new PackedDomainSet(64);
      const stats = await parseList(text, { block: (n) => void block.add(n), allow: (n) => void allow.add(n) }, { asAllowlist: spec.kind === 'allow', format: spec.format });
      if (!current()) return;
      block.compact();
      allow.compact();
      list.content = { block, allow, stats };
      this.options.logger.info({ id: spec.id, kind: spec.kind, source: spec.source, format: spec.format, ...stats }, 'policy list from the API loaded');
      this.options.onChange();
    } catch (err) {
      if (!current()) return;
      this.options.metrics.policyListFailure('api');
      this.options.logger.error(
        { id: spec.id, source: spec.source, error: describeSourceError(err), kept: list.content !== null },
        'policy list from the API could not be loaded; keeping its previous content',
      );
    }
  }
}
