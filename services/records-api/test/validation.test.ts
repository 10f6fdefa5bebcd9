import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/errors.js';
import { normalizeName, normalizeValue, parseRecordFilter, parseRecordPost, parseRecordPut } from '../src/records/validation.js';

function problem(fn: () => unknown): { status: number; code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('did not throw');
}

const SEED = { action: 'register', domain: 'monitoring.mycompany.ts.net', type: 'A', value: '100.64.0.10', ttl: 300, metadata: { service: 'monitoring-dashboard', health_check: '/health', managed_by: 'ghostscale' } };

describe('parseRecordPost', () => {
  it("reads the seed's Service Registration body", () => {
    expect(parseRecordPost(SEED)).toEqual({ action: 'register', name: 'monitoring.mycompany.ts.net', type: 'A', values: ['100.64.0.10'], ttl: 300, metadata: SEED.metadata });
  });

  it('reads the service-mesh variant as a text/plain string: no action, no ttl', () => {
    const body = JSON.stringify({ domain: 'api.payments.svc.ts.net', type: 'A', value: '100.64.0.20', metadata: { namespace: 'payments', version: '1.2.3', health_endpoint: '/healthz' } });
    expect(parseRecordPost(body)).toMatchObject({ action: 'register', name: 'api.payments.svc.ts.net', ttl: undefined, values: ['100.64.0.20'] });
  });

  it('normalises names, types and values; dedupes values', () => {
    expect(parseRecordPost({ name: 'WWW.Example.COM.', type: 'aaaa', values: ['2001:DB8::1', '2001:db8::1'] })).toMatchObject({
      name: 'www.example.com', type: 'AAAA', values: ['2001:db8::1'],
    });
    expect(parseRecordPost({ domain: '_sip._tcp.example.com', type: 'SRV', value: '10  5 5060 SIP.example.com.' }).values).toEqual(['10 5 5060 sip.example.com']);
    expect(parseRecordPost({ domain: 'example.com', type: 'MX', value: '10 mail.example.com' }).values).toEqual(['10 mail.example.com']);
    expect(parseRecordPost({ domain: '1.2.0.192.in-addr.arpa', type: 'PTR', value: 'host.example.com' }).values).toEqual(['host.example.com']);
    expect(parseRecordPost({ domain: 'example.com', type: 'TXT', value: 'v=spf1 -all' }).values).toEqual(['v=spf1 -all']);
  });

  it.each([
    ['not JSON text', '{nope', ''],
    ['no domain', { type: 'A', value: '192.0.2.1' }, "'domain'"],
    ['no type', { domain: 'a.example.com', value: '192.0.2.1' }, "'type'"],
    ['an unknown type', { domain: 'a.example.com', type: 'NS', value: 'ns.example.com' }, "'type'"],
    ['no value', { domain: 'a.example.com', type: 'A' }, "'value'"],
    ['value and values', { domain: 'a.example.com', type: 'A', value: '192.0.2.1', values: ['192.0.2.2'] }, "'values'"],
    ['domain and name', { domain: 'a.example.com', name: 'b.example.com', type: 'A', value: '192.0.2.1' }, "'name'"],
    ['an unknown field', { domain: 'a.example.com', type: 'A', value: '192.0.2.1', priority: 1 }, "'priority'"],
    ['an unknown action', { action: 'upsert', domain: 'a.example.com', type: 'A', value: '192.0.2.1' }, "'action'"],
    ['a bad IPv4', { domain: 'a.example.com', type: 'A', value: '300.1.1.1' }, "'value'"],
    ['an IPv6 in an A', { domain: 'a.example.com', type: 'A', value: '2001:db8::1' }, "'value'"],
    ['an IPv4 in an AAAA', { domain: 'a.example.com', type: 'AAAA', value: '192.0.2.1' }, "'value'"],
    ['a bad value among several', { domain: 'a.example.com', type: 'A', values: ['192.0.2.1', 'x'] }, "'values.1'"],
    ['no values', { domain: 'a.example.com', type: 'A', values: [] }, "'values'"],
    ['two CNAME targets', { domain: 'a.example.com', type: 'CNAME', values: ['b.example.com', 'c.example.com'] }, "'values'"],
    ['a CNAME to a non-name', { domain: 'a.example.com', type: 'CNAME', value: 'not a name' }, "'value'"],
    ['an MX without exchange', { domain: 'a.example.com', type: 'MX', value: '10' }, "'value'"],
    ['an MX preference too big', { domain: 'a.example.com', type: 'MX', value: '70000 mail.example.com' }, "'value'"],
    ['an SRV with three fields', { domain: 'a.example.com', type: 'SRV', value: '1 2 3' }, "'value'"],
    ['a TXT with a control character', { domain: 'a.example.com', type: 'TXT', value: 'a\u0007b' }, "'value'"],
    ['a TXT too long', { domain: 'a.example.com', type: 'TXT', value: 'x'.repeat(3000) }, "'value'"],
    ['a single-label name', { domain: 'localhost', type: 'A', value: '127.0.0.1' }, "'domain'"],
    ['a name with a space', { domain: 'a b.example.com', type: 'A', value: '192.0.2.1' }, "'domain'"],
    ['a label over 63', { domain: `${'a'.repeat(64)}.example.com`, type: 'A', value: '192.0.2.1' }, "'domain'"],
    ['a wildcard', { domain: '*.example.com', type: 'A', value: '192.0.2.1' }, "'domain'"],
    ['ttl 0', { domain: 'a.example.com', type: 'A', value: '192.0.2.1', ttl: 0 }, "'ttl'"],
    ['ttl above 7 days', { domain: 'a.example.com', type: 'A', value: '192.0.2.1', ttl: 604_801 }, "'ttl'"],
    ['a fractional ttl', { domain: 'a.example.com', type: 'A', value: '192.0.2.1', ttl: 1.5 }, "'ttl'"],
    ['a string ttl', { domain: 'a.example.com', type: 'A', value: '192.0.2.1', ttl: '300' }, "'ttl'"],
    ['nested metadata', { domain: 'a.example.com', type: 'A', value: '192.0.2.1', metadata: { a: { b: 1 } } }, "'metadata.a'"],
    ['metadata not an object', { domain: 'a.example.com', type: 'A', value: '192.0.2.1', metadata: 'x' }, "'metadata'"],
    ['an array body', [1, 2], ''],
  ])('400 for %s, naming the field', (_label, body, field) => {
    const p = problem(() => parseRecordPost(body));
    expect(p).toMatchObject({ status: 400, code: 'GHOSTDNS_API_INVALID_BODY' });
    expect(p.message).toContain(field);
  });
});

