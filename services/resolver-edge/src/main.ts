import 'reflect-metadata';
import { runDistributedService } from '@ghostdns/runtime';
import { ResolverEdgeModule } from './index.js';

await runDistributedService({ name: 'resolver-edge', module: ResolverEdgeModule });
