export type TestkitErrorCode =
  | 'GHOSTDNS_TESTKIT_COMPONENT_MISSING'
  | 'GHOSTDNS_TESTKIT_COMPONENT_START'
  | 'GHOSTDNS_TESTKIT_TIMEOUT';

export class TestkitError extends Error {
  override readonly name = 'TestkitError';
  readonly code: TestkitErrorCode;

  constructor(code: TestkitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export function describeError(err: unknown): string {
  if (err instanceof AggregateError) return err.errors.map(describeError).join('; ') || err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