describe('parseRecordPut', () => {
  it('keeps value(s) raw for the stored type and normalises the name', () => {
    expect(parseRecordPut({ values: ['192.0.2.1'], ttl: 60, domain: 'A.example.com' })).toEqual({
      name: 'a.example.com', type: undefined, value: undefined, values: ['192.0.2.1'], ttl: 60, metadata: undefined,
    });
  });
  it('400 for an action (PUT replaces)', () => {
    expect(problem(() => parseRecordPut({ action: 'register', values: ['192.0.2.1'] })).message).toContain("'action'");
  });
});

describe('normalizeName / normalizeValue', () => {
  it.each([
    ['Host.Example.COM.', 'host.example.com'],
    ['_dmarc.example.com', '_dmarc.example.com'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ])('%s -> %s', (raw, name) => expect(normalizeName('domain', raw)).toBe(name));
  it.each([['-bad.example.com'], ['bad-.example.com'], ['a..example.com'], [`${'a.'.repeat(127)}com`]])('rejects %s', (raw) => {
    expect(problem(() => normalizeName('domain', raw)).message).toContain("'domain'");
  });
  it('accepts the edges of SRV numbers', () => {
    expect(normalizeValue('value', 'SRV', '0 0 65535 a.example.com')).toBe('0 0 65535 a.example.com');
  });
});

describe('parseRecordFilter', () => {
  it('defaults and normalises', () => {
    expect(parseRecordFilter({})).toEqual({ name: undefined, type: undefined, zone: undefined, limit: 100, offset: 0 });
    expect(parseRecordFilter({ domain: 'A.example.com', type: 'cname', zone: 'Example.com.', limit: '5', offset: '10' })).toEqual({
      name: 'a.example.com', type: 'CNAME', zone: 'example.com', limit: 5, offset: 10,
    });
  });
  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '1001' }, 'limit'],
    [{ offset: '-1' }, 'offset'],
    [{ type: 'NS' }, 'type'],
    [{ name: 'a b' }, 'name'],
    [{ name: ['a.com', 'b.com'] }, 'name'],
    [{ sort: 'name' }, 'sort'],
  ])('400 for %o naming %s', (query, parameter) => {
    const p = problem(() => parseRecordFilter(query));
    expect(p).toMatchObject({ status: 400, code: 'GHOSTDNS_API_INVALID_PARAMETER' });
    expect(p.message).toContain(`'${parameter}'`);
  });
});
