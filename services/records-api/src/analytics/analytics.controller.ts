import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { linkNext } from '../http/link.js';
import {
  AnalyticsService, type AuditResponse, type DeviceActivity, type NodeResponse, type TopBlocked, type TopClient, type TopDomain, type TopResponse,
} from './analytics.service.js';
import { LogsService, type LogEntry } from './logs.service.js';

type Query = Record<string, unknown> | undefined;

/**
 * Read-only operator endpoints; open like /api/v1/stats. Errors are ApiErrors,
 * answered by the runtime's global filter.
 */
@Controller('api/v1')
export class AnalyticsController {
  constructor(
    @Inject(LogsService) private readonly logs: LogsService,
    @Inject(AnalyticsService) private readonly analytics: AnalyticsService,
  ) {}

  /** `GET /api/v1/logs[?limit=&minutes=&client=&domain=&cursor=]`: a bare JSON array, newest first; `Link: <…>; rel="next"`. */
  @Get('logs')
  async getLogs(
    @Query() query: Query,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LogEntry[]> {
    const page = await this.logs.page(query ?? {});
    linkNext(request, reply, page.next);
    return page.entries;
  }

  /** `GET /api/v1/audit?from=&to=[&limit=]` */
  @Get('audit')
  async getAudit(@Query() query: Query): Promise<AuditResponse> {
    return this.analytics.audit(query ?? {});
  }

  @Get('top/domains')
  async topDomains(@Query() query: Query): Promise<TopResponse<TopDomain | TopClient | TopBlocked>> {
    return this.analytics.top('domains', query ?? {});
  }

  @Get('top/clients')
  async topClients(@Query() query: Query): Promise<TopResponse<TopDomain | TopClient | TopBlocked>> {
    return this.analytics.top('clients', query ?? {});
  }

  @Get('top/blocked')
  async topBlocked(@Query() query: Query): Promise<TopResponse<TopDomain | TopClient | TopBlocked>> {
    return this.analytics.top('blocked', query ?? {});
  }

  /** `GET /api/v1/devices/activity[?window=&limit=&domains=]` */
  @Get('devices/activity')
  async devices(@Query() query: Query): Promise<TopResponse<DeviceActivity>> {
    return this.analytics.deviceActivity(query ?? {});
  }

  /** `GET /api/v1/nodes`: a bare JSON array. */
  @Get('nodes')
  async nodes(@Query() query: Query): Promise<NodeResponse[]> {
    return this.analytics.nodes(query ?? {});
  }
}
