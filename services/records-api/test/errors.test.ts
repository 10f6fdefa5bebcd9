// records-api has no exception filter of its own: the runtime's global one answers ApiError.
import { toErrorResponse } from '@ghostdns/runtime';
import { describe, expect, it } from 'vitest';
import { ApiError, invalidParameter } from '../src/errors.js';

describe("ApiError through the runtime's toErrorResponse", () => {
  it('400 with its GHOSTDNS_API_* code and message', () => {
    expect(toErrorResponse(invalidParameter('from', 'must not be empty'))).toStrictEqual({
      status: 400,
      body: { error: { code: 'GHOSTDNS_API_INVALID_PARAMETER', message: "query parameter 'from' must not be empty" } },
    });
  });

  it('503 with its own message; neither the cause nor a stack reaches the body', () => {
    const cause = new Error('password authentication failed for user "ghost"');
    const response = toErrorResponse(new ApiError('GHOSTDNS_API_STATS_UNAVAILABLE', 503, 'query statistics are unavailable', { cause }));
    expect(response).toStrictEqual({
      status: 503,
      body: { error: { code: 'GHOSTDNS_API_STATS_UNAVAILABLE', message: 'query statistics are unavailable' } },
    });
    expect(JSON.stringify(response)).not.toMatch(/password|at /);
  });
});
