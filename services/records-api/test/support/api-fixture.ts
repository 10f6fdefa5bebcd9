import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GhostConfigInput } from '@ghostdns/config';
import { migrate, openDatabase, type Database } from '@ghostdns/db';
import { createScratchDatabase, requireComponent, scratchDir, type ScratchDatabase } from '@ghostdns/testkit';
import { startRecordsApi, type TestServer } from './http.js';
import { testRuntime } from './runtime.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/** records-api on a migrated scratch PostgreSQL database, its bus connected, with the first-start admin token. */
export interface ApiFixture {
  readonly scratch: ScratchDatabase;
  readonly db: Database;
  readonly runtime: ReturnType<typeof testRuntime>;
  readonly server: TestServer;
  readonly admin: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** `config` over the defaults (data.dir a scratch folder, no rate limit: tests send many requests from one address). */
export async function startApiOnScratchDatabase(config: GhostConfigInput = {}): Promise<ApiFixture> {
  const data = scratchDir();
  const scratch = await createScratchDatabase(requireComponent('postgres'));
  const db = await openDatabase(scratch.url, { logger: silent, poolSize: 4 });
  await migrate(db, { logger: silent });
  const runtime = testRuntime(db, { ...config, data: { dir: data.dir }, api: { rateLimitPerMinute: 0, ...config.api } });
  await runtime.bus.connect();
  const server = await startRecordsApi(runtime);
  const admin = (await readFile(path.join(data.dir, 'admin.token'), 'utf8')).trim();
  return {
    scratch, db, runtime, server, admin, dataDir: data.dir,
    async close() {
      await server.close();
      await runtime.bus.close();
      await db.close();
      await scratch.drop();
      data.remove();
    },
  };
}
