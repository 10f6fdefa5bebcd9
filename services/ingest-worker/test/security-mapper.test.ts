import { describe, expect, it } from 'vitest';
import type { SecurityEvent } from '@ghostdns/contracts';
import { SECURITY_REJECT_REASONS, SecurityEventMapper, type SecurityRejectReason } from '../src/security-mapper.js';
import { securityEvent } from './fixtures.js';

const mapper = new SecurityEventMapper();

/** The fixture with one field set to a value its type would not allow (what a foreign publisher could send). */
function withRaw(field: keyof SecurityEvent, value: unknown): SecurityEvent {
  return { ...securityEvent(), [field]: value };
}

describe('SecurityEventMapper: a valid event', () => {
  it('maps every column, the microseconds kept and the details as JSON', () => {
    const event = securityEvent({ event_id: 'A3E1F6C2-0D4B-4C7A-9E2F-1B2C3D4E5F60' });
    expect(mapper.map(event)).toEqual({
      ok: true,
      row: {
        detected_at: '2024-05-01T12:05:00.000042Z',
        event_id: 'a3e1f6c2-0d4b-4c7a-9e2f-1b2c3d4e5f60',
        node_id: 'worker-1',
        kind: 'tunneling',
        severity: 'HIGH',
        client_ip: '100.101.102.103',
        qname: '0a1b2c3d4e5f60718293a4b5c6d7e8.example.net',
        details: '{"apex":"example.net","unique_names":"30","window_seconds":"60"}',
      },
    });
  });

  it.each([
    ['a detection about a client (qname null)', securityEvent({ qname: null, kind: 'query-flood', severity: 'MEDIUM' })],
    ['an IPv6 client', securityEvent({ client_ip: 'fd7a:115c:a1e0::7' })],
    ['empty details', securityEvent({ details: {} })],
    ['another publisher\'s kind', securityEvent({ kind: 'rrl.slip', severity: 'LOW' })],
  ])('keeps %s', (_name, event) => {
    expect(mapper.map(event).ok).toBe(true);
  });
});

describe('SecurityEventMapper: rejected events', () => {
  const cases: [string, SecurityEvent, SecurityRejectReason][] = [
    ['event_id not a UUID', securityEvent({ event_id: 'abc' }), 'invalid_event_id'],
    ['detected_at negative', securityEvent({ detected_at_us: -1 }), 'invalid_detected_at'],
    ['detected_at fractional', securityEvent({ detected_at_us: 1.5 }), 'invalid_detected_at'],
    ['empty kind', securityEvent({ kind: '' }), 'invalid_kind'],
    ['kind too long', securityEvent({ kind: 'k'.repeat(65) }), 'invalid_kind'],
    ['unknown severity', withRaw('severity', 'SEVERE'), 'invalid_enum'],
    ['client not an address', securityEvent({ client_ip: 'client-7' }), 'invalid_client_ip'],
    ['client with a zone id', securityEvent({ client_ip: 'fe80::1%eth0' }), 'invalid_client_ip'],
    ['empty qname', securityEvent({ qname: '' }), 'invalid_qname'],
    ['qname too long', securityEvent({ qname: 'a'.repeat(1_025) }), 'invalid_qname'],
    ['empty node_id', securityEvent({ node_id: '' }), 'invalid_node'],
    ['details not a map', withRaw('details', ['a']), 'invalid_details'],
    ['details missing', withRaw('details', null), 'invalid_details'],
    ['a detail not a string', withRaw('details', { count: 3 }), 'invalid_details'],
    ['a detail with NUL (jsonb cannot hold it)', securityEvent({ details: { sample: 'a\u0000b' } }), 'invalid_details'],
    ['a key with NUL', securityEvent({ details: { 'a\u0000': 'b' } }), 'invalid_details'],
    ['too many details', securityEvent({ details: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }), 'invalid_details'],
    ['details too large', securityEvent({ details: { samples: 'x'.repeat(16_400) } }), 'invalid_details'],
  ];

  it.each(cases)('%s', (_name, event, reason) => {
    const result = mapper.map(event);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('names every reason it can give', () => {
    expect(new Set(cases.map(([, , reason]) => reason))).toEqual(new Set(SECURITY_REJECT_REASONS));
  });

  it('splits a batch into rows and rejections, keeping order', () => {
    const good = securityEvent();
    const bad = securityEvent({ node_id: '' });
    const { rows, rejected } = mapper.mapBatch([good, bad]);
    expect(rows.map((r) => r.event_id)).toEqual([good.event_id]);
    expect(rejected).toEqual([{ event: bad, reason: 'invalid_node', detail: 'node_id=""' }]);
  });
});
