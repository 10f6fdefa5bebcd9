import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import type { QueryEvent } from '@ghostdns/contracts';
import { scratchDir, waitFor } from '@ghostdns/testkit';
import type { QueryEventSink } from '../../services/resolver-edge/src/events/sink.js';
import { DnstapReceiver, FrameStreamDecoder, encodeDataFrame } from '../../services/resolver-edge/src/taps/dnstap/index.js';
import type { Benchmark, BenchmarkResult } from './report.js';

// The dnstap tap's throughput: a writer process pushes recorded Unbound 1.17
// frames (CLIENT_QUERY/RESPONSE and FORWARDER_QUERY/RESPONSE as Unbound sends
// them, the capture in resolver-edge's test fixtures) at full speed over a
// unix socket — READY/ACCEPT/START, the frames, STOP/FINISH — into a
// DnstapReceiver whose sink only counts. Measured in this process only (the
// writer is a child process): messages/s in, events/s out, CPU per million
// messages, heap.

const MESSAGES = Number(process.env.BENCH_DNSTAP_MESSAGES ?? 1_000_000);
const FIXTURE = new URL('../../services/resolver-edge/test/fixtures/dnstap/unbound-1.17.fstrm', import.meta.url);

class CountingSink implements QueryEventSink {
  count = 0;
  offer(_event: QueryEvent): void {
    this.count++;
  }
  get depth(): number {
    return 0;
  }
  async close(): Promise<void> {}
}

/** The fixture's data frames (payloads), in capture order. */
function recordedFrames(): Buffer[] {
  const frames: Buffer[] = [];
  new FrameStreamDecoder().push(readFileSync(FIXTURE), { data: (p) => frames.push(Buffer.from(p)), control: () => undefined });
  return frames;
}

// Plain Node (no TypeScript) so the writer starts fast: the fstrm bidirectional
// writer side, then the pre-encoded data frames streamed from a file.
const WRITER = `
const net = require('node:net'); const fs = require('node:fs');
const [sock, file] = process.argv.slice(1);
const ct = Buffer.from('protobuf:dnstap.Dnstap');
const control = (type, withCt) => { const b = Buffer.alloc(12 + (withCt ? 8 + ct.length : 0)); b.writeUInt32BE(b.length - 8, 4); b.writeUInt32BE(type, 8);
  if (withCt) { b.writeUInt32BE(1, 12); b.writeUInt32BE(ct.length, 16); ct.copy(b, 20); } return b; };
const s = net.connect(sock, () => s.write(control(4, true)));
let got = 0; let started = false;
s.on('data', (d) => { got += d.length; if (!started && got >= 12) { started = true; s.write(control(2, true));
  const r = fs.createReadStream(file, { highWaterMark: 1 << 20 }); r.pipe(s, { end: false }); r.on('end', () => s.write(control(3, false))); } });
s.on('close', () => process.exit(0));
`;

export const dnstapTapBenchmark: Benchmark = {
  title: 'dnstap tap: Frame Streams over a unix socket into QueryEvents',
  async run(): Promise<BenchmarkResult> {
    const scratch = scratchDir();
    try {
      const frames = recordedFrames();
      const framesFile = path.join(scratch.dir, 'frames.bin');
      const out = createWriteStream(framesFile);
      const encoded = Buffer.concat(frames.map(encodeDataFrame));
      const rounds = Math.ceil(MESSAGES / frames.length);
      for (let i = 0; i < rounds; i++) if (!out.write(encoded)) await once(out, 'drain');
      out.end();
      await once(out, 'finish');
      const messages = rounds * frames.length;

      const sink = new CountingSink();
      const socket = path.join(scratch.dir, 'dnstap.sock');
      const receiver = new DnstapReceiver({ listen: `unix:${socket}`, sink, node: { id: 'bench', pop: 'bench' } });
      await receiver.start();
      // One round of the capture is 6 exchanges (5 client, 1 forwarder): 6 events.
      const expectedEvents = rounds * 6;

      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      let heapPeak = heapBefore;
      const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 50);
      const cpuBefore = process.cpuUsage();
      const started = process.hrtime.bigint();
      const writer = spawn(process.execPath, ['-e', WRITER, socket, framesFile], { stdio: 'ignore' });
      await waitFor(() => sink.count >= expectedEvents, { description: `${expectedEvents} events`, timeoutMs: 600_000, intervalMs: 5 });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = process.cpuUsage(cpuBefore);
      clearInterval(sampler);
      await once(writer, 'exit');
      await receiver.stop();
      const cpuMs = (cpu.user + cpu.system) / 1000;
      return {
        columns: ['metric', 'value'],
        rows: [
          ['dnstap messages in', messages],
          ['query events out', sink.count],
          ['seconds', Number(seconds.toFixed(2))],
          ['messages/s', Math.round(messages / seconds)],
          ['events/s', Math.round(sink.count / seconds)],
          ['CPU ms per million messages (receiver process)', Math.round((cpuMs / messages) * 1e6)],
          ['heap before (MiB)', Number((heapBefore / 2 ** 20).toFixed(1))],
          ['heap peak (MiB, sampled every 50 ms)', Number((heapPeak / 2 ** 20).toFixed(1))],
        ],
        notes: [
          `${frames.length} frames recorded from Debian's Unbound 1.17 (client query/response and forwarder query/response), repeated ${rounds.toLocaleString('en-US')} times; BENCH_DNSTAP_MESSAGES sets the count.`,
          'The writer is a child process streaming pre-encoded frames; the receiver decodes, pairs, hashes each event_id (SHA-256) and offers to a counting sink on one core.',
        ],
      };
    } finally {
      scratch.remove();
    }
  },
};
