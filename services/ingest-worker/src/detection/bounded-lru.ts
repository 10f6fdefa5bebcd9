/**
 * Per-key state, at most `capacity` keys: touching a key makes it the most recent, and a new key
 * beyond capacity evicts the least recent one. A Map keeps insertion order, so re-inserting on
 * touch is the recency list and eviction takes its first key, both O(1).
 *
 * Evicting an active key cannot happen while it stays active (it is touched with every query);
 * what is evicted is a client that went quiet, and with it only a window it no longer fills.
 */
export class BoundedLru<V> {
  private readonly entries = new Map<string, V>();

  constructor(
    private readonly capacity: number,
    private readonly create: () => V,
  ) {}

  touch(key: string): V {
    const found = this.entries.get(key);
    if (found !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, found);
      return found;
    }
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    const value = this.create();
    this.entries.set(key, value);
    return value;
  }
}
