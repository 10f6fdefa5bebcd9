// The local-data stage: authoritative zones (BIND files and AXFR secondaries),
// zone transfer out, dynamic records and presence names, all answered from one
// LocalDataStore. Anything that is not local data goes to `next` unchanged.
import { randomUUID } from 'node:crypto';
import type { Subscription } from '@ghostdns/bus';
import { Topics } from '@ghostdns/contracts';
import type { Resolution, ResolveRequest, Resolver } from '../dns/resolver.js';
import { Rcode } from '../dns/wire.js';
import { ResolverEdgeError } from '../errors.js';
import type { PipelineContext, PipelineStage } from '../pipeline.js';
import { encodeEmpty, encodeLookup, readClientEdns } from './answer.js';
import { buildAxfrMessages, TransferAcl } from './axfr.js';
import { applyRecordChange, PresenceNames, PRESENCE_TTL } from './dynamic.js';
import { canonicalName, RrType } from './names.js';
import { parseSecondarySpec, SecondaryZone, TcpZoneTransferClient, type ZoneTransferClient } from './secondary.js';
import { LocalDataStore, ZoneData } from './store.js';
import { loadZoneFile, type ZoneRecord } from './zone-file.js';

export { LocalDataStore, ZoneData } from './store.js';
export { parseZoneText, loadZoneFile, ZoneFileError, type ZoneRecord } from './zone-file.js';
export { serialGreater, TcpZoneTransferClient } from './secondary.js';

const RCODE_NOTAUTH = 9;

export interface LocalDataStageOptions {
  /** Replaces the TCP AXFR client (tests). */
  transferClient?: ZoneTransferClient;
}

export interface LocalDataStage extends PipelineStage {
  readonly store: LocalDataStore;
}

interface FileZone {
  apex: string;
  path: string;
}

function parseZoneFileSpec(spec: string): FileZone {
  const colon = spec.indexOf(':');
  return { apex: canonicalName(spec.slice(0, colon)), path: spec.slice(colon + 1) };
}

