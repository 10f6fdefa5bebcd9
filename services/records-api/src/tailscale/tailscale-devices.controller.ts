import { Controller, Get, Inject } from '@nestjs/common';
import type { TailscaleDeviceView } from '@ghostdns/contracts';
import { TailscaleDevicesService } from './tailscale-devices.service.js';

@Controller('api/v1/tailscale')
export class TailscaleDevicesController {
  constructor(@Inject(TailscaleDevicesService) private readonly devices: TailscaleDevicesService) {}

  /** A bare JSON array, as GhostScale's `devices.forEach` reads it. */
  @Get('devices')
  list(): Promise<TailscaleDeviceView[]> {
    return this.devices.list();
  }
}
