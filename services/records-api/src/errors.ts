/** Stable error codes of records-api (GHOSTDNS_API_*). */
export type ApiErrorCode =
  | 'GHOSTDNS_API_INVALID_PARAMETER'
  | 'GHOSTDNS_API_INVALID_BODY'
  | 'GHOSTDNS_API_UNAUTHORIZED'
  | 'GHOSTDNS_API_FORBIDDEN'
  | 'GHOSTDNS_API_RECORD_NOT_FOUND'
  | 'GHOSTDNS_API_ZONE_CONFLICT'
  | 'GHOSTDNS_API_PAYLOAD_TOO_LARGE'
  | 'GHOSTDNS_API_RATE_LIMITED'
  | 'GHOSTDNS_API_STATS_UNAVAILABLE'
  | 'GHOSTDNS_API_RECORDS_UNAVAILABLE'
  | 'GHOSTDNS_API_TOKENS_UNAVAILABLE'
  | 'GHOSTDNS_API_TOKEN_NOT_FOUND'
  | 'GHOSTDNS_API_ANALYTICS_UNAVAILABLE'
  | 'GHOSTDNS_API_RESOLVER_UNAVAILABLE'
  | 'GHOSTDNS_API_NAME_NOT_FOUND'
  | 'GHOSTDNS_API_RESOLVE_FAILED'
  | 'GHOSTDNS_API_DEVICES_UNAVAILABLE'
  | 'GHOSTDNS_API_MAPPING_NOT_FOUND'
  | 'GHOSTDNS_API_PRESENCE_UNAVAILABLE'
  | 'GHOSTDNS_API_SECURITY_UNAVAILABLE'
  | 'GHOSTDNS_API_BLOCKLIST_NOT_FOUND'
  | 'GHOSTDNS_API_BLOCKLIST_ENTRY_NOT_FOUND'
  | 'GHOSTDNS_API_BLOCKLIST_CONFLICT'
  | 'GHOSTDNS_API_BLOCKLISTS_UNAVAILABLE';

/**
 * An error meant for the HTTP client: its code and message are safe to show; its cause is not.
 * The runtime's global exception filter answers it with `status` and `{ error: { code, message } }`
 * (it maps any error whose `code` is GHOSTDNS_* and whose `status` is 400-599 that way).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: ApiErrorCode,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function invalidParameter(parameter: string, problem: string, location: 'query' | 'path' = 'query'): ApiError {
  return new ApiError('GHOSTDNS_API_INVALID_PARAMETER', 400, `${location} parameter '${parameter}' ${problem}`);
}

/** 400 naming the body field (dotted path, e.g. `metadata.service`). */
export function invalidField(field: string, problem: string): ApiError {
  return new ApiError('GHOSTDNS_API_INVALID_BODY', 400, field === '' ? `request body ${problem}` : `field '${field}' ${problem}`);
}

export function unauthorized(message = 'an API token is required (Authorization: Bearer <token> or X-API-Key)'): ApiError {
  return new ApiError('GHOSTDNS_API_UNAUTHORIZED', 401, message);
}

export function forbidden(scope: string): ApiError {
  return new ApiError('GHOSTDNS_API_FORBIDDEN', 403, `this token lacks the '${scope}' scope`);
}

export function recordNotFound(id: string): ApiError {
  return new ApiError('GHOSTDNS_API_RECORD_NOT_FOUND', 404, `record ${id} does not exist`);
}

export function zoneConflict(message: string): ApiError {
  return new ApiError('GHOSTDNS_API_ZONE_CONFLICT', 409, message);
}

/** 503 for the read endpoints over dns_queries and the rollups (logs, audit, top, nodes, devices). */
export function analyticsUnavailable(what: string, cause: unknown): ApiError {
  return new ApiError('GHOSTDNS_API_ANALYTICS_UNAVAILABLE', 503, `${what} is unavailable`, { cause });
}

/** The body of every error response. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}
