/**
 * Stable error codes of @ghostdns/contracts. Consumers branch on `code` (for
 * instance to dead-letter a message), never on the message text.
 */
export type ContractErrorCode =
  /** The first byte of a message is not the Confluent wire-format magic byte 0. */
  | 'GHOSTDNS_CONTRACT_BAD_MAGIC'
  /** The message is shorter than the 5-byte wire-format header. */
  | 'GHOSTDNS_CONTRACT_TRUNCATED'
  /** Nobody (built-in table or registry) knows the writer schema id in the header. */
  | 'GHOSTDNS_CONTRACT_UNKNOWN_SCHEMA_ID'
  /** The Avro body does not decode with the writer schema, or the writer schema cannot be read as the topic's schema. */
  | 'GHOSTDNS_CONTRACT_AVRO_DECODE'
  /** A value handed to encode does not match the topic's schema; the message names the field paths. */
  | 'GHOSTDNS_CONTRACT_INVALID_VALUE'
  /** encode/decode was called before `await codec.init()`. */
  | 'GHOSTDNS_CONTRACT_NOT_INITIALIZED'
  /** The schema registry refused a request or could not be reached. */
  | 'GHOSTDNS_CONTRACT_REGISTRY_FAILED';

export class ContractError extends Error {
  override readonly name = 'ContractError';

  constructor(
    readonly code: ContractErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
