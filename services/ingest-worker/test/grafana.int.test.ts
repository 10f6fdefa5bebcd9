import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, refreshRollups, type Database } from '@ghostdns/db';
import { createScratchDatabase, repoRoot, requireComponent, type ScratchDatabase } from '@ghostdns/testkit';
import { QueryEventMapper } from '../src/mapper.js';
import { QueryEventWriter } from '../src/writer.js';
import { ENGINES, openTestDatabase, silentDbLogger } from './support/database.js';
import { eventStream } from './support/worker-process.js';

const DASHBOARDS = path.join(repoRoot, 'infra/grafana/dashboards');

interface Panel {
  title: string;
  targets: { rawSql: string }[];
}

function panels(): { dashboard: string; panel: string; sql: string }[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) => {
      const dashboard = JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8')) as { panels: Panel[] };
      return dashboard.panels.flatMap((p) => p.targets.map((t) => ({ dashboard: file, panel: p.title, sql: t.rawSql })));
    });
}

/** Grafana's PostgreSQL macros as Grafana expands them, for the dashboards' default range (6 h). */
function expandMacros(sql: string): string {
  const from = "'now'::timestamptz - INTERVAL '6 hours'";
  const to = "'now'::timestamptz";
  return sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN ${from} AND ${to}`)
    .replace(/\$__timeFrom\(\)/g, `(${from})`)
    .replace(/\$__timeTo\(\)/g, `(${to})`);
}

const RAW_TABLE = /\bdns_queries\b/;

describe('Grafana dashboards (infra/grafana)', () => {
  it('query only the aggregates, with Grafana time macros', () => {
    const all = panels();
    expect(all.length).toBeGreaterThan(0);
    for (const { panel, sql } of all) {
      expect(sql, panel).not.toMatch(RAW_TABLE);
      expect(sql, panel).toMatch(/\$__time(Filter|From)/);
    }
  });

  describe.each(ENGINES)('on a seeded %s', (engine) => {
    let db: Database;
    let scratch: ScratchDatabase | undefined;

    beforeAll(async () => {
      if (engine === 'postgres') {
        scratch = await createScratchDatabase(requireComponent('postgres'));
        db = await openDatabase(scratch.url, { logger: silentDbLogger, poolSize: 2 });
        await migrate(db, { logger: silentDbLogger });
      } else {
        db = await openTestDatabase(engine);
      }
      const events = eventStream(600).map((e, i) => ({
        ...e,
        policy_action: i % 9 === 0 ? ('BLOCKED' as const) : e.policy_action,
        rcode: i % 13 === 0 ? 2 : e.rcode,
      }));
      const { rows } = new QueryEventMapper().mapBatch(events);
      await new QueryEventWriter(db.pool).write(rows);
      await refreshRollups(db);
    });

    afterAll(async () => {
      await db?.close();
      await scratch?.drop();
    });

    it('every panel query returns rows', async () => {
      for (const { dashboard, panel, sql } of panels()) {
        const result = await db.pool.query(expandMacros(sql));
        expect(result.rows.length, `${dashboard}: ${panel}`).toBeGreaterThan(0);
      }
    });
  });
});
