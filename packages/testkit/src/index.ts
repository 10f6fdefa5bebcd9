export { startHarness, ALL_COMPONENTS } from './harness.js';
export type { Harness, HarnessOptions } from './harness.js';
export type { HarnessLogger } from './components.js';
export { requireComponent, timescalePoolMax, COMPONENT_ENV, TIMESCALE_POOL_MAX_ENV } from './require.js';
export type { ComponentName } from './require.js';
export { waitFor, freePort } from './wait.js';
export type { WaitForOptions } from './wait.js';
export { TestkitError } from './errors.js';
export type { TestkitErrorCode } from './errors.js';
export { killAllTracked, trackedProcesses } from './processes.js';
export * from './schema-registry-standin.js';
export {
  repoRoot, freeUdpAndTcpPort, startProcess, startTsx, startDnsmasq, waitForHttp, startKafkaMock,
  createScratchDatabase, scratchDir,
} from './journeys.js';
export type { ManagedProcess, KafkaMock, ScratchDatabase } from './journeys.js';
export { startNamed } from './named.js';
export type { Named, NamedOptions } from './named.js';
