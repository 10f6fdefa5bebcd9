import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { ReplyLike } from './health.controller.js';
import { RUNTIME, type ServiceRuntime } from './types.js';

@Controller()
export class MetricsController {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}

  /** Prometheus text exposition of runtime.metrics (process metrics + whatever services registered), then runtime.metricsSources. */
  @Get('metrics')
  async metrics(@Res({ passthrough: true }) reply: ReplyLike): Promise<string> {
    const own = await this.runtime.metrics.metrics();
    const more = await this.runtime.metricsSources.collect((name, err) =>
      this.runtime.logger.warn({ source: name, err }, 'metrics source failed; left out of this scrape'),
    );
    const text = more.length === 0 ? own : [own, ...more].join('\n');
    reply.header('content-type', this.runtime.metrics.contentType);
    reply.header('cache-control', 'no-store');
    return text;
  }
}
