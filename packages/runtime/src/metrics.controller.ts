import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { ReplyLike } from './health.controller.js';
import { RUNTIME, type ServiceRuntime } from './types.js';

@Controller()
export class MetricsController {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}

  /** Prometheus text exposition of runtime.metrics (process metrics + whatever services registered). */
  @Get('metrics')
  async metrics(@Res({ passthrough: true }) reply: ReplyLike): Promise<string> {
    const text = await this.runtime.metrics.metrics();
    reply.header('content-type', this.runtime.metrics.contentType);
    reply.header('cache-control', 'no-store');
    return text;
  }
}
