// Conditional forwarding (BIND `zone "x" { type forward; }`, Unbound
// `forward-zone`): the longest configured domain that is the query name or
// one of its parents wins. Matching is on whole labels, case-insensitively.

/** Lower-case, no trailing dot; the root is ''. */
export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  if (d === '.' || d === '') return '';
  return d.endsWith('.') ? d.slice(0, -1) : d;
}

export class ForwardZoneTable<T> {
  private readonly zones = new Map<string, T>();

  constructor(entries: Iterable<readonly [string, T]> = []) {
    for (const [domain, value] of entries) this.zones.set(normalizeDomain(domain), value);
  }

  get size(): number {
    return this.zones.size;
  }

  /**
   * The value of the longest matching domain. `name` is as readQuestion gives
   * it (no trailing dot, '' for the root). A label holding an escaped dot
   * (`a\.b`) is split there: such names are not host names and are not
   * expected under a forward zone.
   */
  match(name: string): T | undefined {
    if (this.zones.size === 0) return undefined;
    let n = name.toLowerCase();
    for (;;) {
      const hit = this.zones.get(n);
      if (hit !== undefined) return hit;
      if (n === '') return undefined;
      const dot = n.indexOf('.');
      n = dot < 0 ? '' : n.slice(dot + 1);
    }
  }
}
