import 'reflect-metadata';
import { Global, Module } from '@nestjs/common';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@ghostdns/config';
import type { GhostConfigInput } from '@ghostdns/config';
import { RUNTIME } from '@ghostdns/runtime';
import type { ServiceRuntime } from '@ghostdns/runtime';
import { PRESENCE_PROBE, PresenceService, PresenceServiceModule } from '../src/index.js';
import type { ObservationSink, PeerObservation, PresenceSource } from '../src/index.js';
import { testRuntime } from './runtime-stub.js';

function runtimeModule(runtime: ServiceRuntime): DynamicModule {
  @Global()
  @Module({})
  class TestRuntimeModule {}
  return { module: TestRuntimeModule, global: true, providers: [{ provide: RUNTIME, useValue: runtime }], exports: [RUNTIME] };
}

let app: INestApplicationContext | null = null;

async function boot(config: GhostConfigInput, service: typeof PresenceServiceModule | DynamicModule = PresenceServiceModule) {
  const runtime = testRuntime(config);
  await runtime.bus.connect();
  @Module({ imports: [runtimeModule(runtime), service] })
  class AppModule {}
  app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
  await app.init();
  return { runtime, app };
}

afterEach(async () => {
  await app?.close();
  app = null;
});

describe('PresenceServiceModule', () => {
  it('boots with the defaults, logs that presence is off and is ready', async () => {
    const { runtime, app } = await boot({});
    expect(app.get(PresenceService).state).toBe('off');
    expect(runtime.lines.join('')).toContain('presence is off: GHOSTDNS_PRESENCE_WIREGUARD_INTERFACES is empty');
    const probe = runtime.probes.get(PRESENCE_PROBE);
    expect(probe).toBeDefined();
    expect(await probe?.()).toBe(true);
  });

  it('with interfaces but no source given: stays up, says presence is off', async () => {
    const { runtime, app } = await boot({ presence: { wireguardInterfaces: ['wg0'] } }, PresenceServiceModule.withSources({ sources: [] }));
    expect(app.get(PresenceService).state).toBe('no-source');
    expect(runtime.lines.join('')).toContain('no presence source was given');
    expect(await runtime.probes.get(PRESENCE_PROBE)?.()).toBe(true);
  });

  it('refuses to boot on a bad presence config, naming the key', async () => {
    await expect(boot({ presence: { suffix: 'vpn..local' } })).rejects.toSatisfy(
      (err: unknown) => err instanceof ConfigError && err.message.includes('GHOSTDNS_PRESENCE_SUFFIX'),
    );
  });

  it('runs the poll loop over injected sources when interfaces are configured', async () => {
    const seen: string[] = [];
    let resolveSeen: () => void = () => undefined;
    const observed = new Promise<void>((r) => {
      resolveSeen = r;
    });
    const sink: ObservationSink = {
      observe: async (sourceId: string, _peers: readonly PeerObservation[]) => {
        seen.push(sourceId);
        resolveSeen();
      },
    };
    const source: PresenceSource = { id: 'fake:wg0', poll: async () => [] };
    const { runtime, app } = await boot(
      { presence: { wireguardInterfaces: ['wg0'] } },
      PresenceServiceModule.withSources({ sources: [source], sink }),
    );
    await observed;
    expect(seen[0]).toBe('fake:wg0');
    expect(app.get(PresenceService).state).toBe('polling');
    expect(await runtime.probes.get(PRESENCE_PROBE)?.()).toBe(true);
    await runtime.bus.close();
    expect(await runtime.probes.get(PRESENCE_PROBE)?.()).toBe(false);
  });
});
