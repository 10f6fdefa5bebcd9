import { describe, expect, it } from 'vitest';
import { normalizePolicyDomain } from '../src/policy-domains.js';

describe('normalizePolicyDomain', () => {
  it.each([
    ['Example.COM.', 'example.com'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['BÜCHER.example', 'xn--bcher-kva.example'],
    ['_dmarc.example.com', '_dmarc.example.com'],
    ['', null],
    ['.', null],
    ['a..b', null],
    ['10.0.0.1', null],
    ['a b', null],
    ['ex*mple.com', null],
  ])('normalizePolicyDomain(%j) = %j', (raw, expected) => {
    expect(normalizePolicyDomain(raw)).toBe(expected);
  });
});
