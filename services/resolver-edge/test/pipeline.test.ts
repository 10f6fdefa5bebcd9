import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type GhostConfigInput } from '@ghostdns/config';
import { afterAll, describe, expect, it } from 'vitest';
import type { Resolver } from '../src/dns/resolver.js';
import { noopResolverMetrics, silentLogger } from '../src/metrics.js';
import { buildPipeline, type Pipeline } from '../src/pipeline.js';
import { buildAnswer, buildQuery } from './support.js';

// The UDP fast path answers cache hits without entering the pipeline, so the
// pipeline hands it the outer stages' verdicts: ACLs, policy rules and RRL.

const dir = mkdtempSync(join(tmpdir(), 'ghostdns-pipeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const never: Resolver = { resolve: () => Promise.reject(new Error('not used')) };

async function pipeline(input: GhostConfigInput): Promise<Pipeline> {
  const p = buildPipeline({ config: parseConfig(input), metrics: noopResolverMetrics, logger: silentLogger, bus: null }, never);
  await p.start();
  return p;
}

describe('pipeline fast-path guard', () => {
  it.each([
    { client: '127.0.0.1', family: 'IPv4' as const, admitted: true },
    { client: '192.168.1.20', family: 'IPv4' as const, admitted: true },
    { client: '8.8.8.8', family: 'IPv4' as const, admitted: false },
    { client: '2001:db8::1', family: 'IPv6' as const, admitted: false },
    { client: 'fd00::1', family: 'IPv6' as const, admitted: true },
  ])('default ACL: $client admitted=$admitted', async ({ client, family, admitted }) => {
    const p = await pipeline({});
    expect(p.fastPathGuard.admit(buildQuery('example.com'), client, family)).toBe(admitted);
    await p.stop();
  });

  it('sends names a policy rule matches down the full path', async () => {
    const list = join(dir, 'block.txt');
    writeFileSync(list, 'ads.example.com\n');
    const p = await pipeline({ policy: { blocklists: [list], reloadInterval: 0 } });
    expect(p.fastPathGuard.admit(buildQuery('www.ads.example.com'), '127.0.0.1', 'IPv4')).toBe(false);
    expect(p.fastPathGuard.admit(buildQuery('example.com'), '127.0.0.1', 'IPv4')).toBe(true);
    await p.stop();
  });

  it('applies response rate limiting to fast-path answers: send, then slip or drop', async () => {
    const p = await pipeline({ rrl: { responsesPerSecond: 1, window: 1, slip: 2 } });
    const answer = buildAnswer(buildQuery('example.com'));
    const outcomes = Array.from({ length: 6 }, () => {
      const out = p.fastPathGuard.limit(answer, '127.0.0.1', 'IPv4');
      if (out === null) return 'drop';
      return out === answer ? 'send' : 'slip';
    });
    expect(outcomes[0]).toBe('send');
    expect(outcomes.slice(1)).toContain('drop');
    expect(outcomes.slice(1)).toContain('slip');
    await p.stop();
  });

  it('without RRL every answer is sent as it is', async () => {
    const p = await pipeline({});
    const answer = buildAnswer(buildQuery('example.com'));
    expect(p.fastPathGuard.limit(answer, '127.0.0.1', 'IPv4')).toBe(answer);
    await p.stop();
  });
});