export function createLocalDataStage(context: PipelineContext, options: LocalDataStageOptions = {}): LocalDataStage {
  const { config, logger, bus } = context;
  const store = new LocalDataStore();
  const acl = new TransferAcl(config.dns.allowTransfer);
  const fileZones = config.dns.zoneFiles.map(parseZoneFileSpec);
  const client = options.transferClient ?? new TcpZoneTransferClient({ timeoutMs: Math.max(config.dns.upstreamTimeoutMs * 5, 10_000) });
  const secondaries = config.dns.secondaryZones.map(
    (spec) => new SecondaryZone({ spec: parseSecondarySpec(spec), store, client, logger }),
  );
  const suffix = canonicalName(config.presence.suffix);
  const subscriptions: Subscription[] = [];
  // Only a shared store (Redis) holds presence-service's snapshots; a store of this process's own
  // never does, so without one presence names follow the events alone.
  const snapshots = context.store?.kind === 'redis' ? context.store : null;
  const presence = new PresenceNames({
    store, suffix, logger, snapshots, includeOffline: config.presence.includeOffline, identities: context.devices ?? undefined,
  });

  const loadFiles = async (initial: boolean): Promise<void> => {
    for (const z of fileZones) {
      try {
        const parsed = await loadZoneFile(z.apex, z.path);
        // Built before the swap: a query sees the old or the new zone, never half of one.
        store.setZoneData(z.apex, 'primary', ZoneData.build(z.apex, parsed.records));
        logger.info({ zone: z.apex, file: z.path, records: parsed.records.length }, 'zone loaded');
      } catch (err) {
        // At start a broken file is a configuration error; on reload the old data stays, as in BIND.
        if (initial) throw err;
        logger.error({ zone: z.apex, file: z.path, err }, 'zone reload failed; keeping the previous version');
      }
    }
  };

  const transfer = (request: ResolveRequest, qname: string): Resolution => {
    const { client: peer, question } = request;
    const result = (response: Buffer, extra?: Buffer[], action: Resolution['policyAction'] = 'LOCAL_DATA'): Resolution => ({
      response,
      ...(extra && extra.length > 0 ? { extraResponses: extra } : {}),
      cacheStatus: 'NONE',
      policyAction: action,
      upstream: null,
      upstreamLatencyUs: null,
    });
    // The ACL comes first, so a refused client learns nothing about which zones exist.
    if (!acl.allows(peer.address)) return result(encodeEmpty(request, Rcode.REFUSED), undefined, 'REFUSED');
    const entry = store.zone(qname);
    if (entry === null || entry.kind === 'presence') return result(encodeEmpty(request, RCODE_NOTAUTH));
    if (entry.status !== 'loaded' || entry.data === null) return result(encodeEmpty(request, Rcode.SERVFAIL));
    const zone = entry.data;
    if (peer.transport === 'UDP') {
      if (question.type === RrType.AXFR) return result(encodeEmpty(request, Rcode.REFUSED), undefined, 'REFUSED');
      // RFC 1995 §2: an IXFR over UDP that does not fit is answered with the current SOA; the client retries over TCP.
      return result(encodeLookup(request, { rcode: Rcode.NOERROR, aa: true, answers: [zone.soa], authorities: [], additionals: [] }, null));
    }
    if (peer.transport !== 'TCP') return result(encodeEmpty(request, Rcode.REFUSED), undefined, 'REFUSED');
    // IXFR over TCP: RFC 1995 §4 allows the full zone in AXFR form (we keep no journal).
    const [first, ...rest] = buildAxfrMessages(request, zone);
    return result(first, rest);
  };

  const resolve = (request: ResolveRequest, next: Resolver): Promise<Resolution> => {
    const { question } = request;
    // Zone transfers are never forwarded: answered (or refused) here whatever the name.
    if (question.type === RrType.AXFR || question.type === RrType.IXFR) return Promise.resolve(transfer(request, canonicalName(question.name)));
    // Local data is class IN; CHAOS and others (version.bind) pass on.
    if (!store.mayHold(question.name) || (question.class !== 1 && question.class !== 255)) return next.resolve(request);
    const qname = canonicalName(question.name);
    const found = store.lookup(qname, question.type, { stream: request.client.transport !== 'UDP' });
    if (found === null) return next.resolve(request);
    return Promise.resolve({
      response: encodeLookup(request, found, readClientEdns(request.query)),
      cacheStatus: 'NONE',
      policyAction: 'LOCAL_DATA',
      upstream: null,
      upstreamLatencyUs: null,
    });
  };

  const subscribe = async (): Promise<void> => {
    if (bus === null) return;
    // A group of our own per process: every edge sees every change (broadcast, not load sharing),
    // and from the beginning, so a restarted edge rebuilds its state by replay.
    const group = (topic: string): string => `resolver-edge.local-data.${topic}.${config.node.id}.${process.pid}.${randomUUID()}`;
    if (store.zone(suffix) === null) {
      const soa: ZoneRecord = {
        name: suffix,
        type: 'SOA',
        ttl: PRESENCE_TTL,
        class: 'IN',
        data: { mname: `ns.${suffix}`, rname: `hostmaster.${suffix}`, serial: 1, refresh: 3600, retry: 600, expire: 86_400, minimum: PRESENCE_TTL },
      };
      store.setZoneData(suffix, 'presence', ZoneData.build(suffix, [soa]));
    }
    subscriptions.push(
      await bus.subscribe(
        Topics.recordChanges,
        async (batch) => {
          for (const event of batch.values) applyRecordChange(store, event, logger);
        },
        { groupId: group('records'), fromBeginning: true },
      ),
      await bus.subscribe(
        Topics.presence,
        async (batch) => {
          for (const event of batch.values) presence.apply(event);
        },
        { groupId: group('presence'), fromBeginning: true },
      ),
    );
    presence.start();
    if (snapshots === null) logger.info({ suffix }, 'presence names follow presence.events.v1 alone: no shared store (redis.url) to check snapshots in');
  };

  return {
    name: 'local-data',
    store,
    wrap(next: Resolver): Resolver {
      return { resolve: (request) => resolve(request, next) };
    },
    async start() {
      const seen = new Set<string>();
      for (const apex of [...fileZones.map((z) => z.apex), ...secondaries.map((s) => s.apex)]) {
        if (seen.has(apex)) throw new ResolverEdgeError('GHOSTDNS_RESOLVER_ZONE_PARSE', `zone ${apex} is configured twice`);
        seen.add(apex);
      }
      await loadFiles(true);
      await Promise.all(secondaries.map((s) => s.start()));
      await subscribe();
    },
    async reload() {
      await loadFiles(false);
      await Promise.all(secondaries.map((s) => s.check()));
    },
    async stop() {
      for (const s of secondaries) s.stop();
      await presence.stop();
      const subs = subscriptions.splice(0);
      await Promise.all(subs.map((s) => s.close()));
    },
  };
}
