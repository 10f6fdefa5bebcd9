/** pg pool records-api reads through (runtime.requireDatabase().pool). */
export const RECORDS_API_DB_POOL = Symbol.for('ghostdns.records-api.db-pool');
/** RecordsStore (PgRecordsStore). */
export const RECORDS_STORE = Symbol.for('ghostdns.records-api.records-store');
/** TokenStore (PgTokenStore). */
export const TOKEN_STORE = Symbol.for('ghostdns.records-api.token-store');
/** PresenceStore (PgPresenceStore). */
export const PRESENCE_STORE = Symbol.for('ghostdns.records-api.presence-store');
/** BlocklistsStore (PgBlocklistsStore). */
export const BLOCKLISTS_STORE = Symbol.for('ghostdns.records-api.blocklists-store');
/** ResultCache of the dashboard reads, or null (api.resultCacheSeconds = 0). */
export const RESULT_CACHE = Symbol.for('ghostdns.records-api.result-cache');
