import { expect } from 'vitest';
import { ApiError } from '../../src/errors.js';

/** The ApiError `promise` rejects with (fails the test when it resolves or rejects with anything else). */
export async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

/** A newest-first keyset source (logs, security events): records each query, answers its rows up to the limit, or fails. */
export class NewestStub<Q extends { limit: number }, R> {
  calls: Q[] = [];
  rows: R[] = [];
  fail = false;
  async newest(query: Q): Promise<R[]> {
    this.calls.push(query);
    if (this.fail) throw new Error('connection refused 10.0.0.1');
    return this.rows.slice(0, query.limit);
  }
}
