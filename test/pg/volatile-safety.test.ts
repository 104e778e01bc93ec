/**
 * "Changes nothing", checked against what a rollback cannot undo: functions
 * that act on the server, tables created by CTAS / SELECT INTO, and the
 * SHARE lock of --verify real outliving a killed or terminated opsctl.
 * Each test looks at the server afterwards, not at opsctl's own words.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { binPath } from '../support/cli.js';
import { explainJson } from './helpers.js';

let server: TestPostgres;
let url: string;

async function sql(text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('volatile');
  await sql(`CREATE TABLE items AS SELECT i AS id, i % 50000 AS code, md5(i::text) AS label FROM generate_series(1, 200000) i;
    CREATE SEQUENCE seq;
    CREATE FUNCTION bump() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN nextval('seq'); END $$;
    CREATE FUNCTION pure(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
    ANALYZE items;`);
}, 120_000);
afterAll(async () => server?.stop());

const seqValue = async () => Number((await sql('SELECT last_value, is_called FROM seq')).rows[0].is_called ? (await sql('SELECT last_value FROM seq')).rows[0].last_value : 0);

describe('functions a rollback does not undo: planned, not executed', () => {
  it('pg_terminate_backend: the other session survives', async () => {
    const victim = new pg.Client({ connectionString: url, application_name: 'victim' });
    victim.on('error', () => {});
    await victim.connect();
    try {
      const r = await explainJson(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim'");
      expect(r.code, r.stderr).toBe(0);
      expect(r.doc.mode).toBe('plan');
      expect(r.doc.refused).toEqual([{ name: 'pg_terminate_backend', reason: 'signals another session' }]);
      expect(r.doc.notes.join(' ')).toMatch(/not executed, plan only: it calls pg_terminate_backend\(\).*--allow-volatile/);
      expect((await victim.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    } finally {
      await victim.end().catch(() => {});
    }
  });

  it.each([
    ["SELECT nextval('seq')", 'nextval'],
    ['SELECT id, bump() FROM items WHERE id < 10', 'bump'],
    ["SELECT pg_notify('ch', 'x')", 'pg_notify'],
    ['SELECT pg_advisory_lock(42)', 'pg_advisory_lock'],
    ["SELECT set_config('work_mem', '1GB', false)", 'set_config'],
    ['SELECT pg_stat_reset()', 'pg_stat_reset'],
    ['SELECT * FROM items WHERE code = (SELECT bump())', 'bump'],
  ])('%s → %s refused', async (text, name) => {
    const before = await seqValue();
    const r = await explainJson(url, text);
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.mode).toBe('plan');
    expect(r.doc.refused.map((x: any) => x.name)).toContain(name);
    // The sequence (not transactional) did not move; no advisory lock is held.
    expect(await seqValue()).toBe(before);
    expect((await sql("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'")).rows[0].n).toBe(0);
  });

  it('harmless volatile and non-volatile functions still run: random(), now(), an IMMUTABLE function', async () => {
    const r = await explainJson(url, 'SELECT random(), now(), pure(id), lower(label) FROM items WHERE id < 100');
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.mode).toBe('analyze');
    expect(r.doc.refused).toEqual([]);
  });

  it('--allow-volatile executes it: READ ONLY still stops nextval; with --allow-writes too the sequence moves, as the note warned', async () => {
    const before = await seqValue();
    const ro = await explainJson(url, "SELECT nextval('seq')", '--allow-volatile');
    expect(ro.code).toBe(2);
    expect(ro.doc.error.code).toBe('pg-read-only');
    const r = await explainJson(url, "SELECT nextval('seq')", '--allow-volatile', '--allow-writes');
    expect(r.doc.mode).toBe('analyze');
    expect(await seqValue()).toBe(before + 1);
  });
});

describe('CREATE TABLE AS and SELECT INTO', () => {
  it.each([
    ['CREATE TABLE made_by_ctas AS SELECT * FROM items WHERE code = 7', 'made_by_ctas'],
    ['SELECT * INTO made_by_into FROM items WHERE code = 7', 'made_by_into'],
    ['CREATE MATERIALIZED VIEW made_by_mv AS SELECT * FROM items', 'made_by_mv'],
  ])('%s is planned, not executed (the plan is of its query)', async (text, table) => {
    const r = await explainJson(url, text);
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.mode).toBe('plan');
    expect(r.doc.notes.join(' ')).toMatch(/creates a table when executed.*--allow-writes/);
    expect(r.doc.nodes.some((n: any) => n.relation === 'items')).toBe(true);
    expect((await sql('SELECT to_regclass($1) AS t', [table])).rows[0].t).toBeNull();
  });
});

/** The query of the kill tests: quick before the index exists, 30 s once it does (inside opsctl's transaction). */
const SLOW_WITH_INDEX = "SELECT *, pg_sleep(CASE WHEN to_regclass('items_code_idx') IS NULL THEN 0 ELSE 30 END) FROM items WHERE code = 4242";

