import { runDistributedService } from '@ghostdns/runtime';
import { EventsGatewayModule } from './events-gateway.module.js';

await runDistributedService({ name: 'events-gateway', module: EventsGatewayModule });
