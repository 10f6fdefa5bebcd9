import { runDistributedService } from '@ghostdns/runtime';
import { PresenceServiceModule } from './presence-service.module.js';

await runDistributedService({ name: 'presence-service', module: PresenceServiceModule });
