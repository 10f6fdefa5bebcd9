import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { EventsGatewayService } from './events-gateway.service.js';
import { DEFAULT_EVENTS_GATEWAY_OPTIONS, EVENTS_GATEWAY_OPTIONS } from './options.js';
import type { EventsGatewayOptions } from './options.js';

/**
 * events-gateway: serves ws://host:port/ws/events on the Nest HTTP server
 * (Fastify) and streams live query, presence and security events to it.
 * Needs RUNTIME from RuntimeModule.forRoot(runtime).
 */
@Module({
  providers: [{ provide: EVENTS_GATEWAY_OPTIONS, useValue: DEFAULT_EVENTS_GATEWAY_OPTIONS }, EventsGatewayService],
  exports: [EventsGatewayService],
})
export class EventsGatewayModule {
  /** The module with some limits overridden (tests, embedding). */
  static withOptions(options: Partial<EventsGatewayOptions>): DynamicModule {
    return {
      module: EventsGatewayModule,
      providers: [
        { provide: EVENTS_GATEWAY_OPTIONS, useValue: Object.freeze({ ...DEFAULT_EVENTS_GATEWAY_OPTIONS, ...options }) },
        EventsGatewayService,
      ],
      exports: [EventsGatewayService],
    };
  }
}
