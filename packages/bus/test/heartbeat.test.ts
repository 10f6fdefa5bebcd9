import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withHeartbeats } from '../src/heartbeat.js';

describe('withHeartbeats', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('heartbeats at half the interval while the work is pending and leaves no timer behind', async () => {
    let beats = 0;
    let finish!: () => void;
    const work = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const running = withHeartbeats(work, async () => void beats++, 1_000);
    await vi.advanceTimersByTimeAsync(1_600);
    expect(beats).toBe(3);
    finish();
    await running;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a failing heartbeat does not fail the work, and a failing work still clears the timer', async () => {
    const failing = async (): Promise<void> => {
      throw new Error('REBALANCE_IN_PROGRESS');
    };
    const slow = new Promise<number>((resolve) => setTimeout(() => resolve(42), 500));
    const result = withHeartbeats(slow, failing, 100);
    await vi.advanceTimersByTimeAsync(600);
    await expect(result).resolves.toBe(42);
    await expect(withHeartbeats(Promise.reject(new Error('sink down')), failing, 100)).rejects.toThrow('sink down');
    expect(vi.getTimerCount()).toBe(0);
  });
});
