/** Stable error codes of records-api (GHOSTDNS_API_*). */
export type ApiErrorCode = 'GHOSTDNS_API_INVALID_PARAMETER' | 'GHOSTDNS_API_STATS_UNAVAILABLE';

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

export function invalidParameter(parameter: string, problem: string): ApiError {
  return new ApiError('GHOSTDNS_API_INVALID_PARAMETER', 400, `query parameter '${parameter}' ${problem}`);
}

/** The body of every error response. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}
