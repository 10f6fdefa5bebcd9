import type { EventBus } from '@ghostdns/bus';
import type { GhostConfigInput } from '@ghostdns/config';
import { createTestRuntime, type TestRuntime } from '@ghostdns/runtime/testing';

export type { TestRuntime };

export function testRuntime(config: GhostConfigInput = {}, bus?: EventBus): TestRuntime {
  return createTestRuntime(config, bus ? { bus } : {});
}
