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
export { ApiError, invalidParameter, invalidField, type ApiErrorCode, type ApiErrorBody } from './errors.js';
export { RECORDS_STORE, TOKEN_STORE, PRESENCE_STORE, BLOCKLISTS_STORE } from './tokens.js';
export { RecordsController } from './records/records.controller.js';
export { RecordsService, toResponse, type RecordResponse, type WriteContext, type PostResult, type RecordsInstruments } from './records/records.service.js';
export { PgRecordsStore, type RecordRow, type RecordsStore, type RecordsTx, type AuditEntry } from './records/records.repository.js';
export * from './records/validation.js';
export {
  TokenService, actorOf, tokenFromHeaders, ADMIN_TOKEN_FILE, type Principal, type CreatedToken, type AuthHeaders,
} from './auth/token.service.js';
export { PgTokenStore, type TokenRow, type TokenStore, type NewTokenRow } from './auth/token.repository.js';
export { generateToken, hashToken, grants, isScope, looksLikeToken, SCOPES, TOKEN_PREFIX, type Scope, type NewToken } from './auth/token-crypto.js';
export { RateLimiter } from './http/rate-limiter.js';
export { installApiHooks, isApiPath, type ApiHttpSettings } from './http/hooks.js';
export { LogsService, type LogEntry, DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT } from './analytics/logs.service.js';
export { LogsRepository, LOGS_SQL } from './analytics/logs.repository.js';
export { AnalyticsService, type AuditResponse, type NodeResponse, type DeviceActivity } from './analytics/analytics.service.js';
export { AnalyticsRepository, type AnalyticsSource } from './analytics/analytics.repository.js';
export { ResolveService, RESOLVE_TYPES, type ResolveResponse, type AnswerSource } from './resolve/resolve.service.js';
export { udpExchange, targetOf, type DnsExchange } from './resolve/dns-exchange.js';
export { OPENAPI_FILE, openApiDocument } from './docs/docs.controller.js';
export {
  PresenceService, encodeDeviceCursor, decodeDeviceCursor, DEFAULT_PRESENCE_LIMIT, MAX_PRESENCE_LIMIT,
  type PresencePeerResponse, type PresenceMappingResponse, type Page, type PutResult,
} from './presence/presence.service.js';
export {
  PgPresenceStore, LATEST_PEERS_SQL, MAPPINGS_SQL,
  type PresenceStore, type MappingTx, type MappingRow, type MappingValues, type PeerStateRow, type PeerQuery, type DevicePage,
} from './presence/presence.repository.js';
export {
  PRESENCE_SOURCES, parseMappingPut, parseDeviceKey, parseSource, isDeviceId,
  type PresenceSourceId, type DeviceKey, type MappingInput,
} from './presence/validation.js';
export { SecurityEventsController } from './security/security-events.controller.js';
export {
  SecurityEventsService, toSecurityEventEntry, DEFAULT_SECURITY_EVENTS_LIMIT, MAX_SECURITY_EVENTS_LIMIT, SECURITY_SEVERITIES,
  type SecurityEventEntry, type SecurityEventsSource, type SecurityEventsPage,
} from './security/security-events.service.js';
export {
  SecurityEventsRepository, SECURITY_EVENTS_SQL, type SecurityEventQuery, type SecurityEventRow,
} from './security/security-events.repository.js';
export { BlocklistsController } from './blocklists/blocklists.controller.js';
export {
  BlocklistsService, DEFAULT_BLOCKLIST_LIMIT, MAX_BLOCKLIST_LIMIT,
  type BlocklistResponse, type BlocklistEntryResponse, type BlocklistsInstruments,
} from './blocklists/blocklists.service.js';
export { PgBlocklistsStore, type BlocklistsStore, type BlocklistsTx, type ListRow, type EntryRow, type KeyPage } from './blocklists/blocklists.repository.js';
export {
  POLICY_KINDS, LIST_FORMATS, parseListPost, parseListPut, parseEntryPost, normalizeSource, normalizeEntryDomain,
  type PolicyKindId, type ListFormatId, type ListValues, type EntryValues,
} from './blocklists/validation.js';