async function waitForShareLock(stderr: () => string) {
  for (let i = 0; i < 400; i++) {
    const { rows } = await sql("SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'items' AND l.mode = 'ShareLock' AND l.granted");
    if (rows[0].n > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`opsctl never took the ShareLock:\n${stderr()}`);
}

/** A concurrent writer: resolves with how long after `since()` its INSERT finished. */
function writer(since: () => number) {
  const c = new pg.Client({ connectionString: url });
  return (async () => {
    await c.connect();
    try {
      await c.query("SET lock_timeout = '40s'");
      await c.query("INSERT INTO items VALUES (0, 0, 'writer')");
      return Date.now() - since();
    } finally {
      await c.end();
    }
  })();
}

describe.each([
  ['SIGKILL'],
  ['SIGTERM'],
] as const)('--verify real, opsctl %s mid-verification', (signal) => {
  it('the writer that waited on the SHARE lock proceeds within ~1 s; no index is left; the wait is what the warning said', async () => {
    const child = spawn(process.execPath, [binPath, 'pg', 'explain', SLOW_WITH_INDEX, '--db', url, '--verify', 'real', '--timeout', '60'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await waitForShareLock(() => stderr);
    expect(stderr).toMatch(/INSERT\/UPDATE\/DELETE on items \(~[\d,]+ rows\) wait \(reads do not\)/);
    let killedAt = 0;
    const waited = writer(() => killedAt);
    // Observed on the server before opsctl goes away: the writer queued behind the lock, and opsctl's
    // statement inside the verification's EXPLAIN ANALYZE (sleeping, not reading its socket).
    let ready = false;
    for (let i = 0; i < 400 && !ready; i++) {
      const { rows } = await sql(`SELECT count(*) FILTER (WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO items%')::int AS writers,
                                         count(*) FILTER (WHERE application_name = 'opsctl' AND wait_event = 'PgSleep')::int AS sleeping FROM pg_stat_activity`);
      ready = rows[0].writers > 0 && rows[0].sleeping > 0;
      if (!ready) await new Promise((r) => setTimeout(r, 25));
    }
    expect(ready, stderr).toBe(true);
    killedAt = Date.now();
    child.kill(signal);
    const code = await exited;
    const afterKillMs = await waited;
    // client_connection_check_interval = 1 s: the server notices the dead client, instead of sleeping 30 s.
    expect(afterKillMs, `writer waited ${afterKillMs} ms after the ${signal}`).toBeLessThan(3000);
    expect(afterKillMs).toBeGreaterThanOrEqual(0);
    if (signal === 'SIGTERM') expect(code, stderr).toBe(130);
    expect((await sql("SELECT count(*)::int AS n FROM pg_class WHERE relname = 'items_code_idx'")).rows[0].n).toBe(0);
    await sql("DELETE FROM items WHERE label = 'writer'");
  }, 60_000);
});
