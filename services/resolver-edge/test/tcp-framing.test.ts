import { describe, expect, it } from 'vitest';
import { frame, TcpFramer } from '../src/server/tcp-framing.js';

describe('TcpFramer', () => {
  it.each([
    { name: 'one message in one chunk', chunks: [frame(Buffer.from('abc'))], expected: ['abc'] },
    { name: 'two messages in one chunk', chunks: [Buffer.concat([frame(Buffer.from('ab')), frame(Buffer.from('cde'))])], expected: ['ab', 'cde'] },
    { name: 'split length prefix', chunks: [Buffer.from([0]), Buffer.from([3, 0x61, 0x62]), Buffer.from([0x63])], expected: ['abc'] },
    { name: 'message then partial', chunks: [Buffer.concat([frame(Buffer.from('x')), Buffer.from([0, 5, 0x61])])], expected: ['x'] },
    { name: 'zero-length frame', chunks: [Buffer.from([0, 0])], expected: [''] },
  ])('$name', ({ chunks, expected }) => {
    const f = new TcpFramer();
    const out = chunks.flatMap((c) => f.push(c)).map((b) => b.toString('latin1'));
    expect(out).toEqual(expected);
  });
});
