import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenService } from '../auth/token.service.js';
import { RecordsService, type RecordResponse } from './records.service.js';

/** `<path>?<query with limit and offset replaced>`: the rel="next" target. */
function nextLink(request: FastifyRequest, next: { limit: number; offset: number }): string {
  const url = new URL(request.url, 'http://local');
  url.searchParams.set('limit', String(next.limit));
  url.searchParams.set('offset', String(next.offset));
  return `<${url.pathname}${url.search}>; rel="next"`;
}

/**
 * Records CRUD. Reads are open (like /api/v1/stats); every write needs a
 * token with the write scope. Errors are ApiErrors, answered by the runtime's filter.
 */
@Controller('api/v1/records')
export class RecordsController {
  constructor(
    @Inject(RecordsService) private readonly records: RecordsService,
    @Inject(TokenService) private readonly tokens: TokenService,
  ) {}

  /** `GET /api/v1/records[?name=&type=&zone=&limit=&offset=]`: a JSON array; `Link: <…>; rel="next"` when more follow. */
  @Get()
  async list(
    @Query() query: Record<string, unknown> | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RecordResponse[]> {
    const { records, next } = await this.records.list(query ?? {});
    if (next !== null) reply.header('link', nextLink(request, next));
    return records;
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<RecordResponse> {
    return this.records.get(id);
  }

  /** The seed's Service Registration call (and its service-mesh variant, which arrives as text/plain). */
  @Post()
  async post(
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RecordResponse | { deleted: true }> {
    const ctx = await this.tokens.writer(request);
    const result = await this.records.post(body, ctx);
    reply.status(result.status);
    return result.record ?? { deleted: true };
  }

  @Put(':id')
  async put(@Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest): Promise<RecordResponse> {
    const ctx = await this.tokens.writer(request);
    return this.records.put(id, body, ctx);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    const ctx = await this.tokens.writer(request);
    await this.records.delete(id, ctx);
  }
}
