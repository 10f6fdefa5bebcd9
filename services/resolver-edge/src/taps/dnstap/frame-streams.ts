// Frame Streams, the transport dnstap rides on (fstrm, "Frame Streams Control
// Protocol", github.com/farsightsec/fstrm: fstrm/control.h and the protocol
// description in its README). Everything is big-endian uint32:
//
//   data frame:     [length > 0][length bytes of payload]
//   control frame:  [0 (escape)][control length][control type][fields…]
//   control field:  [field type][field length][field bytes]
//
// Control types: ACCEPT 1, START 2, STOP 3, READY 4, FINISH 5; the only field
// type is CONTENT_TYPE 1. A control frame is at most 512 bytes
// (FSTRM_CONTROL_FRAME_LENGTH_MAX) and a content type at most 256
// (FSTRM_CONTENT_TYPE_LENGTH_MAX). On a socket the writer opens with READY
// (its content types), the reader answers ACCEPT (the one it takes), the
// writer sends START, data frames, then STOP, and the reader answers FINISH
// ("bidirectional"). A file has no reader to talk to: START, data, STOP
// ("unidirectional").
import { ResolverEdgeError } from '../../errors.js';

export const ControlType = {
  ACCEPT: 0x01,
  START: 0x02,
  STOP: 0x03,
  READY: 0x04,
  FINISH: 0x05,
} as const;
export type ControlTypeName = keyof typeof ControlType;

const CONTROL_NAMES = new Map<number, ControlTypeName>(
  Object.entries(ControlType).map(([name, value]) => [value, name as ControlTypeName]),
);

const FIELD_CONTENT_TYPE = 0x01;
/** FSTRM_CONTROL_FRAME_LENGTH_MAX. */
export const CONTROL_FRAME_MAX_BYTES = 512;
/** FSTRM_CONTENT_TYPE_LENGTH_MAX. */
const CONTENT_TYPE_MAX_BYTES = 256;

/** dnstap's content type (dnstap.info: "protobuf:dnstap.Dnstap"). */
export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';

/**
 * Upper bound of one data frame. A dnstap message holds at most a query and a
 * response of 65 535 bytes each plus a few hundred bytes of metadata; 1 MiB
 * leaves room without letting a broken peer make us buffer gigabytes.
 */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

export interface ControlFrame {
  type: ControlTypeName;
  contentTypes: string[];
}

/** Receives what the decoder finds, in stream order. */
export interface FrameHandler {
  /** A data frame; the buffer is a view that stays valid (never reused by the decoder). */
  data(payload: Buffer): void;
  control(frame: ControlFrame): void;
}

function frameError(message: string): ResolverEdgeError {
  return new ResolverEdgeError('GHOSTDNS_TAP_DNSTAP_FRAME', message);
}

/**
 * Incremental Frame Streams decoder for a byte stream cut into arbitrary
 * chunks. A frame inside one chunk is handed on as a view of that chunk (no
 * copy); only a frame spanning chunks is copied, once, when its last byte has
 * arrived — partial pieces are kept as a list, never re-concatenated per chunk.
 * Throws ResolverEdgeError GHOSTDNS_TAP_DNSTAP_FRAME when the stream cannot be
 * framed any more (oversized frame, malformed or unknown control frame): after
 * that the decoder must be dropped.
 */
export class FrameStreamDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the pending pieces must reach before parsing can make progress. */
  private need = 0;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes of an incomplete frame held back (non-zero at end of stream: the stream was cut mid-frame). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer, handler: FrameHandler): void {
    let buf: Buffer;
    if (this.pendingBytes === 0) {
      buf = chunk;
    } else {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.need) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let off = 0;
    for (;;) {
      const left = buf.length - off;
      if (left < 4) {
        this.need = 4;
        break;
      }
      const length = buf.readUInt32BE(off);
      if (length !== 0) {
        if (length > this.maxFrameBytes) {
          throw frameError(`data frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte limit`);
        }
        if (left < 4 + length) {
          this.need = 4 + length;
          break;
        }
        handler.data(buf.subarray(off + 4, off + 4 + length));
        off += 4 + length;
        continue;
      }
      if (left < 8) {
        this.need = 8;
        break;
      }
      const controlLength = buf.readUInt32BE(off + 4);
      if (controlLength > CONTROL_FRAME_MAX_BYTES) {
        throw frameError(`control frame of ${controlLength} bytes exceeds the ${CONTROL_FRAME_MAX_BYTES}-byte limit`);
      }
      if (left < 8 + controlLength) {
        this.need = 8 + controlLength;
        break;
      }
      const control = decodeControlFrame(buf.subarray(off + 8, off + 8 + controlLength));
      off += 8 + controlLength;
      handler.control(control);
    }
    if (off < buf.length) {
      this.pending.push(off === 0 ? buf : buf.subarray(off));
      this.pendingBytes = buf.length - off;
    }
  }
}

/** Decodes the body of a control frame (after the escape and length words). */
export function decodeControlFrame(body: Buffer): ControlFrame {
  if (body.length < 4) throw frameError(`control frame of ${body.length} bytes has no type`);
  const code = body.readUInt32BE(0);
  const type = CONTROL_NAMES.get(code);
  if (type === undefined) throw frameError(`unknown control frame type 0x${code.toString(16)}`);
  const contentTypes: string[] = [];
  let off = 4;
  while (off < body.length) {
    if (body.length - off < 8) throw frameError(`truncated field header in ${type} control frame`);
    const fieldType = body.readUInt32BE(off);
    const fieldLength = body.readUInt32BE(off + 4);
    off += 8;
    if (fieldLength > body.length - off) throw frameError(`field of ${fieldLength} bytes overruns the ${type} control frame`);
    if (fieldType === FIELD_CONTENT_TYPE) {
      if (fieldLength > CONTENT_TYPE_MAX_BYTES) throw frameError(`content type of ${fieldLength} bytes in ${type} control frame`);
      contentTypes.push(body.toString('latin1', off, off + fieldLength));
    }
    // Other field types are not defined by the protocol yet; skipping them keeps a newer writer readable.
    off += fieldLength;
  }
  if ((type === 'START' && contentTypes.length > 1) || ((type === 'STOP' || type === 'FINISH') && contentTypes.length > 0)) {
    throw frameError(`${type} control frame with ${contentTypes.length} content types`);
  }
  return { type, contentTypes };
}

/** A whole control frame, escape and length included. */
export function encodeControlFrame(type: ControlTypeName, contentTypes: readonly string[] = []): Buffer {
  const fields = contentTypes.map((ct) => Buffer.from(ct, 'latin1'));
  const bodyLength = 4 + fields.reduce((n, f) => n + 8 + f.length, 0);
  const out = Buffer.alloc(8 + bodyLength);
  out.writeUInt32BE(0, 0);
  out.writeUInt32BE(bodyLength, 4);
  out.writeUInt32BE(ControlType[type], 8);
  let off = 12;
  for (const f of fields) {
    out.writeUInt32BE(FIELD_CONTENT_TYPE, off);
    out.writeUInt32BE(f.length, off + 4);
    f.copy(out, off + 8);
    off += 8 + f.length;
  }
  return out;
}

/** A whole data frame (length word and payload). */
export function encodeDataFrame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}
