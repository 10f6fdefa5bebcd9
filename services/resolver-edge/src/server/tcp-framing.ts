/**
 * RFC 1035 §4.2.2 / RFC 7766 §8: each message is preceded by a 2-byte length.
 * Accumulates stream chunks and yields complete messages.
 */
export class TcpFramer {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    let pos = 0;
    while (this.buffered.length - pos >= 2) {
      const len = this.buffered.readUInt16BE(pos);
      if (this.buffered.length - pos - 2 < len) break;
      // Copy so a message never pins (or aliases) the connection's buffer.
      out.push(Buffer.from(this.buffered.subarray(pos + 2, pos + 2 + len)));
      pos += 2 + len;
    }
    this.buffered = pos === 0 ? this.buffered : Buffer.from(this.buffered.subarray(pos));
    return out;
  }

  get pendingBytes(): number {
    return this.buffered.length;
  }
}

export function frame(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}
