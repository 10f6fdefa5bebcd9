import { describe, expect, it } from 'vitest';
import { BoundedLru } from '../src/detection/bounded-lru.js';
import {
  BLOCKED_BURST,
  COOLDOWN_MS,
  createDetectors,
  DGA,
  DGA_MIN_UNIQUE_NAMES,
  DistinctNameDetector,
  FLOOD_THRESHOLD,
  NXDOMAIN_BURST,
  NXDOMAIN_THRESHOLD,
  QUERY_FLOOD,
  RateDetector,
  TUNNEL_MIN_UNIQUE_NAMES,
  TUNNELING,
  BLOCKED_THRESHOLD,
  type Detection,
  type Detector,
} from '../src/detection/detectors.js';
import { entropyBits, longestLabel, nameHash } from '../src/detection/entropy.js';
import { SlidingCount, SlidingDistinct } from '../src/detection/sliding-window.js';
import type { DnsQueryRow } from '../src/row.js';
import { dgaName, queries, randomish, RCODE_NXDOMAIN, tunnelName } from './detection-support.js';

describe('entropyBits', () => {
  it.each([
    ['', 0, 0, 0],
    ['aaaaaaaa', 0, 8, 0],
    ['ab', 0, 2, 1],
    ['abcd', 0, 4, 2],
    ['aabb', 0, 4, 1],
    ['ab.cd', 0, 5, 2],
    ['....', 0, 4, 0],
    ['xxabcdxx', 2, 6, 2],
  ])('%j [%i, %i) has %f bits per character', (text, from, to, bits) => {
    expect(entropyBits(text, from, to)).toBeCloseTo(bits, 10);
  });

  it('leaves nothing behind for the next measurement', () => {
    entropyBits('abababab', 0, 8);
    expect(entropyBits('cd', 0, 2)).toBeCloseTo(1, 10);
  });
});

describe('longestLabel', () => {
  it.each([
    ['www.example', 11, 'example'],
    ['a.bb.ccc', 8, 'ccc'],
    ['abc.de', 6, 'abc'],
    ['single', 6, 'single'],
    ['abcd.ef', 2, 'ab'],
    ['', 0, ''],
  ])('of %j up to %i is %j', (text, to, expected) => {
    const span = longestLabel(text, to, { start: -1, end: -1 });
    expect(text.slice(span.start, span.end)).toBe(expected);
  });
});

describe('nameHash', () => {
  it('is a stable 30-bit integer, different for different names', () => {
    const hashes = Array.from({ length: 1000 }, (_, i) => nameHash(tunnelName(i)));
    for (const hash of hashes) expect(Number.isInteger(hash) && hash >= 0 && hash < 2 ** 30).toBe(true);
    expect(new Set(hashes).size).toBe(1000);
    expect(nameHash('example.com')).toBe(nameHash('example.com'));
  });
});

describe('SlidingCount (60 s)', () => {
  it.each([
    { name: 'counts the events of the current bucket', adds: [0, 1_000, 59_000], at: 59_000, expected: 3 },
    { name: 'weighs the previous bucket by what the window still covers', adds: [0, 10_000, 20_000, 30_000], at: 90_000, expected: 2 },
    { name: 'adds both buckets', adds: [50_000, 55_000, 61_000], at: 61_000, expected: 1 + 2 * (59 / 60) },
    { name: 'forgets a bucket the window no longer reaches', adds: [0, 1_000, 130_000], at: 130_000, expected: 1 },
    { name: 'counts an event older than the current bucket in it', adds: [70_000, 10_000], at: 70_000, expected: 2 },
  ])('$name', ({ adds, at, expected }) => {
    const window = new SlidingCount(60_000);
    for (const t of adds) window.add(t);
    expect(window.estimate(at)).toBeCloseTo(expected, 10);
  });
});

describe('SlidingDistinct (60 s, cap 5)', () => {
  it.each([
    { name: 'counts each value once', adds: [[0, 1], [1_000, 1], [2_000, 2]], at: 2_000, expected: 2, kept: [true, false, true] },
    { name: 'keeps at most the cap per bucket', adds: [[0, 1], [0, 2], [0, 3], [0, 4], [0, 5], [0, 6]], at: 0, expected: 5, kept: [true, true, true, true, true, false] },
    { name: 'carries the previous bucket, weighted', adds: [[0, 1], [0, 2], [90_000, 3]], at: 90_000, expected: 2 * 0.5 + 1, kept: [true, true, true] },
    { name: 'counts a value of both buckets once', adds: [[0, 1], [0, 2], [60_000, 1]], at: 60_000, expected: 1 + 1, kept: [true, true, true] },
    { name: 'forgets buckets the window no longer reaches', adds: [[0, 1], [0, 2], [125_000, 3]], at: 125_000, expected: 1, kept: [true, true, true] },
  ])('$name', ({ adds, at, expected, kept }) => {
    const window = new SlidingDistinct(60_000, 5);
    expect(adds.map(([t = 0, value = 0]) => window.add(t, value))).toEqual(kept);
    expect(window.estimate(at)).toBeCloseTo(expected, 10);
  });
});

