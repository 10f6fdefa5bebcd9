import 'reflect-metadata';
import { runDistributedService } from '@ghostdns/runtime';
import { RecordsApiModule } from './module.js';

await runDistributedService({ name: 'records-api', module: RecordsApiModule });
