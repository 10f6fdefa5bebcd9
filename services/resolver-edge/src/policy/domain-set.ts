// A compact set of domain names with suffix lookup, for blocklists of a
// million names. Names live as ASCII bytes in one buffer, indexed by an
// open-addressing hash table (Int32Array): ~25 bytes of name + 13 of index per
// name, no per-name JS object, so memory grows linearly with the list and the
// garbage collector never walks a million strings.
//
// Lookup walks the query name's labels once from the right, hashing as it goes,
// so the hash of every parent suffix ("com", "example.com", "a.example.com")
// falls out of one pass: O(name length) for all suffixes together, then one
// probe per label. No regex, no substring allocation, independent of set size.

/** RFC 1035 §2.3.4: at most 127 labels in a 255-octet name. */
const MAX_LABELS = 128;
const MAX_NAME = 253;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** MurmurHash3's finaliser: FNV's low bits alone index a power-of-two table poorly. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * One query name prepared for lookups: its labels and the hash and length of
 * every suffix. Reused across queries (one per stage); prepare, then probe
 * every set, all synchronously.
 */
export class NameKey {
  /** Labels in the name (0: the root or nothing prepared). */
  count = 0;
  /** Wire: offset of each label's length byte. String: index of its first character. */
  readonly labelStart = new Int32Array(MAX_LABELS);
  readonly labelLength = new Int32Array(MAX_LABELS);
  /** Hash (unmixed) and presentation length of the suffix starting at label k. */
  readonly suffixHash = new Int32Array(MAX_LABELS);
  readonly suffixLength = new Int32Array(MAX_LABELS);
  private wire: Buffer | null = null;
  private text = '';

  /**
   * From a name in wire format (a query's question at offset 12), following
   * compression pointers backwards. False when malformed.
   */
  setWire(msg: Buffer, offset: number): boolean {
    this.wire = msg;
    this.count = 0;
    let pos = offset;
    let hops = 0;
    let n = 0;
    for (;;) {
      if (pos >= msg.length) return false;
      const len = msg[pos] ?? 0;
      if (len === 0) break;
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= msg.length || ++hops > 32) return false;
        const target = ((len & 0x3f) << 8) | (msg[pos + 1] ?? 0);
        if (target >= pos) return false;
        pos = target;
        continue;
      }
      if ((len & 0xc0) !== 0 || pos + 1 + len > msg.length || n >= MAX_LABELS) return false;
      this.labelStart[n] = pos;
      this.labelLength[n] = len;
      n++;
      pos += 1 + len;
    }
    let h = FNV_OFFSET;
    let total = -1;
    for (let k = n - 1; k >= 0; k--) {
      if (k < n - 1) h = Math.imul(h ^ 0x2e, FNV_PRIME);
      const start = (this.labelStart[k] ?? 0) + 1;
      const len = this.labelLength[k] ?? 0;
      for (let i = start + len - 1; i >= start; i--) h = Math.imul(h ^ lower(msg[i] ?? 0), FNV_PRIME);
      total += len + 1;
      this.suffixHash[k] = h;
      this.suffixLength[k] = total;
    }
    this.count = n;
    return true;
  }

  /** From a dotted name (case-insensitive, trailing dot optional). False when empty or too long. */
  setName(name: string): boolean {
    this.wire = null;
    this.text = name;
    this.count = 0;
    let end = name.length;
    if (end > 0 && name.charCodeAt(end - 1) === 0x2e) end--;
    if (end === 0 || end > MAX_NAME) return false;
    let n = 0;
    let start = 0;
    for (let i = 0; i <= end; i++) {
      if (i === end || name.charCodeAt(i) === 0x2e) {
        if (i === start || n >= MAX_LABELS) return false;
        this.labelStart[n] = start;
        this.labelLength[n] = i - start;
        n++;
        start = i + 1;
      }
    }
    let h = FNV_OFFSET;
    for (let k = n - 1; k >= 0; k--) {
      const s = this.labelStart[k] ?? 0;
      const e = k === n - 1 ? end : (this.labelStart[k + 1] ?? 0);
      // The label's characters and, for all but the last label, the dot after it.
      for (let i = e - 1; i >= s; i--) h = Math.imul(h ^ lower(name.charCodeAt(i)), FNV_PRIME);
      this.suffixHash[k] = h;
      this.suffixLength[k] = end - s;
    }
    this.count = n;
    return true;
  }

  /** True when the suffix from label k equals `length` bytes of `bytes` at `at` (lower-case ASCII). */
  suffixEquals(k: number, bytes: Buffer, at: number, length: number): boolean {
    if (this.suffixLength[k] !== length) return false;
    const msg = this.wire;
    if (msg === null) {
      const text = this.text;
      const s = this.labelStart[k] ?? 0;
      for (let i = 0; i < length; i++) if (lower(text.charCodeAt(s + i)) !== bytes[at + i]) return false;
      return true;
    }
    let p = at;
    for (let j = k; j < this.count; j++) {
      if (j > k && bytes[p++] !== 0x2e) return false;
      const start = (this.labelStart[j] ?? 0) + 1;
      const len = this.labelLength[j] ?? 0;
      for (let i = 0; i < len; i++) if (lower(msg[start + i] ?? 0) !== bytes[p++]) return false;
    }
    return true;
  }

  /** Presentation form of the suffix from label k, lower-case (for answers and logs, off the hot path). */
  suffix(k: number): string {
    if (this.wire === null) {
      const s = this.labelStart[k] ?? 0;
      return this.text.slice(s, s + (this.suffixLength[k] ?? 0)).toLowerCase();
    }
    const parts: string[] = [];
    for (let j = k; j < this.count; j++) {
      const start = (this.labelStart[j] ?? 0) + 1;
      parts.push(this.wire.toString('latin1', start, start + (this.labelLength[j] ?? 0)));
    }
    return parts.join('.').toLowerCase();
  }
}