describe('BoundedLru', () => {
  it('keeps the most recently touched keys and evicts the least recent beyond capacity', () => {
    let created = 0;
    const lru = new BoundedLru(2, () => ({ n: ++created }));
    const a = lru.touch('a');
    lru.touch('b');
    expect(lru.touch('a')).toBe(a);
    lru.touch('c'); // evicts b, touched before a
    expect(lru.touch('a')).toBe(a);
    expect(lru.touch('b').n).toBe(4); // b was forgotten: a new state
    expect(created).toBe(4);
  });
});

/** Every detection of `detector` over the rows, with the index of the row that fired it. */
function run(detector: Detector, rows: readonly DnsQueryRow[]): { index: number; detection: Detection }[] {
  const fired: { index: number; detection: Detection }[] = [];
  rows.forEach((row, index) => {
    const detection = detector.observe(row, Date.parse(row.queried_at));
    if (detection !== null) fired.push({ index, detection });
  });
  return fired;
}

const hexLabel = (i: number, length: number): string => randomish(`label-${i}`, length);

interface Case {
  name: string;
  detector: () => Detector;
  rows: () => DnsQueryRow[];
  /** Indexes of the rows that fire. */
  fires: number[];
}

const cases: Case[] = [
  // tunneling
  {
    name: 'tunneling: 30 distinct hex names under one apex within a minute fire on the 30th',
    detector: () => new DistinctNameDetector(TUNNELING),
    rows: () => queries(40, (i) => tunnelName(i), { everyMs: 1_000, qtype: 16 }),
    fires: [TUNNEL_MIN_UNIQUE_NAMES - 1],
  },
  {
    name: 'tunneling: 29 names do not',
    detector: () => new DistinctNameDetector(TUNNELING),
    rows: () => queries(TUNNEL_MIN_UNIQUE_NAMES - 1, (i) => tunnelName(i)),
    fires: [],
  },
  {
    name: 'tunneling: one long random name asked again and again does not',
    detector: () => new DistinctNameDetector(TUNNELING),
    rows: () => queries(200, () => tunnelName(7)),
    fires: [],
  },
  {
    name: 'tunneling: long names that repeat a few characters do not',
    detector: () => new DistinctNameDetector(TUNNELING),
    rows: () => queries(100, (i) => `node-${String(i).padStart(4, '0')}-node-node-node.example.net`),
    fires: [],
  },
  {
    name: 'tunneling: random labels shorter than 24 characters do not',
    detector: () => new DistinctNameDetector(TUNNELING),
    rows: () => queries(100, (i) => `${hexLabel(i, 23)}.example.net`),
    fires: [],
  },
  {
    name: 'tunneling: names spread over many apexes do not',
    detector: () => new DistinctNameDetector(TUNNELING),
    rows: () => queries(100, (i) => tunnelName(i, `apex${i}.example`)),
    fires: [],
  },
  {
    name: 'tunneling: reverse lookups (ip6.arpa) do not',
    detector: () => new DistinctNameDetector(TUNNELING),
    rows: () => queries(100, (i) => `${hexLabel(i, 31).split('').join('.')}.2.ip6.arpa`, { qtype: 12 }),
    fires: [],
  },
  {
    name: 'tunneling: one name every 20 seconds never fills a window',
    detector: () => new DistinctNameDetector(TUNNELING),
    rows: () => queries(60, (i) => tunnelName(i), { everyMs: 20_000 }),
    fires: [],
  },
  {
    name: 'tunneling: fires once per cooldown, again after it',
    detector: () => new DistinctNameDetector(TUNNELING),
    // Two a second for 15 minutes: windows stay full throughout.
    rows: () => queries(1_800, (i) => tunnelName(i), { everyMs: 500 }),
    fires: [TUNNEL_MIN_UNIQUE_NAMES - 1, TUNNEL_MIN_UNIQUE_NAMES - 1 + (COOLDOWN_MS / 500)],
  },
  {
    name: 'tunneling: keys are per client',
    detector: () => new DistinctNameDetector(TUNNELING),
    rows: () => [
      ...queries(30, (i) => tunnelName(i), { client: '10.0.0.1' }),
      ...queries(30, (i) => tunnelName(100 + i), { client: '10.0.0.2' }),
    ],
    fires: [29, 59],
  },
  // dga
  {
    name: 'dga: 25 NXDOMAIN answers for random-looking names fire on the 25th',
    detector: () => new DistinctNameDetector(DGA),
    rows: () => queries(40, (i) => dgaName(i), { rcode: RCODE_NXDOMAIN, everyMs: 2_000 }),
    fires: [DGA_MIN_UNIQUE_NAMES - 1],
  },
  {
    name: 'dga: the random label may sit below the registrable one',
    detector: () => new DistinctNameDetector(DGA),
    rows: () => queries(25, (i) => `www.${dgaName(i)}`, { rcode: RCODE_NXDOMAIN }),
    fires: [24],
  },
  {
    name: 'dga: 24 names do not',
    detector: () => new DistinctNameDetector(DGA),
    rows: () => queries(DGA_MIN_UNIQUE_NAMES - 1, (i) => dgaName(i), { rcode: RCODE_NXDOMAIN }),
    fires: [],
  },
  {
    name: 'dga: random names that resolve do not',
    detector: () => new DistinctNameDetector(DGA),
    rows: () => queries(100, (i) => dgaName(i)),
    fires: [],
  },
  {
    name: 'dga: NXDOMAIN answers of the blocking policy do not',
    detector: () => new DistinctNameDetector(DGA),
    rows: () => queries(100, (i) => dgaName(i), { rcode: RCODE_NXDOMAIN, policy: 'BLOCKED' }),
    fires: [],
  },
  {
    name: 'dga: repetitive labels (search-list expansions, typos) do not',
    detector: () => new DistinctNameDetector(DGA),
    rows: () => queries(100, (i) => `wwwwwwww${i}.home.lan`, { rcode: RCODE_NXDOMAIN }),
    fires: [],
  },
  {
    name: 'dga: labels shorter than 8 characters do not',
    detector: () => new DistinctNameDetector(DGA),
    rows: () => queries(100, (i) => dgaName(i, 7), { rcode: RCODE_NXDOMAIN }),
    fires: [],
  },
  {
    name: 'dga: fires once per cooldown',
    detector: () => new DistinctNameDetector(DGA),
    rows: () => queries(700, (i) => dgaName(i), { rcode: RCODE_NXDOMAIN, everyMs: 1_000 }),
    fires: [24, 24 + COOLDOWN_MS / 1_000],
  },
  // nxdomain-burst
  {
    name: 'nxdomain-burst: 100 NXDOMAIN answers within a minute fire on the 100th',
    detector: () => new RateDetector(NXDOMAIN_BURST),
    rows: () => queries(150, (i) => `host${i}.example.com`, { rcode: RCODE_NXDOMAIN, everyMs: 300 }),
    fires: [NXDOMAIN_THRESHOLD - 1],
  },
  {
    name: 'nxdomain-burst: 99 do not',
    detector: () => new RateDetector(NXDOMAIN_BURST),
    rows: () => queries(NXDOMAIN_THRESHOLD - 1, () => 'missing.example.com', { rcode: RCODE_NXDOMAIN }),
    fires: [],
  },
  {
    name: 'nxdomain-burst: answers that exist do not count',
    detector: () => new RateDetector(NXDOMAIN_BURST),
    rows: () => queries(500, () => 'www.example.com'),
    fires: [],
  },
  {
    name: 'nxdomain-burst: the blocking policy does not count',
    detector: () => new RateDetector(NXDOMAIN_BURST),
    rows: () => queries(500, () => 'ads.example.com', { rcode: RCODE_NXDOMAIN, policy: 'BLOCKED' }),
    fires: [],
  },
  {
    name: 'nxdomain-burst: 100 over five minutes do not',
    detector: () => new RateDetector(NXDOMAIN_BURST),
    rows: () => queries(100, () => 'missing.example.com', { rcode: RCODE_NXDOMAIN, everyMs: 3_000 }),
    fires: [],
  },
  // query-flood
  {
    name: 'query-flood: 3 000 queries within a minute fire on the 3 000th',
    detector: () => new RateDetector(QUERY_FLOOD),
    rows: () => queries(FLOOD_THRESHOLD + 500, () => 'www.example.com', { everyMs: 10 }),
    fires: [FLOOD_THRESHOLD - 1],
  },
  {
    name: 'query-flood: 2 999 do not',
    detector: () => new RateDetector(QUERY_FLOOD),
    rows: () => queries(FLOOD_THRESHOLD - 1, () => 'www.example.com', { everyMs: 10 }),
    fires: [],
  },
  {
    name: 'query-flood: 25 a second for ten minutes, consumed at once, does not (windows follow query time)',
    detector: () => new RateDetector(QUERY_FLOOD),
    rows: () => queries(15_000, () => 'www.example.com', { everyMs: 40 }),
    fires: [],
  },
  {
    name: 'query-flood: clients are counted apart',
    detector: () => new RateDetector(QUERY_FLOOD),
    rows: () => [
      ...queries(2_000, () => 'www.example.com', { client: '10.0.0.1', everyMs: 10 }),
      ...queries(2_000, () => 'www.example.com', { client: '10.0.0.2', everyMs: 10 }),
    ],
    fires: [],
  },
  // blocked-burst
  {
    name: 'blocked-burst: 200 blocked answers within five minutes fire on the 200th',
    detector: () => new RateDetector(BLOCKED_BURST),
    rows: () => queries(250, () => 'c2.example.org', { policy: 'BLOCKED', rcode: RCODE_NXDOMAIN, everyMs: 1_000 }),
    fires: [BLOCKED_THRESHOLD - 1],
  },
  {
    name: 'blocked-burst: 199 do not',
    detector: () => new RateDetector(BLOCKED_BURST),
    rows: () => queries(BLOCKED_THRESHOLD - 1, () => 'c2.example.org', { policy: 'BLOCKED' }),
    fires: [],
  },
  {
    name: 'blocked-burst: answers that passed do not count',
    detector: () => new RateDetector(BLOCKED_BURST),
    rows: () => queries(500, () => 'www.example.org'),
    fires: [],
  },
];

