import { decodeTailscaleDevices, TAILSCALE_DEVICES_KEY, type TailscaleDeviceView } from '@ghostdns/contracts';
import { ApiError } from '../errors.js';

/** The part of the runtime's key-value store this reads. */
export interface DeviceListSource {
  get(key: string): Promise<Buffer | null>;
}

/**
 * GET /api/v1/tailscale/devices: the tailnet as presence-service last read it
 * (it writes the list to the shared store, Redis when distributed). No list —
 * Tailscale not configured, or presence-service gone long enough for the list
 * to expire — is an empty tailnet, not an error; an unreadable store is 503.
 */
export class TailscaleDevicesService {
  constructor(private readonly store: DeviceListSource) {}

  async list(): Promise<TailscaleDeviceView[]> {
    let raw: Buffer | null;
    try {
      raw = await this.store.get(TAILSCALE_DEVICES_KEY);
    } catch (error) {
      throw new ApiError('GHOSTDNS_API_DEVICES_UNAVAILABLE', 503, 'the device list is unavailable', { cause: error });
    }
    if (raw === null) return [];
    const devices = decodeTailscaleDevices(raw);
    if (devices === null) throw new ApiError('GHOSTDNS_API_DEVICES_UNAVAILABLE', 503, 'the stored device list is unreadable');
    return devices;
  }
}
