/** Stable error codes of the bus; callers and logs match on these, never on messages. */
export const BusErrorCode = {
  InvalidOptions: 'GHOSTDNS_BUS_INVALID_OPTIONS',
  NotConnected: 'GHOSTDNS_BUS_NOT_CONNECTED',
  Closed: 'GHOSTDNS_BUS_CLOSED',
  ConnectFailed: 'GHOSTDNS_BUS_CONNECT_FAILED',
  EncodeFailed: 'GHOSTDNS_BUS_ENCODE_FAILED',
  PublishFailed: 'GHOSTDNS_BUS_PUBLISH_FAILED',
  SubscribeFailed: 'GHOSTDNS_BUS_SUBSCRIBE_FAILED',
  DuplicateSubscription: 'GHOSTDNS_BUS_DUPLICATE_SUBSCRIPTION',
  HandlerFailed: 'GHOSTDNS_BUS_HANDLER_FAILED',
  CommitFailed: 'GHOSTDNS_BUS_COMMIT_FAILED',
  DeadLetterFailed: 'GHOSTDNS_BUS_DEAD_LETTER_FAILED',
  UnknownTopic: 'GHOSTDNS_BUS_UNKNOWN_TOPIC',
} as const;

export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

export class BusError extends Error {
  override readonly name = 'BusError';
  readonly code: BusErrorCode;

  constructor(code: BusErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export function isBusError(err: unknown, code?: BusErrorCode): err is BusError {
  return err instanceof BusError && (code === undefined || err.code === code);
}

/** A short, stack-free description of any thrown value, for logs and dead letters. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
