import { describe, expect, it } from 'vitest';
import { decodeTailscaleDevices, encodeTailscaleDevices, type TailscaleDeviceView } from '../src/index.js';

const device: TailscaleDeviceView = {
  node_id: 'nNAS3CNTRL', name: 'nas', fqdn: 'nas.tail1234.ts.net', tailscale_ip: '100.90.1.3', ipv4: '100.90.1.3',
  ipv6: 'fd7a:115c:a1e0::3', online: true, os: 'linux', last_seen: '2026-11-23T10:00:00.000Z', tags: ['tag:storage'], funnel: null,
};

describe('stored Tailscale device list', () => {
  it('round-trips every field, nulls included', () => {
    const bare: TailscaleDeviceView = { ...device, fqdn: null, tailscale_ip: null, ipv4: null, ipv6: null, online: null, os: null, last_seen: null, tags: [], funnel: false };
    expect(decodeTailscaleDevices(encodeTailscaleDevices([device, bare], new Date()))).toEqual([device, bare]);
  });

  it.each<[string, string]>([
    ['not JSON', '{devices'],
    ['another version', JSON.stringify({ version: 2, devices: [] })],
    ['no device array', JSON.stringify({ version: 1, devices: {} })],
    ['a device without node_id', JSON.stringify({ version: 1, devices: [{ ...device, node_id: 7 }] })],
    ['a tag that is not a string', JSON.stringify({ version: 1, devices: [{ ...device, tags: [1] }] })],
    ['online as a string', JSON.stringify({ version: 1, devices: [{ ...device, online: 'yes' }] })],
  ])('refuses %s', (_name, raw) => {
    expect(decodeTailscaleDevices(Buffer.from(raw))).toBeNull();
  });
});
