export { RecordsApiModule } from './module.js';
export { RECORDS_API_DB_POOL } from './tokens.js';
export { StatsController } from './stats/stats.controller.js';
export { StatsService, type StatsResponse, type StatsSource, type Clock } from './stats/stats.service.js';
export {
  StatsRepository,
  QUERY_STATS_SQL,
  TAILSCALE_IPV4,
  TAILSCALE_IPV6,
  TAILSCALE_DOMAIN_SUFFIX,
  type QueryStatsRow,
} from './stats/stats.repository.js';
export {
  parseStatsWindow,
  parseIsoTimestamp,
  DEFAULT_WINDOW_MINUTES,
  MAX_WINDOW_MINUTES,
  type StatsWindow,
} from './stats/window.js';
export { ApiError, invalidParameter, type ApiErrorCode, type ApiErrorBody } from './errors.js';
