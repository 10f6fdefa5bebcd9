import 'reflect-metadata';
import { runDistributedService } from '@ghostdns/runtime';
import { IngestWorkerModule } from './module.js';

await runDistributedService({ name: 'ingest-worker', module: IngestWorkerModule });
