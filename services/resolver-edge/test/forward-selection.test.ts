import { describe, expect, it } from 'vitest';
import { SrttSelector } from '../src/upstream/srtt.js';
import { ForwardZoneTable, normalizeDomain } from '../src/upstream/forward-zones.js';

/** A clock and a scripted random source. */
function env(randoms: number[] = []) {
  let now = 0;
  const queue = [...randoms];
  return {
    now: () => now,
    advance: (ms: number) => (now += ms),
    random: () => queue.shift() ?? 0.99,
  };
}

describe('SrttSelector', () => {
  it('starts from the initial spread and prefers the lowest SRTT', () => {
    const e = env([0.9, 0.1, 0.5]); // initial SRTTs 1.8, 0.2, 1.0 ms
    const s = new SrttSelector(3, { now: e.now, random: e.random, initialSpreadMs: 2 });
    expect(s.order()).toEqual([1, 2, 0]);
  });

  it.each([
    { name: 'a faster sample moves an upstream ahead', samples: [[0, 50], [1, 5]], expected: [1, 0] },
    { name: 'a timeout penalty demotes the fastest', samples: [[0, 1], [1, 5], [0, 2000]], expected: [1, 0] },
    { name: 'equal samples keep configured order', samples: [[0, 10], [1, 10]], expected: [0, 1] },
  ] as const)('$name', ({ samples, expected }) => {
    const e = env();
    const s = new SrttSelector(2, { now: e.now, random: () => 0, exploreProbability: 0 });
    for (const [i, ms] of samples) s.sample(i, ms);
    expect(s.order()).toEqual(expected);
  });

  it('smooths with weight 0.3 (BIND-like)', () => {
    const e = env();
    const s = new SrttSelector(1, { now: e.now, random: () => 0 });
    s.sample(0, 100);
    expect(s.srtt(0)).toBeCloseTo(30);
    s.sample(0, 100);
    expect(s.srtt(0)).toBeCloseTo(51);
  });

  it('ages an unused SRTT so a penalised upstream is tried again', () => {
    const e = env();
    const s = new SrttSelector(2, { now: e.now, random: () => 0, exploreProbability: 0, decayPerSecond: 0.5 });
    s.penalize(0, 2000); // 600 ms
    s.sample(1, 100); // 30 ms
    expect(s.order()).toEqual([1, 0]);
    e.advance(1000);
    expect(s.srtt(0)).toBeCloseTo(300);
    expect(s.srtt(1)).toBeCloseTo(15);
    // B keeps being measured at 100 ms while A ages untouched.
    for (let i = 0; i < 5; i++) {
      e.advance(1000);
      s.sample(1, 100);
    }
    expect(s.srtt(0)).toBeLessThan(s.srtt(1));
    expect(s.order()).toEqual([0, 1]);
  });

  it.each([
    { name: 'no exploration above the probability', randoms: [0.5], expected: [0, 1, 2] },
    { name: 'exploration picks the second', randoms: [0.01, 0.0], expected: [1, 0, 2] },
    { name: 'exploration picks the third', randoms: [0.01, 0.99], expected: [2, 0, 1] },
  ])('$name', ({ randoms, expected }) => {
    const e = env();
    const s = new SrttSelector(3, { now: e.now, random: () => 0, exploreProbability: 0.05 });
    s.sample(0, 1);
    s.sample(1, 10);
    s.sample(2, 100);
    const scripted = new SrttSelector(3, { now: e.now, random: (() => { const q = [0, 0, 0, ...randoms]; return () => q.shift() ?? 0.99; })(), exploreProbability: 0.05 });
    scripted.sample(0, 1);
    scripted.sample(1, 10);
    scripted.sample(2, 100);
    expect(s.order().length).toBe(3);
    expect(scripted.order()).toEqual(expected);
  });

  it('a single upstream is always first', () => {
    const s = new SrttSelector(1, { random: () => 0 });
    expect(s.order()).toEqual([0]);
  });
});

describe('ForwardZoneTable (longest suffix wins)', () => {
  const table = new ForwardZoneTable<string>([
    ['ts.net', 'tailnet'],
    ['corp.ts.net.', 'corp'],
    ['EXAMPLE.com', 'example'],
    ['in-addr.arpa', 'reverse'],
  ]);
  it.each([
    { name: 'exact', qname: 'ts.net', expected: 'tailnet' },
    { name: 'child', qname: 'host.ts.net', expected: 'tailnet' },
    { name: 'longer zone', qname: 'a.b.corp.ts.net', expected: 'corp' },
    { name: 'case-insensitive', qname: 'WWW.Example.COM', expected: 'example' },
    { name: 'whole labels only', qname: 'notts.net', expected: undefined },
    { name: 'parent of a zone', qname: 'net', expected: undefined },
    { name: 'reverse', qname: '1.0.0.10.in-addr.arpa', expected: 'reverse' },
    { name: 'root name', qname: '', expected: undefined },
  ])('$name', ({ qname, expected }) => {
    expect(table.match(qname)).toBe(expected);
  });

  it('a root zone catches everything not more specific', () => {
    const t = new ForwardZoneTable<string>([['.', 'root'], ['ts.net', 'tailnet']]);
    expect(t.match('example.org')).toBe('root');
    expect(t.match('')).toBe('root');
    expect(t.match('x.ts.net')).toBe('tailnet');
  });

  it.each([
    ['Example.COM.', 'example.com'],
    ['.', ''],
    ['', ''],
    ['ts.net', 'ts.net'],
  ])('normalizeDomain(%j) = %j', (input, expected) => {
    expect(normalizeDomain(input)).toBe(expected);
  });
});
