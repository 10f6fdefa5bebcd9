import { Controller, Get, Inject, Query } from '@nestjs/common';
import { StatsService, type StatsResponse } from './stats.service.js';

// No filter of its own: ApiError carries a GHOSTDNS_API_* `code` and a 4xx/5xx `status`, which the
// runtime's global exception filter turns into that status and `{ error: { code, message } }`.
@Controller('api/v1')
export class StatsController {
  constructor(@Inject(StatsService) private readonly stats: StatsService) {}

  /** `GET /api/v1/stats[?minutes=N | ?from=ISO&to=ISO]` */
  @Get('stats')
  async getStats(@Query() query: Record<string, unknown> | undefined): Promise<StatsResponse> {
    return this.stats.getStats(query ?? {});
  }
}
