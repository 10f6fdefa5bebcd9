import { describe, expect, it } from 'vitest';
import { loadMigrations, splitSqlStatements } from '../src/index.js';

describe('splitSqlStatements', () => {
  it('splits on top-level semicolons only', () => {
    const sql = `-- a comment; not a split
CREATE TABLE t (v text DEFAULT 'x;y', "we;ird" int);
/* block ; /* nested ; */ still comment */
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RETURN 1; END $fn$;
SELECT E'it\\'s; fine', $$a;b$$;
-- trailing comment only`;
    const parts = splitSqlStatements(sql);
    expect(parts).toHaveLength(3);
    expect(parts[0]).toContain("'x;y'");
    expect(parts[1]).toContain('RETURN 1; END $fn$');
    expect(parts[2]).toContain('$$a;b$$');
  });
});

describe('loadMigrations', () => {
  it('orders engine-specific files before the common one within a version', async () => {
    const pgMigrations = await loadMigrations('postgres');
    const tsMigrations = await loadMigrations('timescaledb');
    expect(pgMigrations[0]?.files.map((f) => f.file)).toEqual(['001_dns_queries.postgres.sql', '001_dns_queries.sql']);
    expect(tsMigrations[0]?.files.map((f) => f.file)).toEqual(['001_dns_queries.timescaledb.sql', '001_dns_queries.sql']);
    expect(pgMigrations.every((m) => m.files.every((f) => f.transactional))).toBe(true);
  });
});
