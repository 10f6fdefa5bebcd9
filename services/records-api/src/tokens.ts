/** pg pool records-api reads through (runtime.requireDatabase().pool). */
export const RECORDS_API_DB_POOL = Symbol.for('ghostdns.records-api.db-pool');
