/** Stable error codes of the events gateway. */
export type EventsGatewayErrorCode =
  | 'GHOSTDNS_GATEWAY_BAD_FILTER'
  | 'GHOSTDNS_GATEWAY_INVALID_EVENT'
  | 'GHOSTDNS_GATEWAY_NO_HTTP_SERVER';

export class EventsGatewayError extends Error {
  override readonly name = 'EventsGatewayError';

  constructor(
    readonly code: EventsGatewayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
