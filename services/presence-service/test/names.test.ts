import { describe, expect, it } from 'vitest';
import { assignLabels, defaultPeerLabel, hostAddresses, labelKey } from '../src/names.js';
import { KEY } from './wg-keys.js';

describe('tunnel addresses and default names', () => {
  it('keeps only host routes, without their prefix', () => {
    expect(hostAddresses(['10.8.0.2/32', 'fd00::2/128', '10.9.0.0/24', '0.0.0.0/0', 'fd00::/64'])).toEqual(['10.8.0.2', 'fd00::2']);
  });

  it('names a peer after its first tunnel address, else after its key', () => {
    expect(defaultPeerLabel(['10.8.0.2', 'fd00::2'], KEY.laptop)).toBe('peer-10-8-0-2');
    expect(defaultPeerLabel(['fd00:8::2'], KEY.laptop)).toBe('peer-fd00-8-2');
    expect(defaultPeerLabel([], KEY.laptop)).toMatch(/^peer-[0-9a-f]{8}$/);
    expect(defaultPeerLabel([], KEY.laptop)).toBe(defaultPeerLabel([], KEY.laptop));
    expect(defaultPeerLabel([], KEY.phone)).not.toBe(defaultPeerLabel([], KEY.laptop));
  });
});

describe('assignLabels', () => {
  it('keeps unique labels and resolves collisions by (interface, key) order with a key-derived tag', () => {
    const labels = assignLabels([
      { deviceId: KEY.phone, interface: 'wg1', label: 'laptop', domain: null },
      { deviceId: KEY.laptop, interface: 'wg0', label: 'laptop', domain: null },
      { deviceId: KEY.office, interface: 'wg0', label: 'office', domain: null },
      { deviceId: KEY.router, interface: 'wg0', label: 'laptop', domain: null },
    ]);
    expect(labels.get(labelKey('wg0', KEY.laptop))).toBe('laptop');
    expect(labels.get(labelKey('wg0', KEY.office))).toBe('office');
    const tagged = [labels.get(labelKey('wg0', KEY.router)), labels.get(labelKey('wg1', KEY.phone))];
    for (const label of tagged) expect(label).toMatch(/^laptop-[0-9a-f]{6}$/);
    expect(new Set(labels.values()).size).toBe(4);
  });

  it('is deterministic whatever the input order, and a tag does not move when other peers come and go', () => {
    const a = { deviceId: KEY.laptop, interface: 'wg0', label: 'pc', domain: null };
    const b = { deviceId: KEY.phone, interface: 'wg0', label: 'pc', domain: null };
    const c = { deviceId: KEY.router, interface: 'wg0', label: 'pc', domain: null };
    const forward = assignLabels([a, b, c]);
    expect(assignLabels([c, b, a])).toEqual(forward);
    const withoutB = assignLabels([a, c]);
    expect(withoutB.get(labelKey('wg0', KEY.router))).toBe(forward.get(labelKey('wg0', KEY.router)));
  });

  it('labels are unique per domain: the same label under a custom domain and under the suffix is two names', () => {
    const labels = assignLabels([
      { deviceId: KEY.laptop, interface: 'wg0', label: 'pc', domain: null },
      { deviceId: KEY.phone, interface: 'wg0', label: 'pc', domain: 'home.example' },
      { deviceId: KEY.router, interface: 'wg1', label: 'pc', domain: 'home.example' },
    ]);
    expect(labels.get(labelKey('wg0', KEY.laptop))).toBe('pc');
    expect(labels.get(labelKey('wg0', KEY.phone))).toBe('pc');
    expect(labels.get(labelKey('wg1', KEY.router))).toMatch(/^pc-[0-9a-f]{6}$/);
  });

  it('a tagged label never takes a label another peer asked for, and stays within 63 characters', () => {
    const long = 'l'.repeat(63);
    const labels = assignLabels([
      { deviceId: KEY.laptop, interface: 'wg0', label: long, domain: null },
      { deviceId: KEY.phone, interface: 'wg0', label: long, domain: null },
    ]);
    const tagged = labels.get(labelKey('wg0', KEY.phone)) ?? '';
    expect(tagged.length).toBeLessThanOrEqual(63);
    expect(tagged).toMatch(/^l+-[0-9a-f]{6}$/);
  });
});