describe('detectors', () => {
  it.each(cases)('$name', ({ detector, rows, fires }) => {
    expect(run(detector(), rows()).map((f) => f.index)).toEqual(fires);
  });
});

describe('detection evidence', () => {
  it('tunneling: about the name and its apex, with counts, window, samples and entropy', () => {
    const rows = queries(30, (i) => tunnelName(i), { qtype: 16 });
    const [fired] = run(new DistinctNameDetector(TUNNELING), rows);
    expect(fired?.detection).toMatchObject({ kind: 'tunneling', severity: 'HIGH', qname: rows[29]?.domain, query: rows[29] });
    expect(fired?.detection.details).toEqual({
      window_seconds: '60',
      unique_names: '30',
      threshold: '30',
      samples: [27, 28, 29].map((i) => rows[i]?.domain).join(' '),
      max_entropy: expect.stringMatching(/^[34]\.\d\d$/) as unknown,
      apex: 'example.net',
    });
  });

  it('dga: about the name that tipped the window', () => {
    const rows = queries(25, (i) => dgaName(i), { rcode: RCODE_NXDOMAIN });
    const [fired] = run(new DistinctNameDetector(DGA), rows);
    expect(fired?.detection).toMatchObject({ kind: 'dga', severity: 'HIGH', qname: rows[24]?.domain });
    expect(fired?.detection.details).toMatchObject({ window_seconds: '300', unique_names: '25', threshold: '25' });
    expect(Number(fired?.detection.details.max_entropy)).toBeGreaterThanOrEqual(2.75);
  });

  it('rate detectors: about the client, with the count and the last names', () => {
    const rows = queries(100, (i) => `host${i}.example.com`, { rcode: RCODE_NXDOMAIN });
    const [fired] = run(new RateDetector(NXDOMAIN_BURST), rows);
    expect(fired?.detection).toMatchObject({ kind: 'nxdomain-burst', severity: 'MEDIUM', qname: null });
    expect(fired?.detection.details).toEqual({
      window_seconds: '60',
      count: '100',
      threshold: '100',
      samples: 'host97.example.com host98.example.com host99.example.com',
    });
  });
});

describe('createDetectors', () => {
  it('runs every kind', () => {
    expect(createDetectors().map((d) => d.kind)).toEqual(['tunneling', 'dga', 'nxdomain-burst', 'query-flood', 'blocked-burst']);
  });

  it('ordinary browsing fires nothing', () => {
    const sites = ['www.example.com', 'cdn.example.net', 'fonts.example.org', 'api.example.com', 'r3---sn-4g5e6nzz.example.com'];
    const rows = queries(2_000, (i) => sites[i % sites.length] ?? 'x.example', { everyMs: 150 });
    for (const detector of createDetectors()) expect(run(detector, rows)).toEqual([]);
  });

});
