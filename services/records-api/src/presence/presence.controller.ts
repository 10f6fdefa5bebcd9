import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Put, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenService } from '../auth/token.service.js';
import { linkNext } from '../http/link.js';
import { PresenceService, type PresenceMappingResponse, type PresencePeerResponse } from './presence.service.js';

type Query = Record<string, unknown> | undefined;

/**
 * Presence peers and their hostname mappings. Unlike the other reads these
 * need a token (read scope): they list device keys, tunnel addresses and who is
 * online right now. Writes need the write scope. Errors are ApiErrors, answered
 * by the runtime's filter.
 */
@Controller('api/v1/presence')
export class PresenceController {
  constructor(
    @Inject(PresenceService) private readonly presence: PresenceService,
    @Inject(TokenService) private readonly tokens: TokenService,
  ) {}

  /** `GET /api/v1/presence/peers[?online=&source=&limit=&cursor=]`: a bare JSON array; `Link: <…>; rel="next"`. */
  @Get('peers')
  async peers(@Query() query: Query, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<PresencePeerResponse[]> {
    await this.tokens.authorize(request.headers, 'read');
    const page = await this.presence.peers(query ?? {});
    linkNext(request, reply, page.next);
    return page.items;
  }

  /** `GET /api/v1/presence/mappings[?source=&limit=&cursor=]`: a bare JSON array; `Link: <…>; rel="next"`. */
  @Get('mappings')
  async mappings(@Query() query: Query, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<PresenceMappingResponse[]> {
    await this.tokens.authorize(request.headers, 'read');
    const page = await this.presence.mappings(query ?? {});
    linkNext(request, reply, page.next);
    return page.items;
  }

  /** 201 when the mapping is new, 200 when it was replaced (or already held these values). */
  @Put('mappings/:source/:deviceId')
  async put(
    @Param('source') source: string,
    @Param('deviceId') deviceId: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PresenceMappingResponse> {
    const ctx = await this.tokens.writer(request);
    const result = await this.presence.put(source, deviceId, body, ctx);
    reply.status(result.status);
    return result.mapping;
  }

  @Delete('mappings/:source/:deviceId')
  @HttpCode(204)
  async delete(@Param('source') source: string, @Param('deviceId') deviceId: string, @Req() request: FastifyRequest): Promise<void> {
    const ctx = await this.tokens.writer(request);
    await this.presence.delete(source, deviceId, ctx);
  }
}

