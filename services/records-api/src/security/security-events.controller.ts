import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { linkNext } from '../http/link.js';
import { SecurityEventsService, type SecurityEventEntry } from './security-events.service.js';

type Query = Record<string, unknown> | undefined;

/**
 * What the detectors found. Open like /api/v1/logs, which lists the same clients and names
 * query by query. Errors are ApiErrors, answered by the runtime's global filter.
 */
@Controller('api/v1/security')
export class SecurityEventsController {
  constructor(@Inject(SecurityEventsService) private readonly security: SecurityEventsService) {}

  /** `GET /api/v1/security/events[?minutes=&kind=&severity=&client=&limit=&cursor=]`: a bare JSON array, newest first; `Link: <…>; rel="next"`. */
  @Get('events')
  async events(
    @Query() query: Query,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SecurityEventEntry[]> {
    const page = await this.security.page(query ?? {});
    linkNext(request, reply, page.next);
    return page.entries;
  }
}
