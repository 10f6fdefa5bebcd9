// The dnstap tap: Frame Streams listener and file reader turning dnstap
// messages from BIND9 / Unbound / Knot Resolver into QueryEvents.
export { DnstapReceiver, parseDnstapAddress } from './receiver.js';
export type { DnstapReceiverOptions, DnstapListenAddress } from './receiver.js';
export { DnstapFileReader, readDnstapFile } from './file-reader.js';
export type { DnstapBatch, DnstapFileReadOptions, DnstapFileStats } from './file-reader.js';
export { DnstapEventBuilder, frameEventId } from './event-builder.js';
export type { DnstapEventBuilderOptions, DnstapSkip } from './event-builder.js';
export { noopDnstapMetrics } from './metrics.js';
export type { DnstapMetrics, DnstapSkipReason, DnstapEventKind, DnstapCloseReason } from './metrics.js';
export {
  FrameStreamDecoder, encodeControlFrame, encodeDataFrame, decodeControlFrame, DNSTAP_CONTENT_TYPE,
  DEFAULT_MAX_FRAME_BYTES,
} from './frame-streams.js';
export type { ControlFrame, ControlTypeName, FrameHandler } from './frame-streams.js';
export { decodeDnstap, encodeDnstap, SocketFamily, SocketProtocol } from './dnstap-message.js';
export type { DnstapMessage, DnstapDecodeResult } from './dnstap-message.js';
