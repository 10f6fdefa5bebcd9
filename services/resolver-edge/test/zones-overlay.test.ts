// Unit: custom records (records-api, records.changes.v1) overlaid on presence names (the seed's
// "custom DNS overlays on top of MagicDNS"): per (name, type) the custom RRset wins, other types of
// the name are added beside the device's addresses, and removing the custom RRset uncovers the
// device's again. Custom records are not presence-aware: they outlive the device's session.
import type { PresenceEvent, RecordChangeEvent } from '@ghostdns/contracts';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/metrics.js';
import { applyRecordChange, PresenceNames } from '../src/zones/dynamic.js';
import { RrType } from '../src/zones/names.js';
import { LocalDataStore } from '../src/zones/store.js';

const DEVICE = 'monitoring.vpn.local';

const presence = (type: PresenceEvent['type']): PresenceEvent => ({
  event_id: `p-${type}`, type, source: 'TAILSCALE', device_id: 'nMON10CNTRL', name: 'monitoring', interface: null,
  addresses: type === 'DEVICE_ONLINE' ? ['100.64.0.10', 'fd7a:115c:a1e0::a'] : [], last_handshake_us: null,
  observed_at_us: 1_700_000_000_000_000, node_id: 'node-a', domain: null,
});

const change = (op: RecordChangeEvent['op'], type: string, values: string[]): RecordChangeEvent => ({
  event_id: `r-${op}-${type}`, op, record_id: `rec-${type}`, name: DEVICE, type, ttl: 300, values, changed_at_us: 1, actor: 'ghostscale',
});

function setup(): { names: PresenceNames; store: LocalDataStore; data: (type: number) => unknown[] } {
  const store = new LocalDataStore();
  const names = new PresenceNames({ store, suffix: 'vpn.local', logger: silentLogger, snapshots: null });
  const data = (type: number): unknown[] => (store.lookup(DEVICE, type, { stream: false })?.answers ?? []).map((r) => r.data);
  return { names, store, data };
}

describe('custom records overlaid on a presence name', () => {
  it.each([
    {
      case: 'another type is added beside the device addresses',
      changes: [change('UPSERT', 'TXT', ['role=monitoring'])],
      a: ['100.64.0.10'], txt: [[Buffer.from('role=monitoring')]],
    },
    {
      case: 'a custom A RRset wins over the device address',
      changes: [change('UPSERT', 'A', ['192.0.2.10', '192.0.2.11'])],
      a: ['192.0.2.10', '192.0.2.11'], txt: [],
    },
    {
      case: 'deleting the custom A RRset uncovers the device address again',
      changes: [change('UPSERT', 'A', ['192.0.2.10']), change('DELETE', 'A', [])],
      a: ['100.64.0.10'], txt: [],
    },
  ])('$case', ({ changes, a, txt }) => {
    const { names, store, data } = setup();
    names.apply(presence('DEVICE_ONLINE'));
    for (const c of changes) expect(applyRecordChange(store, c, silentLogger)).toBe(true);
    expect([...data(RrType.A)].sort()).toEqual(a);
    expect(data(RrType.TXT)).toEqual(txt);
    expect(data(RrType.AAAA)).toEqual(['fd7a:115c:a1e0::a']);
  });

  it('the device going offline withdraws its addresses, not the custom records', () => {
    const { names, store, data } = setup();
    names.apply(presence('DEVICE_ONLINE'));
    applyRecordChange(store, change('UPSERT', 'TXT', ['role=monitoring']), silentLogger);
    names.apply(presence('DEVICE_OFFLINE'));
    expect(data(RrType.A)).toEqual([]);
    expect(data(RrType.AAAA)).toEqual([]);
    expect(data(RrType.TXT)).toEqual([[Buffer.from('role=monitoring')]]);
  });
});
