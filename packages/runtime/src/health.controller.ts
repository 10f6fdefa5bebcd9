import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import type { ProbeResult, ReadinessReporter } from './readiness.js';
import { READINESS } from './tokens.js';

/** The bit of a Fastify (or Express) reply the runtime's controllers touch. */
export interface ReplyLike {
  status(code: number): unknown;
  header(name: string, value: string): unknown;
}

export interface ReadyzBody {
  status: 'ready' | 'not_ready' | 'shutting_down';
  probes: Record<string, ProbeResult>;
}

@Controller()
export class HealthController {
  constructor(@Inject(READINESS) private readonly readiness: ReadinessReporter) {}

  /** Liveness: 200 while the process can serve HTTP at all. */
  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: 200 only while every registered probe says true; 503 with each probe's result otherwise. */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) reply: ReplyLike): Promise<ReadyzBody> {
    const report = await this.readiness.check();
    reply.status(report.ready ? 200 : 503);
    reply.header('cache-control', 'no-store');
    return {
      status: report.ready ? 'ready' : report.shuttingDown ? 'shutting_down' : 'not_ready',
      probes: report.probes,
    };
  }
}
