import { describe, expect, it } from 'vitest';
import { assignLabels, defaultPeerLabel, hostAddresses, labelKey, sanitizeLabel } from '../src/names.js';
import { KEY } from './wg-keys.js';

describe('sanitizeLabel', () => {
  it.each([
    ['laptop', 'laptop'],
    ['Alice Laptop', 'alice-laptop'],
    ["Zoë's iPhone (2)", 'zoe-s-iphone-2'],
    ['__printer__', 'printer'],
    ['a.b.c', 'a-b-c'],
    ['-edge-', 'edge'],
    ['x'.repeat(70), 'x'.repeat(63)],
    [`${'a'.repeat(62)}-b`, 'a'.repeat(62)],
    ['123', '123'],
    ['!!!', null],
    ['', null],
    ['日本', null],
  ])('%j -> %j', (raw, label) => {
    expect(sanitizeLabel(raw)).toBe(label);
  });
});

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
      { deviceId: KEY.phone, interface: 'wg1', label: 'laptop' },
      { deviceId: KEY.laptop, interface: 'wg0', label: 'laptop' },
      { deviceId: KEY.office, interface: 'wg0', label: 'office' },
      { deviceId: KEY.router, interface: 'wg0', label: 'laptop' },
    ]);
    expect(labels.get(labelKey('wg0', KEY.laptop))).toBe('laptop');
    expect(labels.get(labelKey('wg0', KEY.office))).toBe('office');
    const tagged = [labels.get(labelKey('wg0', KEY.router)), labels.get(labelKey('wg1', KEY.phone))];
    for (const label of tagged) expect(label).toMatch(/^laptop-[0-9a-f]{6}$/);
    expect(new Set(labels.values()).size).toBe(4);
  });

  it('is deterministic whatever the input order, and a tag does not move when other peers come and go', () => {
    const a = { deviceId: KEY.laptop, interface: 'wg0', label: 'pc' };
    const b = { deviceId: KEY.phone, interface: 'wg0', label: 'pc' };
    const c = { deviceId: KEY.router, interface: 'wg0', label: 'pc' };
    const forward = assignLabels([a, b, c]);
    expect(assignLabels([c, b, a])).toEqual(forward);
    const withoutB = assignLabels([a, c]);
    expect(withoutB.get(labelKey('wg0', KEY.router))).toBe(forward.get(labelKey('wg0', KEY.router)));
  });

  it('a tagged label never takes a label another peer asked for, and stays within 63 characters', () => {
    const long = 'l'.repeat(63);
    const labels = assignLabels([
      { deviceId: KEY.laptop, interface: 'wg0', label: long },
      { deviceId: KEY.phone, interface: 'wg0', label: long },
    ]);
    const tagged = labels.get(labelKey('wg0', KEY.phone)) ?? '';
    expect(tagged.length).toBeLessThanOrEqual(63);
    expect(tagged).toMatch(/^l+-[0-9a-f]{6}$/);
  });
});
