import type { DnstapMessageType } from '@ghostdns/contracts';

/** Why a dnstap frame or message did not become an event. */
export type DnstapSkipReason =
  /** The frame is not a decodable Dnstap protobuf. */
  | 'bad_protobuf'
  /** A Dnstap payload other than MESSAGE, or MESSAGE without a Message. */
  | 'not_a_message'
  /** Message.type outside dnstap.proto's enum. */
  | 'unknown_message_type'
  /** STUB_* / TOOL_*: logged by a stub or a tool about itself, not by a server about its clients. */
  | 'unsupported_type'
  /** Neither query_message nor response_message has a readable header and question. */
  | 'bad_dns_message'
  /** No query_address / query_port, or an address that is neither 4 nor 16 bytes. */
  | 'no_client_address'
  /** Neither query_time nor response_time. */
  | 'no_time'
  /** The stream (connection or file) ended inside a frame. */
  | 'truncated';

/** What became of a client query: answered (a *_RESPONSE), or its *_QUERY timed out / was evicted alone. */
export type DnstapEventKind = 'response' | 'unanswered';

/** How a Frame Streams connection ended. */
export type DnstapCloseReason =
  /** STOP received and FINISH sent (the sender shut down cleanly). */
  | 'finished'
  /** The sender closed without STOP. */
  | 'eof'
  /** The stream could not be framed any more, the handshake failed or the content type is not dnstap. */
  | 'protocol_error'
  /** Socket error. */
  | 'socket_error'
  /** The receiver was stopped. */
  | 'shutdown';

/**
 * What the dnstap tap measures, named as the Prometheus series it stands for.
 * The tap only sees this interface (no-op by default); the lead binds it to
 * prom-client.
 */
export interface DnstapMetrics {
  /** ghostdns_tap_dnstap_frames_total: data frames received (files included). */
  frame(): void;
  /** ghostdns_tap_dnstap_messages_total{type}: decoded dnstap messages by Message.Type. */
  message(type: DnstapMessageType): void;
  /** ghostdns_tap_dnstap_events_total{kind}: query events offered to the sink. */
  event(kind: DnstapEventKind): void;
  /** ghostdns_tap_dnstap_decode_errors_total{reason}: frames or messages skipped. */
  decodeError(reason: DnstapSkipReason): void;
  /** ghostdns_tap_dnstap_connections_total: Frame Streams connections accepted. */
  connectionOpened(): void;
  /** ghostdns_tap_dnstap_connections_closed_total{reason} */
  connectionClosed(reason: DnstapCloseReason): void;
  /** ghostdns_tap_dnstap_pending_queries (gauge): queries waiting for their response. */
  pendingQueries(count: number): void;
}

export const noopDnstapMetrics: DnstapMetrics = {
  frame: () => undefined,
  message: () => undefined,
  event: () => undefined,
  decodeError: () => undefined,
  connectionOpened: () => undefined,
  connectionClosed: () => undefined,
  pendingQueries: () => undefined,
};
