import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ResolveService, type ResolveResult } from './resolve.service.js';

/** `GET /api/v1/resolve/:name[?type=A]`: open, like the other reads. */
@Controller('api/v1/resolve')
export class ResolveController {
  constructor(@Inject(ResolveService) private readonly resolver: ResolveService) {}

  @Get(':name')
  async resolve(
    @Param('name') name: string,
    @Query() query: Record<string, unknown> | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResolveResult['body']> {
    const result = await this.resolver.resolve(name, query ?? {});
    reply.status(result.status);
    return result.body;
  }
}