/** Hash of a stored name, the same walk as NameKey's (right to left, dots included). */
function hashName(name: string): number {
  let h = FNV_OFFSET;
  for (let i = name.length - 1; i >= 0; i--) h = Math.imul(h ^ name.charCodeAt(i), FNV_PRIME);
  return h;
}

/**
 * Set of lower-case ASCII names (no trailing dot). Insert-only while loading;
 * a loaded set is swapped in whole and never changed afterwards.
 */
export class PackedDomainSet {
  private bytes: Buffer;
  private used = 0;
  private offsets: Uint32Array;
  private lengths: Uint8Array;
  private count = 0;
  /**
   * Slot pairs: [entry index + 1 (0 = empty), tag]. The tag is the mixed
   * hash's upper 24 bits with the name's length in the low 8: next to the
   * index, it rejects a colliding slot without touching the entry arrays (one
   * cache line per probe; a hit then reads the offset and the bytes). The
   * slot is chosen from the same upper bits, so growing needs no names (24
   * bits spread slots fully up to 2^24 slots, i.e. 8M names).
   * Load factor ≤ 0.5.
   */
  private table: Int32Array;
  private mask: number;
  /** After a match: how many leading labels of the key were skipped (0 = the whole name). */
  lastSkip = -1;

  constructor(expected = 1024) {
    const cap = Math.max(16, nextPowerOfTwo(expected * 2));
    this.table = new Int32Array(cap * 2);
    this.mask = cap - 1;
    this.offsets = new Uint32Array(Math.max(16, expected));
    this.lengths = new Uint8Array(Math.max(16, expected));
    this.bytes = Buffer.allocUnsafe(Math.max(256, expected * 24));
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held in typed arrays (outside the JS heap: ArrayBuffers). */
  get byteSize(): number {
    return this.bytes.length + this.offsets.byteLength + this.lengths.byteLength + this.table.byteLength;
  }

  /**
   * Adds a normalised name (lower-case ASCII, no trailing dot, ≤ 253 octets);
   * returns its entry index, the existing one when already present.
   */
  add(name: string): number {
    const length = name.length;
    if (length === 0 || length > MAX_NAME) return -1;
    const h = mix(hashName(name));
    const t = tag(h, length);
    let slot = (h >>> 8) & this.mask;
    for (;;) {
      const e = this.table[slot * 2] ?? 0;
      if (e === 0) break;
      if (this.table[slot * 2 + 1] === t && this.entryEquals(e - 1, name)) return e - 1;
      slot = (slot + 1) & this.mask;
    }
    const index = this.count;
    if (index >= this.offsets.length) this.growEntries();
    if (this.used + length > this.bytes.length) this.growBytes(length);
    this.bytes.write(name, this.used, 'latin1');
    this.offsets[index] = this.used;
    this.lengths[index] = length;
    this.used += length;
    this.count++;
    this.table[slot * 2] = index + 1;
    this.table[slot * 2 + 1] = t;
    if (this.count * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    return index;
  }

  has(name: string): boolean {
    const h = mix(hashName(name));
    const t = tag(h, name.length);
    let slot = (h >>> 8) & this.mask;
    for (;;) {
      const e = this.table[slot * 2] ?? 0;
      if (e === 0) return false;
      if (this.table[slot * 2 + 1] === t && this.entryEquals(e - 1, name)) return true;
      slot = (slot + 1) & this.mask;
    }
  }

  nameAt(index: number): string {
    const off = this.offsets[index] ?? 0;
    return this.bytes.toString('latin1', off, off + (this.lengths[index] ?? 0));
  }

  /** Entry matching the key's suffix after `skip` labels exactly, or -1. */
  probe(key: NameKey, skip: number): number {
    const length = key.suffixLength[skip] ?? 0;
    const h = mix(key.suffixHash[skip] ?? 0);
    const t = tag(h, length);
    const table = this.table;
    let slot = (h >>> 8) & this.mask;
    for (;;) {
      const e = table[slot * 2] ?? 0;
      if (e === 0) return -1;
      if (table[slot * 2 + 1] === t) {
        const i = e - 1;
        if (key.suffixEquals(skip, this.bytes, this.offsets[i] ?? 0, length)) return i;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /**
   * The most specific entry that is the key's name or one of its parents,
   * skipping between `minSkip` and `maxSkip` leading labels; -1 if none.
   * `lastSkip` tells which suffix matched.
   */
  match(key: NameKey, minSkip = 0, maxSkip = MAX_LABELS): number {
    if (this.count === 0) return -1;
    const last = Math.min(maxSkip, key.count - 1);
    for (let skip = minSkip; skip <= last; skip++) {
      const i = this.probe(key, skip);
      if (i >= 0) {
        this.lastSkip = skip;
        return i;
      }
    }
    return -1;
  }

  /** Trims the growth slack once loading is done. */
  compact(): void {
    if (this.bytes.length > this.used) {
      const b = Buffer.allocUnsafe(Math.max(1, this.used));
      this.bytes.copy(b, 0, 0, this.used);
      this.bytes = b;
    }
    if (this.offsets.length > this.count) {
      this.offsets = this.offsets.slice(0, Math.max(1, this.count));
      this.lengths = this.lengths.slice(0, Math.max(1, this.count));
    }
  }

  private entryEquals(index: number, name: string): boolean {
    if (this.lengths[index] !== name.length) return false;
    const off = this.offsets[index] ?? 0;
    for (let i = 0; i < name.length; i++) if (this.bytes[off + i] !== name.charCodeAt(i)) return false;
    return true;
  }

  private growEntries(): void {
    const offsets = new Uint32Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const lengths = new Uint8Array(this.lengths.length * 2);
    lengths.set(this.lengths);
    this.lengths = lengths;
  }

  private growBytes(atLeast: number): void {
    const b = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + atLeast));
    this.bytes.copy(b, 0, 0, this.used);
    this.bytes = b;
  }

  private rehash(capacity: number): void {
    const table = new Int32Array(capacity * 2);
    const mask = capacity - 1;
    const old = this.table;
    // The stored hashes make growing a pass over the old table, not over the names.
    for (let s = 0; s < old.length; s += 2) {
      const e = old[s] ?? 0;
      if (e === 0) continue;
      const h = old[s + 1] ?? 0;
      let slot = (h >>> 8) & mask;
      while ((table[slot * 2] ?? 0) !== 0) slot = (slot + 1) & mask;
      table[slot * 2] = e;
      table[slot * 2 + 1] = h;
    }
    this.table = table;
    this.mask = mask;
  }
}

/**
 * Several sets looked up as their union: the configured lists, each list
 * managed through the API, the custom domains. Each set stays as it was
 * loaded, so a change to one list neither copies nor re-reads the others (the
 * memory of a million-name list is held once); the price is one probe per
 * label per non-empty set, and empty sets are left out.
 */
export class DomainSetUnion {
  readonly sets: readonly PackedDomainSet[];
  /** Names over all sets (a name in two sets counts twice). */
  readonly size: number;

  constructor(sets: readonly PackedDomainSet[]) {
    this.sets = sets.filter((set) => set.size > 0);
    this.size = this.sets.reduce((n, set) => n + set.size, 0);
  }

  /**
   * Leading labels of the key skipped to reach the most specific suffix any set
   * lists (0: the name itself), or -1 when none lists the name or a parent.
   * Suffixes are tried most specific first across all sets, so the owner of a
   * blocked answer does not depend on which set listed it.
   */
  match(key: NameKey): number {
    for (let skip = 0; skip < key.count; skip++) {
      for (const set of this.sets) if (set.probe(key, skip) >= 0) return skip;
    }
    return -1;
  }
}

/** Upper 24 bits of the mixed hash, the name length (≤ 253) in the low 8; as an int32. */
function tag(h: number, length: number): number {
  return (h & 0xffffff00) | length;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
