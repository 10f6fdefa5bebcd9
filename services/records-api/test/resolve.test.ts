import dgram from 'node:dgram';
import { once } from 'node:events';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordRow } from '../src/records/records.repository.js';
import { DnsTimeoutError, targetOf, udpExchange, type DnsExchange } from '../src/resolve/dns-exchange.js';
import { ResolveService } from '../src/resolve/resolve.service.js';
import { apiError } from './support/stubs.js';

const row = (type: string): RecordRow =>
  ({ id: `id-${type}`, name: 'svc.example.ts.net', type, ttl: 60, values: ['100.64.1.1'], metadata: {}, createdAt: new Date(), updatedAt: new Date(), createdBy: 'x', updatedBy: 'x' }) as RecordRow;

/** An exchange that answers like resolver-edge would, built with dns-packet. */
function answering(flags: number, answers: dnsPacket.Answer[], asked: Buffer[] = []): DnsExchange {
  return async (query, id) => {
    asked.push(query);
    const q = dnsPacket.decode(query);
    return dnsPacket.encode({ type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | flags, questions: q.questions, answers });
  };
}

const service = (exchange: DnsExchange, rows: RecordRow[] = []): ResolveService =>
  new ResolveService(exchange, async () => rows, '127.0.0.1:5353', 'vpn.local');

describe('ResolveService', () => {
  it('reports the answer of a dynamic record with its source and record ids', async () => {
    const asked: Buffer[] = [];
    const exchange = answering(dnsPacket.AUTHORITATIVE_ANSWER, [{ type: 'A', name: 'svc.example.ts.net', ttl: 60, data: '100.64.1.1' }], asked);
    const result = await service(exchange, [row('A'), row('TXT')]).resolve('SVC.example.ts.net.', {});
    expect(result.status).toBe(200);
    expect(result.body).toStrictEqual({
      name: 'svc.example.ts.net', type: 'A', rcode: 'NOERROR', source: 'dynamic_record', authoritative: true, truncated: false,
      answers: [{ name: 'svc.example.ts.net', type: 'A', ttl: 60, data: '100.64.1.1' }], authority: [], record_ids: ['id-A'], resolver: '127.0.0.1:5353',
    });
    const query = dnsPacket.decode(asked[0] ?? Buffer.alloc(0));
    expect(query.questions).toEqual([{ name: 'svc.example.ts.net', type: 'A', class: 'IN' }]);
  });

  it.each([
    ['www.example.com', 0, 'resolver'],
    ['laptop.vpn.local', dnsPacket.AUTHORITATIVE_ANSWER, 'presence'],
    ['host.corp.example', dnsPacket.AUTHORITATIVE_ANSWER, 'local_zone'],
  ])('%s (flags %i) comes from %s', async (name, flags, source) => {
    const result = await service(answering(flags, [{ type: 'MX', name, ttl: 30, data: { preference: 10, exchange: 'mx.example.com' } }])).resolve(name, { type: 'mx' });
    expect(result.body).toMatchObject({ source, type: 'MX', answers: [{ type: 'MX', data: '10 mx.example.com' }] });
  });

  it('NXDOMAIN is 404 with the resolution and GHOSTDNS_API_NAME_NOT_FOUND; SERVFAIL is 502', async () => {
    const nx = await service(answering(3, [])).resolve('gone.example.com', {});
    expect(nx.status).toBe(404);
    expect(nx.body).toMatchObject({ rcode: 'NXDOMAIN', source: 'resolver', error: { code: 'GHOSTDNS_API_NAME_NOT_FOUND' } });
    const fail = await service(answering(2, [])).resolve('broken.example.com', {});
    expect(fail.status).toBe(502);
    expect(fail.body).toMatchObject({ rcode: 'SERVFAIL', error: { code: 'GHOSTDNS_API_RESOLVE_FAILED' } });
  });

  it.each([
    ['bad name!', {}, 'name'],
    ['a..b', {}, 'name'],
    ['ok.example.com', { type: 'AXFR' }, 'type'],
    ['ok.example.com', { class: 'CH' }, 'class'],
  ])('400 for %s %j naming %s', async (name, query, field) => {
    const error = await apiError(service(answering(0, [])).resolve(name, query));
    expect([error.status, error.code]).toEqual([400, 'GHOSTDNS_API_INVALID_PARAMETER']);
    expect(error.message).toContain(`'${field}'`);
  });

  it('504 when resolver-edge does not answer, 503 on a socket error; no cause in the message', async () => {
    const timeout = await apiError(service(async () => Promise.reject(new DnsTimeoutError('x'))).resolve('a.example.com', {}));
    expect([timeout.status, timeout.code]).toEqual([504, 'GHOSTDNS_API_RESOLVER_UNAVAILABLE']);
    const refused = await apiError(service(async () => Promise.reject(new Error('EHOSTUNREACH 10.1.1.1'))).resolve('a.example.com', {}));
    expect([refused.status, refused.code]).toEqual([503, 'GHOSTDNS_API_RESOLVER_UNAVAILABLE']);
    expect(refused.message).not.toContain('EHOSTUNREACH');
  });

  it('502 when the answer is for another question', async () => {
    const other: DnsExchange = async (_q, id) => dnsPacket.encode({ type: 'response', id, questions: [{ type: 'A', name: 'other.example.com' }] });
    const error = await apiError(service(other).resolve('a.example.com', {}));
    expect([error.status, error.code]).toEqual([502, 'GHOSTDNS_API_RESOLVE_FAILED']);
  });
});

describe('udpExchange', () => {
  let server: dgram.Socket;
  let port = 0;
  beforeAll(async () => {
    server = dgram.createSocket('udp4');
    server.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      // A datagram with the wrong ID first (ignored), then the answer.
      server.send(dnsPacket.encode({ type: 'response', id: ((q.id ?? 0) + 1) & 0xffff, questions: q.questions }), rinfo.port, rinfo.address);
      if (q.questions?.[0]?.name !== 'silent.example.com') {
        server.send(dnsPacket.encode({ type: 'response', id: q.id, questions: q.questions, answers: [{ type: 'A', name: 'x.example.com', data: '192.0.2.1' }] }), rinfo.port, rinfo.address);
      }
    });
    server.bind(0, '127.0.0.1');
    await once(server, 'listening');
    port = server.address().port;
  });
  afterAll(() => server.close());

  it('maps a wildcard listener to loopback', () => {
    expect(targetOf({ host: '0.0.0.0', port: 53 })).toEqual({ host: '127.0.0.1', port: 53 });
    expect(targetOf({ host: '::', port: 53 })).toEqual({ host: '::1', port: 53 });
    expect(targetOf({ host: '10.0.0.1', port: 53 })).toEqual({ host: '10.0.0.1', port: 53 });
  });

  it('returns the reply with our ID and ignores others', async () => {
    const exchange = udpExchange({ host: '127.0.0.1', port }, 5_000);
    const reply = dnsPacket.decode(await exchange(dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'x.example.com' }] }), 7));
    expect(reply.id).toBe(7);
    expect(reply.answers?.[0]).toMatchObject({ data: '192.0.2.1' });
  });

  it('rejects with DnsTimeoutError when no matching reply arrives', async () => {
    const exchange = udpExchange({ host: '127.0.0.1', port }, 200);
    const error = await exchange(dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'silent.example.com' }] }), 9).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DnsTimeoutError);
  });
});
