import { describe, expect, it } from 'vitest';
import { MAX_CUSTOM_DOMAIN, normalizeCustomDomain, sanitizeLabel } from '../src/presence-names.js';

describe('sanitizeLabel', () => {
  it.each([
    ['laptop', 'laptop'],
    ['Alice Laptop', 'alice-laptop'],
    ["Zoë's iPhone (2)", 'zoe-s-iphone-2'],
    ['__printer__', 'printer'],
    ['a.b.c', 'a-b-c'],
    ['-edge-', 'edge'],
    ['x'.repeat(70), 'x'.repeat(63)],
    [`${'a'.repeat(62)}-b`, 'a'.repeat(62)],
    ['123', '123'],
    ['!!!', null],
    ['', null],
    ['日本', null],
  ])('%j -> %j', (raw, label) => {
    expect(sanitizeLabel(raw)).toBe(label);
  });
});

describe('normalizeCustomDomain', () => {
  it.each([
    { raw: 'home.example', domain: 'home.example', ok: true },
    { raw: ' Home.Example. ', domain: 'home.example', ok: true },
    { raw: 'lan', domain: 'lan', ok: true },
    { raw: 'a..b', domain: 'a..b', ok: false },
    { raw: '-bad.example', domain: '-bad.example', ok: false },
    { raw: 'under_score.example', domain: 'under_score.example', ok: false },
    { raw: 'ten.0.0.1', domain: 'ten.0.0.1', ok: false },
    { raw: `${'a.'.repeat(MAX_CUSTOM_DOMAIN / 2)}x`, domain: `${'a.'.repeat(MAX_CUSTOM_DOMAIN / 2)}x`, ok: false },
  ])('$raw', ({ raw, domain, ok }) => {
    const result = normalizeCustomDomain(raw);
    expect(result.domain).toBe(domain);
    expect(result.problem === null).toBe(ok);
  });
});
