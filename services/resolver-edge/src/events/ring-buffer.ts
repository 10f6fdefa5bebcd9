/** Fixed-capacity FIFO; pushing when full evicts (and returns) the oldest item. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Appends; returns true when the oldest item had to be evicted. */
  push(item: T): boolean {
    if (this.count === this.capacity) {
      this.items[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
      return true;
    }
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count++;
    return false;
  }

  /** The oldest n items (or fewer), oldest first, without removing them. */
  peek(n: number): T[] {
    const out: T[] = [];
    const k = Math.min(n, this.count);
    for (let i = 0; i < k; i++) out.push(this.items[(this.head + i) % this.capacity] as T);
    return out;
  }

  /** Removes the oldest n items (or fewer). */
  dropFront(n: number): number {
    const k = Math.min(n, this.count);
    for (let i = 0; i < k; i++) {
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
    }
    this.count -= k;
    return k;
  }
}
