/**
 * Each finding kind from a scenario built live on a real PostgreSQL (embedded
 * PG 18), small enough to stay fast. Planner choices that depend on table size
 * are pinned with --set, exactly as a user would try a setting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { buildScenario, SCENARIO_QUERY } from '../../src/commands/pg/scenario.js';
import { adviceColumns, explainJson, kinds } from './helpers.js';

let server: TestPostgres;
let url: string;

const SETUP = `
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, total numeric NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO orders SELECT i, i % 5000, (ARRAY['new','paid','shipped'])[1 + i % 3], (i % 997)::numeric, timestamptz '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 50000) i;

CREATE TABLE tickets (id int PRIMARY KEY, kind int NOT NULL, assignee int NOT NULL, body text);
INSERT INTO tickets SELECT i, i % 20, i % 1000, 'ticket ' || i FROM generate_series(1, 60000) i;
CREATE INDEX tickets_kind_idx ON tickets (kind);

CREATE TABLE customers (id int NOT NULL, name text NOT NULL);
INSERT INTO customers SELECT i, 'customer ' || i FROM generate_series(1, 300) i;
CREATE TABLE small_orders (id int NOT NULL, customer_id int NOT NULL, total numeric NOT NULL);
INSERT INTO small_orders SELECT i, i % 300, i FROM generate_series(1, 6000) i;

CREATE TABLE corr (a int NOT NULL, b int NOT NULL, pad text);
INSERT INTO corr SELECT i % 100, i % 100, 'x' FROM generate_series(1, 50000) i;

CREATE TABLE events_wide (id int NOT NULL, g int NOT NULL, pad text NOT NULL);
INSERT INTO events_wide SELECT i, i % 4, repeat('x', 150) FROM generate_series(1, 60000) i;
CREATE INDEX events_wide_g_idx ON events_wide (g);

CREATE TABLE hf (id int NOT NULL, v int NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO hf SELECT i, i FROM generate_series(1, 20000) i;
CREATE INDEX hf_v_idx ON hf (v);

CREATE TABLE bloat (id int NOT NULL, pad text NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO bloat SELECT i, repeat('y', 200) FROM generate_series(1, 40000) i;
DELETE FROM bloat WHERE id > 10;

CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL, account_id int NOT NULL, deleted_at timestamptz);
INSERT INTO users SELECT i, 'user' || i || '@example.com', i % 2000, CASE WHEN i % 10 = 0 THEN now() END FROM generate_series(1, 40000) i;
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE fk_customers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO fk_customers SELECT i, 'c' || i FROM generate_series(1, 2000) i;
CREATE TABLE fk_orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES fk_customers (id), total int NOT NULL);
INSERT INTO fk_orders SELECT i, 1 + i % 1000, i FROM generate_series(1, 5000) i;

`;
// Run after the load is committed and its counts flushed: otherwise every inserted row counts as changed since
// that ANALYZE (n_mod_since_analyze) and the statistics read as stale, as pg_stat_user_tables would truly say.
const ANALYZE_SETUP = 'ANALYZE fk_customers, fk_orders, orders, tickets, customers, small_orders, corr, events_wide, users';

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('findings');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(SETUP);
    // The load's row counts reach pg_stat_user_tables only when this backend flushes them: before the ANALYZE.
    await c.query('SELECT pg_stat_force_next_flush()');
    await c.query('SELECT 1');
    await c.query(ANALYZE_SETUP);
    await buildScenario((sql, params) => c.query(sql, params as unknown[]), 30_000);
  } finally {
    await c.end();
  }
});
afterAll(async () => {
  await server?.stop();
});

describe('pg explain finds each problem kind on a live server', () => {
  it("limit-order-index-filter: the write-up's LIMIT 1, with (player_id, created_at DESC) proposed", async () => {
    const r = await explainJson(url, SCENARIO_QUERY);
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.mode).toBe('analyze');
    expect(kinds(r.doc)[0]).toBe('limit-order-index-filter');
    const f = r.doc.findings[0];
    expect(f.severity).toBe('high');
    expect(f.evidence.rowsRemovedByFilter).toBeGreaterThan(29_000);
    expect(f.evidence.rowsReturned).toBe(1);
    expect(r.doc.advice[0].columns).toEqual([
      { column: 'player_id', direction: 'ASC', role: 'equality' },
      { column: 'created_at', direction: 'DESC', role: 'order' },
    ]);
    expect(f.fix.sql[0]).toBe('CREATE INDEX CONCURRENTLY activity_logs_player_id_created_at_idx ON public.activity_logs (player_id, created_at DESC);');
    expect(r.doc.summary.hottestPath).toEqual([1, 2]);
  });

  it('seq-scan-selective-filter: equality column first, then the range column; INCLUDE for the selected columns', async () => {
    const r = await explainJson(url, "SELECT id, total FROM orders WHERE created_at >= '2024-01-10' AND customer_id = 7");
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.doc)).toContain('seq-scan-selective-filter');
    expect(adviceColumns(r.doc, 'orders')[0]).toEqual(['customer_id', 'created_at']);
    expect(r.doc.advice[0].include).toEqual(['id', 'total']);
    expect(r.doc.advice[0].sql).toBe('CREATE INDEX CONCURRENTLY orders_customer_id_created_at_idx ON public.orders (customer_id, created_at) INCLUDE (id, total);');
  });

  it('index-filter-leftover: the index finds rows a Filter discards; the filter column joins the index', async () => {
    const r = await explainJson(url, 'SELECT * FROM tickets WHERE kind = 3 AND assignee = 17');
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.doc)).toContain('index-filter-leftover');
    expect(adviceColumns(r.doc, 'tickets')[0]).toEqual(['kind', 'assignee']);
    expect(r.doc.advice[0].supersedes).toEqual(['tickets_kind_idx']);
  });

  it('nested-loop-inner-scan: the inner side is re-scanned per outer row; its join column gets the index', async () => {
    const r = await explainJson(url, 'SELECT c.name, o.total FROM customers c JOIN small_orders o ON o.customer_id = c.id WHERE c.id < 250', '--set', 'enable_hashjoin=off', '--set', 'enable_mergejoin=off');
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.doc)).toContain('nested-loop-inner-scan');
    const f = r.doc.findings.find((x: any) => x.kind === 'nested-loop-inner-scan');
    expect(f.evidence.innerLoops).toBeGreaterThanOrEqual(100);
    const inner = r.doc.advice.find((a: any) => a.name === f.fix.index);
    expect(inner.columns[0].column).toBe(inner.table.endsWith('small_orders') ? 'customer_id' : 'id');
  });

  it('row-misestimate: correlated columns, fixed with extended statistics', async () => {
    const r = await explainJson(url, 'SELECT count(*) FROM corr WHERE a = 1 AND b = 1');
    expect(r.code, r.stderr).toBe(0);
    const f = r.doc.findings.find((x: any) => x.kind === 'row-misestimate');
    expect(f, JSON.stringify(kinds(r.doc))).toBeDefined();
    expect(f.evidence.direction).toBe('under');
    expect(f.evidence.factor).toBeGreaterThanOrEqual(10);
    expect(f.fix.sql[0]).toMatch(/^CREATE STATISTICS corr_a_b_stats \(dependencies, ndistinct, mcv\) ON a, b FROM public\.corr;$/);
  });

  it('sort-spill, hash-spill and hashagg-spill under a small work_mem', async () => {
    const sort = await explainJson(url, 'SELECT * FROM orders ORDER BY total, id', '--set', 'work_mem=64kB');
    expect(kinds(sort.doc)).toContain('sort-spill');
    expect(sort.doc.findings.find((x: any) => x.kind === 'sort-spill').fix.sql[0]).toMatch(/^SET work_mem = '\d+MB';$/);
    const hash = await explainJson(url, 'SELECT count(*) FROM orders a JOIN tickets b ON b.id = a.id', '--set', 'work_mem=64kB', '--set', 'enable_mergejoin=off', '--set', 'enable_nestloop=off');
    expect(kinds(hash.doc)).toContain('hash-spill');
    const agg = await explainJson(url, 'SELECT total, created_at, count(*) FROM orders GROUP BY total, created_at', '--set', 'work_mem=64kB', '--set', 'enable_sort=off');
    expect(kinds(agg.doc)).toContain('hashagg-spill');
  });

  it('heap-fetches: an index-only scan on a never-vacuumed table', async () => {
    const r = await explainJson(url, 'SELECT v FROM hf WHERE v < 5000', '--set', 'enable_seqscan=off', '--set', 'enable_bitmapscan=off');
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.doc)).toContain('heap-fetches');
    expect(r.doc.findings.find((x: any) => x.kind === 'heap-fetches').fix.sql).toEqual(['VACUUM (ANALYZE) public.hf;']);
  });

  it('lossy-bitmap: the bitmap outgrows work_mem', async () => {
    const r = await explainJson(url, 'SELECT count(pad) FROM events_wide WHERE g = 1', '--set', 'work_mem=64kB', '--set', 'enable_seqscan=off', '--set', 'enable_indexscan=off');
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.doc)).toContain('lossy-bitmap');
  });

  it('high-buffer-reads: a scan through a bloated table returns a handful of rows', async () => {
    const r = await explainJson(url, 'SELECT * FROM bloat');
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.doc)).toContain('high-buffer-reads');
    expect(r.doc.findings.find((x: any) => x.kind === 'high-buffer-reads').fix.sql).toEqual(['VACUUM (VERBOSE, ANALYZE) public.bloat;']);
  });

  it('workers-not-launched: the plan counts on workers the pool does not have', async () => {
    const r = await explainJson(url, 'SELECT count(*) FROM orders', '--set', 'max_parallel_workers=0', '--set', 'parallel_setup_cost=0', '--set', 'parallel_tuple_cost=0', '--set', 'min_parallel_table_scan_size=0');
    expect(r.code, r.stderr).toBe(0);
    const f = r.doc.findings.find((x: any) => x.kind === 'workers-not-launched');
    expect(f).toBeDefined();
    expect(f.evidence).toMatchObject({ workersLaunched: 0 });
    expect(f.evidence.workersPlanned).toBeGreaterThan(0);
  });

  it('fk-trigger-unindexed: a DELETE whose foreign-key checks scan the referencing table; verified, and nothing changes', async () => {
    const r = await explainJson(url, 'DELETE FROM fk_customers WHERE id > 1700', '--allow-writes', '--verify', 'real');
    expect(r.code, r.stderr).toBe(0);
    const f = r.doc.findings.find((x: any) => x.kind === 'fk-trigger-unindexed');
    expect(f, JSON.stringify(kinds(r.doc))).toBeDefined();
    expect(f.evidence.calls).toBe(300);
    expect(f.fix.sql).toEqual(['CREATE INDEX CONCURRENTLY fk_orders_customer_id_idx ON public.fk_orders (customer_id);']);
    expect(r.doc.verification.indexes[0]).toMatchObject({ name: 'fk_orders_customer_id_idx', used: true });
    expect(r.doc.verification.remaining).not.toContain('fk-trigger-unindexed');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      expect((await c.query('SELECT count(*)::int AS n FROM fk_customers')).rows[0].n).toBe(2000);
      expect((await c.query("SELECT count(*)::int AS n FROM pg_class WHERE relname = 'fk_orders_customer_id_idx'")).rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
  });

  it('partial index for IS NULL, and an existing index named when the query is written differently', async () => {
    const partial = await explainJson(url, 'SELECT * FROM users WHERE account_id = 5 AND deleted_at IS NULL');
    expect(partial.doc.advice[0]).toMatchObject({ columns: [{ column: 'account_id' }], where: 'deleted_at IS NULL' });
    const expr = await explainJson(url, "SELECT * FROM users WHERE lower(email) = 'user77@example.com'");
    expect(kinds(expr.doc)).toContain('seq-scan-selective-filter');
    expect(expr.doc.advice[0].sql).toBe('CREATE INDEX CONCURRENTLY users_lower_email_idx ON public.users ((lower(email)));');
    expect(expr.doc.advice[0].alternatives.join(' ')).toMatch(/users_email_idx on \(email\) would serve if the query compared email directly/);
  });

  it('does not propose an index that already exists', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query('CREATE INDEX orders_status_customer_idx ON orders (customer_id, status)');
      // Make the planner ignore it, as stale statistics would.
      const r = await explainJson(url, "SELECT * FROM orders WHERE customer_id = 9 AND status = 'paid'", '--set', 'enable_indexscan=off', '--set', 'enable_bitmapscan=off', '--set', 'enable_indexonlyscan=off');
      expect(r.code, r.stderr).toBe(0);
      expect(r.doc.advice[0].existing).toMatchObject({ name: 'orders_status_customer_idx', valid: true });
      expect(r.doc.advice[0].sql).toBeNull();
      // orders was just analyzed: ANALYZE would change nothing, so it is not suggested.
      expect(r.doc.findings[0].fix.sql).toEqual([]);
      expect(r.doc.findings[0].fix.text).toMatch(/statistics are fresh/);
      expect(r.doc.advice[0].existing.sql).toBeUndefined();
    } finally {
      await c.query('DROP INDEX orders_status_customer_idx');
      await c.end();
    }
  });

  it('existing index not chosen on stale statistics (most rows changed since the last ANALYZE): ANALYZE suggested', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`CREATE TABLE stale_orders WITH (autovacuum_enabled = false) AS SELECT * FROM orders`);
      await c.query('CREATE INDEX stale_orders_customer_status_idx ON stale_orders (customer_id, status)');
      await c.query('ANALYZE stale_orders');
      await c.query('UPDATE stale_orders SET total = total');
      await c.query('SELECT pg_stat_force_next_flush()');
      const r = await explainJson(url, "SELECT * FROM stale_orders WHERE customer_id = 9 AND status = 'paid'", '--set', 'enable_indexscan=off', '--set', 'enable_bitmapscan=off', '--set', 'enable_indexonlyscan=off');
      expect(r.code, r.stderr).toBe(0);
      expect(r.doc.advice[0].existing).toMatchObject({ name: 'stale_orders_customer_status_idx', valid: true });
      expect(r.doc.findings[0].fix.sql).toEqual(['ANALYZE public.stale_orders;']);
      expect(r.doc.findings[0].fix.text).toMatch(/statistics are stale/);
    } finally {
      await c.query('DROP TABLE IF EXISTS stale_orders');
      await c.end();
    }
  });
});
