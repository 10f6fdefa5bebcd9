// Frame Streams codec: framing across arbitrary chunk boundaries and every
// failure branch (fstrm control protocol, see src/taps/dnstap/frame-streams.ts).
import { describe, expect, it } from 'vitest';
import {
  DNSTAP_CONTENT_TYPE, FrameStreamDecoder, encodeControlFrame, encodeDataFrame, type ControlFrame,
} from '../../src/taps/dnstap/index.js';

type Seen = ['data', string] | ['control', ControlFrame];

function decodeInChunks(stream: Buffer, cut: (stream: Buffer) => Buffer[], maxFrameBytes?: number): { seen: Seen[]; left: number } {
  const decoder = new FrameStreamDecoder(maxFrameBytes);
  const seen: Seen[] = [];
  for (const chunk of cut(stream)) {
    decoder.push(chunk, {
      data: (p) => seen.push(['data', p.toString()]),
      control: (c) => seen.push(['control', c]),
    });
  }
  return { seen, left: decoder.bufferedBytes };
}

const whole = (b: Buffer): Buffer[] => [b];
const byteByByte = (b: Buffer): Buffer[] => [...b].map((x) => Buffer.from([x]));
const inThrees = (b: Buffer): Buffer[] => Array.from({ length: Math.ceil(b.length / 3) }, (_, i) => b.subarray(i * 3, i * 3 + 3));

function controlFrame(type: number, fields: [number, Buffer][] = [], declaredLength?: number): Buffer {
  const body = Buffer.concat([u32(type), ...fields.flatMap(([t, v]) => [u32(t), u32(v.length), v])]);
  return Buffer.concat([u32(0), u32(declaredLength ?? body.length), body]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

describe('Frame Streams decoder', () => {
  const stream = Buffer.concat([
    encodeControlFrame('START', [DNSTAP_CONTENT_TYPE]),
    encodeDataFrame(Buffer.from('first')),
    encodeDataFrame(Buffer.from('x'.repeat(300))),
    encodeControlFrame('STOP'),
  ]);
  const expected: Seen[] = [
    ['control', { type: 'START', contentTypes: [DNSTAP_CONTENT_TYPE] }],
    ['data', 'first'],
    ['data', 'x'.repeat(300)],
    ['control', { type: 'STOP', contentTypes: [] }],
  ];

  it.each([
    ['in one chunk', whole],
    ['byte by byte', byteByByte],
    ['in 3-byte chunks', inThrees],
    ['split inside the escape word', (b: Buffer) => [b.subarray(0, 2), b.subarray(2)]],
    ['split inside a data frame', (b: Buffer) => [b.subarray(0, 40), b.subarray(40, 200), b.subarray(200)]],
  ])('frames a stream cut %s', (_name, cut) => {
    expect(decodeInChunks(stream, cut)).toEqual({ seen: expected, left: 0 });
  });

  it('keeps an incomplete frame at the end of the stream as buffered bytes', () => {
    const { seen, left } = decodeInChunks(stream.subarray(0, stream.length - 3), inThrees);
    expect(seen).toHaveLength(3);
    expect(left).toBe(encodeControlFrame('STOP').length - 3);
  });

  it('decodes READY with several content types and skips unknown field types', () => {
    const frame = controlFrame(0x04, [
      [0x01, Buffer.from('protobuf:other')],
      [0x7f, Buffer.from('future field')],
      [0x01, Buffer.from(DNSTAP_CONTENT_TYPE)],
    ]);
    expect(decodeInChunks(frame, byteByByte).seen).toEqual([['control', { type: 'READY', contentTypes: ['protobuf:other', DNSTAP_CONTENT_TYPE] }]]);
  });

  it('hands a frame inside one chunk on without copying it', () => {
    const chunk = encodeDataFrame(Buffer.from('view'));
    let payload: Buffer | null = null;
    new FrameStreamDecoder().push(chunk, { data: (p) => (payload = p), control: () => undefined });
    expect(payload!.buffer).toBe(chunk.buffer);
  });

  it.each([
    ['an oversized data frame', Buffer.concat([u32(2_000_000), Buffer.alloc(8)]), /data frame of 2000000 bytes exceeds the 1048576-byte limit/],
    ['an oversized control frame', Buffer.concat([u32(0), u32(513)]), /control frame of 513 bytes exceeds the 512-byte limit/],
    ['a control frame without a type', Buffer.concat([u32(0), u32(2), Buffer.alloc(2)]), /has no type/],
    ['an unknown control type', controlFrame(0x09), /unknown control frame type 0x9/],
    ['a truncated field header', Buffer.concat([u32(0), u32(8), u32(4), u32(1)]), /truncated field header in READY/],
    ['a field overrunning its frame', Buffer.concat([u32(0), u32(14), u32(4), u32(1), u32(100), Buffer.from('ab')]), /overruns the READY control frame/],
    ['a content type over 256 bytes', controlFrame(0x04, [[0x01, Buffer.alloc(300, 0x61)]]), /content type of 300 bytes/],
    ['START with two content types', controlFrame(0x02, [[0x01, Buffer.from('a')], [0x01, Buffer.from('b')]]), /START control frame with 2 content types/],
    ['STOP with a content type', controlFrame(0x03, [[0x01, Buffer.from('a')]]), /STOP control frame with 1 content types/],
  ])('rejects %s with GHOSTDNS_TAP_DNSTAP_FRAME', (_name, bytes, message) => {
    expect(() => decodeInChunks(bytes, whole)).toThrow(message);
    expect(() => decodeInChunks(bytes, whole)).toThrow(expect.objectContaining({ code: 'GHOSTDNS_TAP_DNSTAP_FRAME' }) as Error);
  });

  it('honours a smaller frame limit', () => {
    expect(() => decodeInChunks(encodeDataFrame(Buffer.alloc(65)), whole, 64)).toThrow(/65 bytes exceeds the 64-byte limit/);
  });
});

describe('Frame Streams encoder', () => {
  it('writes the fstrm control layout: escape, length, type, content-type field', () => {
    expect(encodeControlFrame('ACCEPT', ['ab']).toString('hex')).toBe('00000000' + '0000000e' + '00000001' + '00000001' + '00000002' + '6162');
    expect(encodeControlFrame('FINISH').toString('hex')).toBe('00000000' + '00000004' + '00000005');
    expect(encodeDataFrame(Buffer.from('hi')).toString('hex')).toBe('00000002' + '6869');
  });
});
