import { describe, expect, it } from 'vitest';
import { dnsClassName, dnsTypeName, rcodeName } from '../src/dns-names.js';

describe('dnsTypeName', () => {
  it.each([
    [1, 'A'],
    [2, 'NS'],
    [5, 'CNAME'],
    [6, 'SOA'],
    [12, 'PTR'],
    [15, 'MX'],
    [16, 'TXT'],
    [28, 'AAAA'],
    [33, 'SRV'],
    [41, 'OPT'],
    [43, 'DS'],
    [48, 'DNSKEY'],
    [255, 'ANY'],
    [257, 'CAA'],
    // No mnemonic: the RFC 3597 §5 generic form.
    [0, 'TYPE0'],
    [65280, 'TYPE65280'],
    [65535, 'TYPE65535'],
  ])('%i -> %s', (type, name) => {
    expect(dnsTypeName(type)).toBe(name);
  });
});

describe('dnsClassName', () => {
  it.each([
    [1, 'IN'],
    [3, 'CH'],
    [4, 'HS'],
    [255, 'ANY'],
    [0, 'CLASS0'],
    [32769, 'CLASS32769'],
  ])('%i -> %s', (dnsClass, name) => {
    expect(dnsClassName(dnsClass)).toBe(name);
  });
});

describe('rcodeName', () => {
  it.each([
    [0, 'NOERROR'],
    [1, 'FORMERR'],
    [2, 'SERVFAIL'],
    [3, 'NXDOMAIN'],
    [4, 'NOTIMP'],
    [5, 'REFUSED'],
    [9, 'NOTAUTH'],
    [10, 'NOTZONE'],
    [11, 'RCODE11'],
    [23, 'RCODE23'],
    [null, null],
  ])('%s -> %s', (rcode, name) => {
    expect(rcodeName(rcode)).toBe(name);
  });
});
