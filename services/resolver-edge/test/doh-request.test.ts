import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { checkDohRequest, decodeBase64Url, dohCacheControl } from '../src/server/doh-server.js';
import { buildAnswer, buildQuery } from './support.js';

const query = buildQuery('example.test', { id: 0 });
const b64 = query.toString('base64url');

describe('checkDohRequest (RFC 8484)', () => {
  it.each([
    { name: 'GET with dns', method: 'GET', url: `/dns-query?dns=${b64}`, headers: {}, expected: { ok: true } },
    { name: 'GET with other params too', method: 'GET', url: `/dns-query?ct=x&dns=${b64}`, headers: {}, expected: { ok: true } },
    { name: 'GET without dns', method: 'GET', url: '/dns-query', headers: {}, expected: { ok: false, status: 400 } },
    { name: 'GET with empty dns', method: 'GET', url: '/dns-query?dns=', headers: {}, expected: { ok: false, status: 400 } },
    { name: 'GET with padding', method: 'GET', url: `/dns-query?dns=${b64}AA==`, headers: {}, expected: { ok: false, status: 400 } },
    { name: 'GET with bad base64url', method: 'GET', url: '/dns-query?dns=AAAA*AAA', headers: {}, expected: { ok: false, status: 400 } },
    { name: 'GET with impossible length', method: 'GET', url: '/dns-query?dns=AAAAA', headers: {}, expected: { ok: false, status: 400 } },
    { name: 'GET shorter than a header', method: 'GET', url: '/dns-query?dns=AAAA', headers: {}, expected: { ok: false, status: 400 } },
    { name: 'GET too large', method: 'GET', url: `/dns-query?dns=${'A'.repeat(90_000)}`, headers: {}, expected: { ok: false, status: 413 } },
    { name: 'wrong path', method: 'GET', url: `/other?dns=${b64}`, headers: {}, expected: { ok: false, status: 404 } },
    { name: 'POST', method: 'POST', url: '/dns-query', headers: { contentType: 'application/dns-message' }, expected: { ok: true, query: null } },
    { name: 'POST, type with parameter and case', method: 'POST', url: '/dns-query', headers: { contentType: 'Application/DNS-Message; x=y' }, expected: { ok: true } },
    { name: 'POST wrong content type', method: 'POST', url: '/dns-query', headers: { contentType: 'application/json' }, expected: { ok: false, status: 415 } },
    { name: 'POST without content type', method: 'POST', url: '/dns-query', headers: {}, expected: { ok: false, status: 415 } },
    { name: 'POST too large', method: 'POST', url: '/dns-query', headers: { contentType: 'application/dns-message', contentLength: '70000' }, expected: { ok: false, status: 413 } },
    { name: 'PUT', method: 'PUT', url: '/dns-query', headers: {}, expected: { ok: false, status: 405 } },
  ])('$name', ({ method, url, headers, expected }) => {
    expect(checkDohRequest(method, url, headers, '/dns-query')).toMatchObject(expected);
  });

  it('GET decodes the exact query bytes', () => {
    const r = checkDohRequest('GET', `/dns-query?dns=${b64}`, {}, '/dns-query');
    if (!r.ok || r.query === null) throw new Error('rejected');
    expect(r.query).toEqual(query);
  });

  it('decodeBase64Url decodes the RFC 8484 §4.1.1 example', () => {
    const example = 'AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB';
    const d = decodeBase64Url(example);
    if (d === null) throw new Error('rejected');
    expect(dnsPacket.decode(d).questions?.[0]?.name).toBe('www.example.com');
  });

  it('Cache-Control is the lowest TTL, 0 without records', () => {
    expect(dohCacheControl(buildAnswer(query))).toBe('max-age=60');
    expect(dohCacheControl(query)).toBe('max-age=0');
  });
});
