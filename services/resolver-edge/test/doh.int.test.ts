// Integration: DNS over HTTPS (RFC 8484) with real clients: node:http2 (GET and
// POST over HTTP/2), node:https (HTTP/1.1 through allowHTTP1) and kdig +https,
// against resolver-edge forwarding to a real dnsmasq.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { parseConfig } from '@ghostdns/config';
import { freeUdpAndTcpPort, scratchDir, startDnsmasq, waitFor, type ManagedProcess } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResolverEdge } from '../src/resolver-edge.js';
import { makeCertificate, which } from './int-support.js';
import { RecordingMetrics, RecordingPublisher } from './support.js';

const execFileAsync = promisify(execFile);

interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function h2(session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    const chunks: Buffer[] = [];
    let status = 0;
    let responseHeaders: HttpReply['headers'] = {};
    req.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.end(body);
  });
}

function query(name: string, id = 0): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] });
}

describe('DNS over HTTPS', () => {
  const tmp = scratchDir();
  let tls: { cert: string; key: string };
  let ca: Buffer;
  let dnsmasq: ManagedProcess;
  let edge: ResolverEdge;
  let port = 0;
  let session: ClientHttp2Session;
  const metrics = new RecordingMetrics();

  beforeAll(async () => {
    tls = makeCertificate(tmp.dir);
    ca = readFileSync(tls.cert);
    const dnsmasqPort = await freeUdpAndTcpPort();
    dnsmasq = startDnsmasq(dnsmasqPort, { 'a.example.test': '192.0.2.10' });
    edge = new ResolverEdge({
      config: parseConfig({
        node: { id: 'doh-int', pop: 'lab' },
        dns: { listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${dnsmasqPort}`], upstreamTimeoutMs: 2000 },
        doh: { listen: '127.0.0.1:0', path: '/dns-query' },
        tls,
      }),
      publisher: new RecordingPublisher(),
      metrics,
      spoolDir: null,
    });
    port = (await edge.start()).doh?.port ?? 0;
    session = http2Connect(`https://localhost:${port}`, { ca });
    // dnsmasq is up once a DoH query through the edge is answered NOERROR.
    await waitFor(async () => {
      const r = await h2(session, { ':method': 'GET', ':path': `/dns-query?dns=${query('a.example.test').toString('base64url')}` });
      return r.status === 200 && (r.body[3] & 0x0f) === 0 && (dnsPacket.decode(r.body).answers?.length ?? 0) > 0;
    }, { timeoutMs: 10_000, description: 'DoH answering from dnsmasq' });
  });

  afterAll(async () => {
    session?.close();
    await edge?.stop({ drainTimeoutMs: 1000, flushTimeoutMs: 100 });
    await dnsmasq?.stop();
    tmp.remove();
  });

  it('HTTP/2 GET ?dns= base64url answers application/dns-message with max-age = min TTL', async () => {
    const r = await h2(session, { ':method': 'GET', ':path': `/dns-query?dns=${query('a.example.test').toString('base64url')}`, accept: 'application/dns-message' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/dns-message');
    const d = dnsPacket.decode(r.body);
    expect(d.id).toBe(0);
    expect(d.answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.10' });
    const first = d.answers?.[0];
    const ttl = first !== undefined && first.type === 'A' ? (first.ttl ?? -1) : -1;
    expect(r.headers['cache-control']).toBe(`max-age=${ttl}`);
    expect(metrics.count('requests|DOH|A')).toBeGreaterThanOrEqual(1);
  });

  it('HTTP/2 POST application/dns-message', async () => {
    const r = await h2(session, { ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' }, query('a.example.test', 0x1234));
    expect(r.status).toBe(200);
    expect(dnsPacket.decode(r.body)).toMatchObject({ id: 0x1234, answers: [{ type: 'A', data: '192.0.2.10' }] });
  });

  it('HTTP/1.1 POST through allowHTTP1 (node:https)', async () => {
    const body = query('a.example.test', 7);
    const r = await new Promise<HttpReply>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, servername: 'localhost', path: '/dns-query', method: 'POST', ca, headers: { 'content-type': 'application/dns-message', 'content-length': body.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/dns-message');
    expect(dnsPacket.decode(r.body).answers?.[0]).toMatchObject({ data: '192.0.2.10' });
  });

  it.each([
    { name: 'GET without dns: 400', headers: { ':method': 'GET', ':path': '/dns-query' }, status: 400 },
    { name: 'GET bad base64url: 400', headers: { ':method': 'GET', ':path': '/dns-query?dns=%%%' }, status: 400 },
    { name: 'POST wrong content type: 415', headers: { ':method': 'POST', ':path': '/dns-query', 'content-type': 'text/plain' }, status: 415, body: query('a.example.test') },
    { name: 'POST too large: 413', headers: { ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' }, status: 413, body: Buffer.alloc(70_000) },
    { name: 'POST not a DNS message: 400', headers: { ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' }, status: 400, body: Buffer.from([1, 2, 3]) },
    { name: 'other path: 404', headers: { ':method': 'GET', ':path': '/other' }, status: 404 },
    { name: 'PUT: 405', headers: { ':method': 'PUT', ':path': '/dns-query' }, status: 405 },
  ] as { name: string; headers: Record<string, string>; status: number; body?: Buffer }[])('$name', async ({ headers, status, body }) => {
    const r = await h2(session, headers, body);
    expect(r.status).toBe(status);
  });

  it('kdig +https (POST) and +https-get', async () => {
    const kdig = which('kdig');
    for (const mode of ['+https=/dns-query', '+https-get']) {
      const args = ['@127.0.0.1', '-p', String(port), mode, `+tls-ca=${tls.cert}`, '+tls-hostname=localhost', 'a.example.test', 'A'];
      if (mode === '+https-get') args.splice(3, 0, '+https=/dns-query');
      const { stdout } = await execFileAsync(kdig, args);
      expect(stdout).toMatch(/status: NOERROR/);
      expect(stdout).toMatch(/HTTP/);
      expect(stdout).toMatch(/192\.0\.2\.10/);
    }
  });
});
