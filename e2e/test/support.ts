import dgram from 'node:dgram';
import { once } from 'node:events';
import dnsPacket from 'dns-packet';
import WebSocket from 'ws';

export async function queryUdp(port: number, name: string, type: 'A' | 'AAAA' = 'A', host = '127.0.0.1'): Promise<dnsPacket.Packet> {
  const socket = dgram.createSocket('udp4');
  try {
    const query = dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
    const answer = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DNS answer for ${name} on port ${port}`)), 5000);
      socket.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
    socket.send(query, port, host);
    return dnsPacket.decode(await answer);
  } finally {
    socket.close();
  }
}

export interface LiveEvent {
  type: string;
  domain?: string;
  client?: string;
}

/** Connects to the live stream and collects every JSON message. */
export async function connectLive(url: string): Promise<{ events: LiveEvent[]; close(): void }> {
  const socket = new WebSocket(url);
  const events: LiveEvent[] = [];
  // Text frames arrive as one Buffer: the gateway sends strings, never fragmented binary.
  socket.on('message', (data: Buffer) => events.push(JSON.parse(data.toString('utf8')) as LiveEvent));
  await once(socket, 'open');
  return { events, close: () => socket.close() };
}

/** The fields GhostScale reads from GET /api/v1/stats. */
export interface Stats {
  queries_total: number;
  tailscale_queries: number;
  cache_hit_rate: number;
  blocked_queries: number;
  average_latency: number;
}

export async function getStats(httpBase: string): Promise<Stats> {
  const response = await fetch(`${httpBase}/api/v1/stats`);
  if (response.status !== 200) throw new Error(`stats answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Stats;
}
