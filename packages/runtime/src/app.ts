import type { AddressInfo } from 'node:net';
import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { formatHostPort, parseHostPort } from '@ghostdns/config';
import { createNestLogger } from '@ghostdns/observability';
import { errorMessage, RuntimeError } from './errors.js';
import { RuntimeModule } from './runtime.module.js';
import type { ServiceRuntime } from './types.js';

/** Root of every GhostDNS Nest app; the real content comes in through imports. */
@Module({})
class GhostDnsAppModule {}

/**
 * One Nest app on Fastify with RuntimeModule.forRoot(runtime) and the given
 * service modules. Not listening yet (see listenHttp).
 */
export async function createHttpApp(runtime: ServiceRuntime, modules: readonly (Type | DynamicModule)[]): Promise<NestFastifyApplication> {
  try {
    return await NestFactory.create<NestFastifyApplication>(
      { module: GhostDnsAppModule, imports: [RuntimeModule.forRoot(runtime), ...modules] },
      new FastifyAdapter(),
      { logger: createNestLogger(runtime.logger), abortOnError: false },
    );
  } catch (error) {
    throw new RuntimeError('GHOSTDNS_RUNTIME_STARTUP_FAILED', `cannot build the HTTP app: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/** Listens on a host:port string (port 0 picks a free port); returns the http:// URL actually bound. */
export async function listenHttp(app: NestFastifyApplication, listen: string): Promise<string> {
  const { host, port } = parseHostPort(listen);
  try {
    await app.listen(port, host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EADDRINUSE' ? 'address in use' : code === 'EACCES' ? 'permission denied' : errorMessage(error);
    throw new RuntimeError(
      'GHOSTDNS_RUNTIME_LISTEN_FAILED',
      `cannot listen on http.listen ${listen} (${reason}); set GHOSTDNS_HTTP_LISTEN to another address`,
      { cause: error },
    );
  }
  const address = (app.getHttpServer() as { address(): AddressInfo | string | null }).address();
  if (address === null || typeof address === 'string') return `http://${listen}`;
  return `http://${formatHostPort(address.address, address.port)}`;
}
