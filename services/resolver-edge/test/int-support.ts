// Helpers shared by the integration tests (not a test file itself): real
// sockets, a real dnsmasq upstream, external tools and TLS material.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freeUdpAndTcpPort, startDnsmasq, waitFor, type ManagedProcess } from '@ghostdns/testkit';
import dnsPacket from 'dns-packet';
import { frame, TcpFramer } from '../src/server/tcp-framing.js';

/** Absolute path of an external tool the test needs; throws (naming the Debian package) when it is missing. */
export function which(bin: string): string {
  try {
    return execFileSync('which', [bin], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${bin} is required for this integration test (apt-get install ${bin === 'dig' ? 'bind9-dnsutils' : bin})`);
  }
}

/** One query over UDP to `host`:`port` (default 127.0.0.1); the first datagram back. */
export async function udpQuery(port: number, msg: Buffer, timeoutMs = 5_000, host = '127.0.0.1'): Promise<Buffer> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('udp query timed out')), timeoutMs);
      socket.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      socket.send(msg, port, host, (err) => {
        if (err) reject(err);
      });
    });
  } finally {
    socket.close();
  }
}

/** Several queries pipelined on one TCP connection to `host`:`port` (default 127.0.0.1); the answers in arrival order. */
export async function tcpQueries(port: number, msgs: readonly Buffer[], timeoutMs = 5_000, host = '127.0.0.1'): Promise<Buffer[]> {
  const socket = connect({ port, host });
  const framer = new TcpFramer();
  const answers: Buffer[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('tcp queries timed out')), timeoutMs);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        answers.push(...framer.push(chunk));
        if (answers.length === msgs.length) {
          clearTimeout(timer);
          resolve();
        }
      });
      socket.on('connect', () => socket.write(Buffer.concat(msgs.map(frame))));
    });
  } finally {
    socket.destroy();
  }
  return answers;
}

/** A recursive A query for `name` (or `type`). */
export function query(name: string, id: number, type: dnsPacket.RecordType = 'A'): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
}

/** Waits until dnsmasq on `port` answers at all (dnsmasq reads its records before it listens); fails early if it exited. */
export async function waitForDnsmasq(port: number, dnsmasq: ManagedProcess): Promise<void> {
  await waitFor(async () => {
    if (dnsmasq.child.exitCode !== null) throw new Error(`dnsmasq exited:\n${dnsmasq.output()}`);
    try {
      await udpQuery(port, query('probe.invalid', 1), 200);
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 10_000, intervalMs: 50, description: `dnsmasq answering on ${port}` });
}

/**
 * Debian's dnsmasq (the testkit's startDnsmasq, with optional extra flags) on a free
 * loopback port, once it answers. The caller stops it.
 */
export async function startUpstream(
  records: Readonly<Record<string, string>>,
  extraArgs: readonly string[] = [],
): Promise<{ port: number; dnsmasq: ManagedProcess }> {
  which('dnsmasq');
  const port = await freeUdpAndTcpPort();
  const dnsmasq = startDnsmasq(port, records, extraArgs);
  try {
    await waitForDnsmasq(port, dnsmasq);
  } catch (err) {
    await dnsmasq.stop();
    throw err;
  }
  return { port, dnsmasq };
}

/** A self-signed P-256 certificate for localhost / 127.0.0.1, made by openssl in `dir`. */
export function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(which('openssl'), [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}
