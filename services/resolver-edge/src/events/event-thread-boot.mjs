// Worker-thread bootstrap: registers tsx's loader inside the thread (a worker
// does not inherit the parent's --import hooks on Node 20), then loads the
// TypeScript entry named in workerData.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
