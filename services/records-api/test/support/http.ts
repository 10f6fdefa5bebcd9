import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp, listenHttp, type ServiceRuntime } from '@ghostdns/runtime';
import { RecordsApiModule } from '../../src/module.js';

export interface TestServer {
  app: NestFastifyApplication;
  url: string;
  get(path: string): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

/** RecordsApiModule on a Fastify app (with RuntimeModule) listening on 127.0.0.1:0. */
export async function startRecordsApi(runtime: ServiceRuntime): Promise<TestServer> {
  const app = await createHttpApp(runtime, [RecordsApiModule]);
  const url = await listenHttp(app, '127.0.0.1:0');
  return {
    app,
    url,
    async get(path: string) {
      const response = await fetch(`${url}${path}`);
      const text = await response.text();
      return { status: response.status, body: text.length > 0 ? (JSON.parse(text) as unknown) : null };
    },
    close: () => app.close(),
  };
}
