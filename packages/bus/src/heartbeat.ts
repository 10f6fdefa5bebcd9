/**
 * kafkajs only heartbeats between batches; a handler slower than the session
 * timeout would get the member evicted and its partitions reassigned mid-batch.
 */
export async function withHeartbeats<T>(work: Promise<T>, heartbeat: () => Promise<void>, intervalMs: number): Promise<T> {
  const timer = setInterval(() => {
    // A failed heartbeat (rebalance in progress) surfaces at commit time, where
    // kafkajs rejoins and redelivers from the last committed offset.
    heartbeat().catch(() => undefined);
  }, Math.max(100, Math.floor(intervalMs / 2)));
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
