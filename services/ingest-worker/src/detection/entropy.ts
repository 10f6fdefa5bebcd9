// Measures on parts of a query name, by index range, so that nothing is sliced or allocated per query.

const DOT = 0x2e;

/**
 * Character counts of the range being measured, indexed by the low byte of the character code.
 * Module-wide and zeroed again before returning: measuring is synchronous, so one table serves
 * every call. Names are ASCII in presentation form (IDNs as xn--), so low-byte collisions
 * only merge characters a name does not hold.
 */
const counts = new Uint16Array(256);

/**
 * Shannon entropy of text[from, to) in bits per character, dots not counted (they separate the
 * labels a tunnel splits its payload into, and are no part of it). 0 for a range without characters.
 */
export function entropyBits(text: string, from: number, to: number): number {
  let length = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code === DOT) continue;
    counts[code & 0xff]++;
    length++;
  }
  if (length === 0) return 0;
  let bits = 0;
  // Each distinct character once: its slot is zeroed as it is summed, so a repeat reads 0.
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code === DOT) continue;
    const n = counts[code & 0xff];
    if (n === 0) continue;
    counts[code & 0xff] = 0;
    const p = n / length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** A range [start, end) of a string. */
export interface Span {
  start: number;
  end: number;
}

/** The longest label of text[0, to), written into `into` (the caller's, reused: nothing is allocated). */
export function longestLabel(text: string, to: number, into: Span): Span {
  into.start = 0;
  into.end = 0;
  let start = 0;
  for (let i = 0; i <= to; i++) {
    if (i < to && text.charCodeAt(i) !== DOT) continue;
    if (i - start > into.end - into.start) {
      into.start = start;
      into.end = i;
    }
    start = i + 1;
  }
  return into;
}

/**
 * 30-bit FNV-1a hash of a name. Distinct-name sets hold these instead of the names: a small
 * integer is stored inline (no string kept alive per name), and two names of one window
 * colliding (about n²/2³¹ for n names) only undercounts by one.
 */
export function nameHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash & 0x3fffffff;
}
