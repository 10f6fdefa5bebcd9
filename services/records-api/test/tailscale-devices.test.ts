import { encodeTailscaleDevices, TAILSCALE_DEVICES_KEY, type TailscaleDeviceView } from '@ghostdns/contracts';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/errors.js';
import { TailscaleDevicesService } from '../src/tailscale/tailscale-devices.service.js';

const device: TailscaleDeviceView = {
  node_id: 'n1', name: 'nas', fqdn: 'nas.tail1234.ts.net', tailscale_ip: '100.90.1.3', ipv4: '100.90.1.3', ipv6: null,
  online: true, os: 'linux', last_seen: null, tags: [], funnel: null,
};

function serviceOver(get: (key: string) => Promise<Buffer | null>): TailscaleDevicesService {
  return new TailscaleDevicesService({ get });
}

describe('TailscaleDevicesService', () => {
  it('serves the list presence-service stored', async () => {
    const keys: string[] = [];
    const service = serviceOver(async (key) => {
      keys.push(key);
      return encodeTailscaleDevices([device], new Date());
    });
    expect(await service.list()).toEqual([device]);
    expect(keys).toEqual([TAILSCALE_DEVICES_KEY]);
  });

  it('answers an empty tailnet when no list is stored (Tailscale off, or the list expired)', async () => {
    expect(await serviceOver(async () => null).list()).toEqual([]);
  });

  it.each<[string, () => Promise<Buffer | null>]>([
    ['the store fails', () => Promise.reject(new Error('redis down'))],
    ['the stored bytes are not a device list', async () => Buffer.from('garbage')],
  ])('answers 503 GHOSTDNS_API_DEVICES_UNAVAILABLE when %s', async (_name, get) => {
    const error: unknown = await serviceOver(get).list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'GHOSTDNS_API_DEVICES_UNAVAILABLE', status: 503 });
  });
});
