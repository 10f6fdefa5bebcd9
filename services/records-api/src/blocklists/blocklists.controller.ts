import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenService } from '../auth/token.service.js';
import { linkNext } from '../http/link.js';
import { BlocklistsService, type BlocklistEntryResponse, type BlocklistResponse } from './blocklists.service.js';

type Query = Record<string, unknown> | undefined;

/**
 * Blocklists/allowlists every resolver-edge reads, and custom domains. Reads
 * are open like /api/v1/records; every write needs the write scope. Errors are
 * ApiErrors, answered by the runtime's filter. `entries` is a static segment,
 * so Fastify routes it before `:id`.
 */
@Controller('api/v1/blocklists')
export class BlocklistsController {
  constructor(
    @Inject(BlocklistsService) private readonly blocklists: BlocklistsService,
    @Inject(TokenService) private readonly tokens: TokenService,
  ) {}

  /** `GET /api/v1/blocklists[?kind=&limit=&cursor=]`: a bare JSON array; `Link: <…>; rel="next"`. */
  @Get()
  async lists(@Query() query: Query, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<BlocklistResponse[]> {
    const page = await this.blocklists.lists(query ?? {});
    linkNext(request, reply, page.next);
    return page.items;
  }

  @Post()
  async create(@Body() body: unknown, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<BlocklistResponse> {
    const ctx = await this.tokens.writer(request);
    const list = await this.blocklists.createList(body, ctx);
    reply.status(201);
    return list;
  }

  /** `GET /api/v1/blocklists/entries[?kind=&limit=&cursor=]`: a bare JSON array; `Link: <…>; rel="next"`. */
  @Get('entries')
  async entries(@Query() query: Query, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<BlocklistEntryResponse[]> {
    const page = await this.blocklists.entries(query ?? {});
    linkNext(request, reply, page.next);
    return page.items;
  }

  @Post('entries')
  async createEntry(@Body() body: unknown, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<BlocklistEntryResponse> {
    const ctx = await this.tokens.writer(request);
    const entry = await this.blocklists.createEntry(body, ctx);
    reply.status(201);
    return entry;
  }

  @Delete('entries/:id')
  @HttpCode(204)
  async deleteEntry(@Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    const ctx = await this.tokens.writer(request);
    await this.blocklists.deleteEntry(id, ctx);
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<BlocklistResponse> {
    return this.blocklists.getList(id);
  }

  @Put(':id')
  async put(@Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest): Promise<BlocklistResponse> {
    const ctx = await this.tokens.writer(request);
    return this.blocklists.putList(id, body, ctx);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    const ctx = await this.tokens.writer(request);
    await this.blocklists.deleteList(id, ctx);
  }
}
