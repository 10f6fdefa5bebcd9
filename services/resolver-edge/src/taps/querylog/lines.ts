/** Receives one complete line (without `\n` / `\r\n`) and the byte offset where it starts. */
export type LineHandler = (line: string, offset: number) => void;

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines, keeping track of file offsets. A trailing line without
 * its newline yet (BIND may be mid-write) is kept until the newline arrives, never parsed
 * half-written.
 */
export class LineSplitter {
  private tail: Buffer | null = null;
  private tailOffset: number;

  constructor(startOffset = 0) {
    this.tailOffset = startOffset;
  }

  /** Offset just past the last complete line handed out. */
  get completeOffset(): number {
    return this.tailOffset;
  }

  /** Bytes of an unfinished last line held back. */
  get pendingBytes(): number {
    return this.tail?.length ?? 0;
  }

  /** Feeds the bytes that follow everything pushed so far. `chunk` may be reused by the caller afterwards. */
  push(chunk: Buffer, onLine: LineHandler): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    if (newline >= 0 && this.tail !== null) {
      const joined = Buffer.concat([this.tail, chunk.subarray(0, newline)]);
      this.tail = null;
      this.emit(joined, 0, joined.length, true, onLine);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    while (newline >= 0) {
      this.emit(chunk, start, newline, true, onLine);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) {
      const rest = Buffer.from(chunk.subarray(start));
      this.tail = this.tail === null ? rest : Buffer.concat([this.tail, rest]);
    }
  }

  /** Hands out the unfinished last line as a line (the file is finished: rotated away or fully imported). */
  finish(onLine: LineHandler): void {
    if (this.tail === null) return;
    const tail = this.tail;
    this.tail = null;
    this.emit(tail, 0, tail.length, false, onLine);
  }

  /** Forgets any unfinished line and continues at `offset` (a truncated or a different file). */
  reset(offset: number): void {
    this.tail = null;
    this.tailOffset = offset;
  }

  private emit(bytes: Buffer, start: number, end: number, terminated: boolean, onLine: LineHandler): void {
    const offset = this.tailOffset;
    this.tailOffset += end - start + (terminated ? 1 : 0);
    const stop = end > start && bytes[end - 1] === CR ? end - 1 : end;
    onLine(bytes.toString('utf8', start, stop), offset);
  }
}
