import { afterEach, describe, expect, it } from 'vitest';
import { TestkitError, freePort, requireComponent, waitFor } from '../src/index.js';

describe('requireComponent', () => {
  const saved = process.env.TEST_REDIS_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.TEST_REDIS_URL;
    else process.env.TEST_REDIS_URL = saved;
  });

  it('returns the harness address', () => {
    process.env.TEST_REDIS_URL = 'redis://127.0.0.1:1';
    expect(requireComponent('redis')).toBe('redis://127.0.0.1:1');
  });

  it('throws, naming the variable and `pnpm test`, when unset', () => {
    delete process.env.TEST_REDIS_URL;
    expect(() => requireComponent('redis')).toThrow(/TEST_REDIS_URL.*pnpm test/);
  });
});

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : false), { description: 'three polls', intervalMs: 1 })).resolves.toBe(3);
  });

  it('times out naming what it waited for and the last error', async () => {
    const err: unknown = await waitFor(
      () => {
        throw new Error('not yet');
      },
      { description: 'the impossible', timeoutMs: 30, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TestkitError);
    expect((err as TestkitError).message).toMatch(/the impossible.*not yet/);
  });
});

describe('freePort', () => {
  it('returns a usable port number', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });
});
