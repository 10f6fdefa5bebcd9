import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { RuntimeError } from './errors.js';
import { GhostExceptionFilter } from './exception.filter.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { isReadinessReporter } from './readiness.js';
import { READINESS } from './tokens.js';
import { RUNTIME, type ServiceRuntime } from './types.js';

/**
 * Global module the host imports once: provides RUNTIME (and READINESS),
 * serves /healthz, /readyz and /metrics, and installs the JSON error filter.
 */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(runtime: ServiceRuntime): DynamicModule {
    if (!isReadinessReporter(runtime.readiness)) {
      throw new RuntimeError(
        'GHOSTDNS_RUNTIME_INVALID_RUNTIME',
        'runtime.readiness must come from createReadinessRegistry() so /readyz can check it',
      );
    }
    return {
      module: RuntimeModule,
      global: true,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: READINESS, useValue: runtime.readiness },
        { provide: APP_FILTER, useClass: GhostExceptionFilter },
      ],
      exports: [RUNTIME, READINESS],
    };
  }
}
