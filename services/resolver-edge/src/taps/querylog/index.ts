// BIND9 query-log tap: parser, tailer and the file reader `ghostdns import bind-querylog` uses.
export { BindQueryLogTap, type BindQueryLogTapOptions } from './tap.js';
export {
  BindQueryLogParser,
  QUERYLOG_SKIP_REASONS,
  rcodeForQueryResult,
  type QueryErrorLine,
  type QueryLine,
  type QuerylogParseResult,
  type QuerylogSkip,
  type QuerylogSkipReason,
} from './parser.js';
export { BindQueryLogDecoder, type BindQueryLogDecoderOptions, type DecodedLine, type DecodedQuery } from './decoder.js';
export { querylogEventId, queryLineEvent, type TapNode } from './events.js';
export { BindTimestampParser, type ParsedTime } from './timestamp.js';
export { LineSplitter, type LineHandler } from './lines.js';
export {
  orderQuerylogFiles,
  querylogFilesSize,
  readQuerylogFiles,
  type QuerylogImportChunk,
  type ReadQuerylogFilesOptions,
  type SkippedLine,
} from './files.js';
export { noopQuerylogTapMetrics, type QuerylogFileRole, type QuerylogRotationKind, type QuerylogTapMetrics } from './metrics.js';
