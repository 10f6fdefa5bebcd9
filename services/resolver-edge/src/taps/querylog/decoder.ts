import type { QueryEvent } from '@ghostdns/contracts';
import { noDeviceIdentities, type DeviceIdentityLookup } from '../../device-identity.js';
import { querylogEventId, queryLineEvent, type TapNode } from './events.js';
import { BindQueryLogParser, type QueryErrorLine, type QueryLine, type QuerylogSkip } from './parser.js';

export interface DecodedQuery {
  kind: 'query';
  query: QueryLine;
  event: QueryEvent;
}

export type DecodedLine = DecodedQuery | QueryErrorLine | QuerylogSkip;

export interface BindQueryLogDecoderOptions {
  node: TapNode;
  /** IANA zone of BIND's local timestamps. */
  timezone: string;
  /** Who is behind a client address (VPN devices) when the line is read; default: nobody. */
  devices?: DeviceIdentityLookup;
}

/** Log line + its file offset -> event (query lines), error line, or skip reason. Shared by the tailer and `ghostdns import`. */
export class BindQueryLogDecoder {
  private readonly parser: BindQueryLogParser;
  private readonly node: TapNode;
  private readonly devices: DeviceIdentityLookup;

  constructor(options: BindQueryLogDecoderOptions) {
    this.parser = new BindQueryLogParser(options.timezone);
    this.node = { id: options.node.id, pop: options.node.pop };
    this.devices = options.devices ?? noDeviceIdentities;
  }

  decode(line: string, offset: number): DecodedLine {
    const parsed = this.parser.parse(line);
    if (parsed.kind !== 'query') return parsed;
    const event = queryLineEvent(parsed, querylogEventId(this.node.id, offset, line), this.node, this.devices.identityFor(parsed.clientIp));
    return { kind: 'query', query: parsed, event };
  }
}
