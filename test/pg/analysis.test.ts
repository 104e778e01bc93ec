/** The pure part: SQL lexing, plan conditions, plan → findings, index advice. No server. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { inspectStatement } from '../../src/commands/pg/sql-text.js';
import { parseConditions, unqualify } from '../../src/commands/pg/analysis/predicates.js';
import { parsePlan, type RawExplain } from '../../src/commands/pg/analysis/plan.js';
import { analyzePlan } from '../../src/commands/pg/analysis/findings.js';
import { orderByFromSql, serves, type IndexAdvice } from '../../src/commands/pg/analysis/advice.js';
import { emptyCatalog, suggestMemory, type Catalog, type IndexInfo } from '../../src/commands/pg/analysis/catalog.js';
import { renderTree } from '../../src/commands/pg/render-text.js';
import { rewriteSql } from '../../src/commands/pg/rewrite.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(path.join(here, 'fixtures', `${name}.json`), 'utf8')) as RawExplain[];
const SQL = 'SELECT * FROM activity_logs WHERE player_id = 42 ORDER BY created_at DESC LIMIT 1';

const index = (name: string, keys: Array<[string, boolean?]>, extra: Partial<IndexInfo> = {}): IndexInfo => ({
  name,
  schema: 'public',
  table: 'activity_logs',
  keys: keys.map(([expr, desc]) => ({ expr, desc: Boolean(desc) })),
  include: [],
  unique: false,
  valid: true,
  method: 'btree',
  definition: '',
  ...extra,
});
const catalogWith = (...indexes: IndexInfo[]): Catalog => ({
  tables: [{ schema: 'public', name: 'activity_logs', columns: ['id', 'player_id', 'action', 'created_at'], rows: 20000, pages: 150, indexes }],
  settings: { work_mem: '4MB' },
});

describe('inspectStatement', () => {
  it('counts $n outside strings, comments and dollar quotes', () => {
    expect(inspectStatement("SELECT '$7', $$ $9 $$, $tag$ $8 $tag$ /* $6 */ -- $5\n FROM t WHERE a = $2 AND b = $1").paramCount).toBe(2);
  });
  it('strips trailing semicolons and refuses a second statement', () => {
    expect(inspectStatement('SELECT 1;;  -- done\n').text).toBe('SELECT 1');
    expect(() => inspectStatement('SELECT 1; DELETE FROM t')).toThrow(/Only one SQL statement/);
    expect(inspectStatement("SELECT 'a;b', \"x;y\" FROM t").text).toBe(`SELECT 'a;b', "x;y" FROM t`);
    expect(() => inspectStatement('  ;  ')).toThrow(/empty/);
  });
  it('lexes like PostgreSQL where a second statement could hide (the generic plan runs through the simple protocol)', () => {
    // name'x\' is a plain string ending at the backslash: only a lone E'…' takes escapes.
    expect(() => inspectStatement(String.raw`SELECT $1::int, name'x\'; COMMIT; DELETE FROM t; SELECT '1'`)).toThrow(/Only one SQL statement/);
    expect(inspectStatement(String.raw`SELECT E'it\'s; fine', e'\\' FROM t WHERE a = $1`).paramCount).toBe(1);
    // A -- comment ends at a carriage return too.
    expect(() => inspectStatement('SELECT $1 -- note\r; COMMIT; DELETE FROM t')).toThrow(/Only one SQL statement/);
  });
  it('knows when a statement writes', () => {
    expect(inspectStatement('DELETE FROM t').writes).toBe(true);
    expect(inspectStatement('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d').writes).toBe(true);
    expect(inspectStatement('update t set a = 1').writes).toBe(true);
    expect(inspectStatement('SELECT * FROM t FOR UPDATE').writes).toBe(false);
    expect(inspectStatement("SELECT 'DELETE' FROM t").writes).toBe(false);
  });
});

describe('plan conditions', () => {
  it('splits AND-ed conditions into equality, range, null and other', () => {
    const c = parseConditions("((e.player_id = 42) AND (e.created_at > '2024-01-01 00:00:00+00'::timestamp with time zone) AND (e.deleted_at IS NULL) AND ((e.a = 1) OR (e.b = 2)))");
    expect(c.map((x) => [x.column?.column, x.kind])).toEqual([
      ['player_id', 'eq'],
      ['created_at', 'range'],
      ['deleted_at', 'null'],
      [undefined, 'other'],
    ]);
  });
  it('reads constants on the left, casts to text, = ANY, params and join columns', () => {
    expect(parseConditions("('x'::text = (u.kind)::text)")[0]).toMatchObject({ column: { alias: 'u', column: 'kind' }, kind: 'eq', other: 'const' });
    expect(parseConditions("(o.status = ANY ('{new,paid}'::text[]))")[0]).toMatchObject({ column: { column: 'status' }, kind: 'eq' });
    expect(parseConditions('(o.total >= $2)')[0]).toMatchObject({ kind: 'range', other: 'param' });
    expect(parseConditions('(o.customer_id = c.id)')[0]).toMatchObject({ column: { alias: 'o', column: 'customer_id' }, other: 'column', otherColumn: { alias: 'c', column: 'id' } });
  });
  it('recognises an expression over a column', () => {
    const [c] = parseConditions("(lower(u.email) = 'a@b.c'::text)");
    expect(c).toMatchObject({ kind: 'eq', expression: 'lower(email)', expressionColumn: { alias: 'u', column: 'email' } });
    expect(unqualify("lower((u.email)::text) || 'u.x'")).toBe("lower((email)::text) || 'u.x'");
  });
});

describe('parsePlan', () => {
  it('self time, shares and the hottest path', () => {
    const plan = parsePlan(fixture('pg18-limit-order-index-filter'));
    expect(plan.analyzed).toBe(true);
    expect(plan.nodes.map((n) => n.label)).toEqual(['Limit', 'Index Scan Backward using activity_logs_created_at_idx on public.activity_logs']);
    expect(plan.nodes.every((n) => n.hot)).toBe(true);
    expect(plan.nodes[1]!.selfShare).toBeGreaterThan(0.9);
  });
  it('counts parallel workers once: self times add up to the wall time', () => {
    const plan = parsePlan(fixture('pg18-parallel-workers'));
    const sum = plan.nodes.reduce((s, n) => s + (n.selfMs ?? 0), 0);
    expect(sum).toBeLessThanOrEqual(plan.executionMs! * 1.05);
    expect(plan.nodes.map((n) => n.label)).toContain('Finalize Aggregate');
  });
  it('renders a tree with the hot path marked', () => {
    const lines = renderTree(parsePlan(fixture('pg18-limit-order-index-filter')));
    expect(lines[0]).toMatch(/^▶ Limit {2}#1 {2}· [\d.]+ ms self \(0%\) {2}· rows 1 \(est 1\)$/);
    expect(lines[1]).toMatch(/^└─▶ Index Scan Backward using activity_logs_created_at_idx on public\.activity_logs {2}#2/);
    expect(lines[2]).toMatch(/Filter: \(activity_logs\.player_id = 42\) {2}· removed 19,980/);
  });
});

describe('findings from captured plans', () => {
  it("limit-order-index-filter on the write-up's plan, despite its low estimated cost", () => {
    const plan = parsePlan(fixture('pg18-limit-order-index-filter'));
    expect(Number(plan.root.raw['Total Cost'])).toBeLessThan(1000);
    const { findings, advice } = analyzePlan(plan, catalogWith(index('activity_logs_created_at_idx', [['created_at']])), { sql: SQL });
    expect(findings.map((f) => f.kind)).toEqual(['limit-order-index-filter']);
    expect(findings[0]!.severity).toBe('high');
    expect(advice[0]!.keys.map((k) => [k.column, k.direction])).toEqual([['player_id', 'ASC'], ['created_at', 'DESC']]);
  });
  it('reads the ORDER BY from the SQL when the catalog is unknown', () => {
    const { advice } = analyzePlan(parsePlan(fixture('pg18-limit-order-index-filter')), emptyCatalog(), { sql: SQL });
    expect(advice[0]!.sql).toBe('CREATE INDEX CONCURRENTLY activity_logs_player_id_created_at_idx ON public.activity_logs (player_id, created_at DESC);');
    expect(orderByFromSql('SELECT * FROM t ORDER BY a.x DESC NULLS LAST, y LIMIT 5')).toEqual([{ column: 'x', direction: 'DESC' }, { column: 'y', direction: 'ASC' }]);
  });
  it('an existing (player_id, created_at) index serves the DESC proposal: nothing to create', () => {
    const { advice, findings } = analyzePlan(parsePlan(fixture('pg18-limit-order-index-filter')), catalogWith(index('activity_logs_created_at_idx', [['created_at']]), index('pc', [['player_id'], ['created_at']])), { sql: SQL });
    expect(advice[0]!.existing).toMatchObject({ name: 'pc', valid: true });
    expect(findings[0]!.fix.sql).toEqual(['ANALYZE public.activity_logs;']);
  });
  it('never proposes a name an unrelated index already has (CREATE INDEX would fail)', () => {
    const taken = index('activity_logs_player_id_created_at_idx', [['action']]);
    const { advice } = analyzePlan(parsePlan(fixture('pg18-limit-order-index-filter')), catalogWith(index('activity_logs_created_at_idx', [['created_at']]), taken), { sql: SQL });
    expect(advice[0]!.name).toBe('activity_logs_player_id_created_at_idx_2');
    expect(advice[0]!.sql).toMatch(/^CREATE INDEX CONCURRENTLY activity_logs_player_id_created_at_idx_2 ON/);
  });
  it('workers-not-launched, and not when the workers came', () => {
    const missing = analyzePlan(parsePlan(fixture('pg18-workers-not-launched')), emptyCatalog());
    const f = missing.findings.find((x) => x.kind === 'workers-not-launched');
    expect(f?.evidence).toMatchObject({ workersPlanned: 2, workersLaunched: 0 });
    // The fix adds room for the missing workers: raising the pool to its default would change nothing.
    const [busy] = fixture('pg18-workers-not-launched');
    delete busy!.Settings;
    const onDefaults = analyzePlan(parsePlan(busy!), { tables: [], settings: { max_parallel_workers: '8', max_worker_processes: '8' } });
    expect(onDefaults.findings.find((x) => x.kind === 'workers-not-launched')?.fix.sql).toEqual([
      'ALTER SYSTEM SET max_parallel_workers = 10;',
      'ALTER SYSTEM SET max_worker_processes = 10; -- takes effect after a restart',
      'SELECT pg_reload_conf();',
    ]);
    expect(analyzePlan(parsePlan(fixture('pg18-parallel-workers')), emptyCatalog()).findings.map((f) => f.kind)).not.toContain('workers-not-launched');
  });
  it('high-buffer-reads counts the rows a filter discarded: a scan that filters is not bloat', () => {
    const scan = (removed: number): RawExplain => ({
      Plan: { 'Node Type': 'Seq Scan', 'Relation Name': 't', Schema: 'public', Alias: 't', Filter: "(t.note ~~ '%zz%'::text)", 'Plan Rows': 1, 'Actual Rows': 2, 'Actual Loops': 1, 'Actual Total Time': 40, 'Rows Removed by Filter': removed, 'Shared Hit Blocks': 3000, 'Shared Read Blocks': 0 },
      'Execution Time': 40,
    });
    const kindsOf = (raw: RawExplain) => analyzePlan(parsePlan(raw), emptyCatalog()).findings.map((f) => f.kind);
    expect(kindsOf(scan(300_000))).not.toContain('high-buffer-reads');
    expect(kindsOf(scan(0))).toContain('high-buffer-reads');
  });
  it('sort-spill and hashagg-spill count parallel workers, which EXPLAIN reports apart from the leader', () => {
    const worker = (n: number, extra: Record<string, unknown>) => ({ 'Worker Number': n, 'Actual Rows': 10, 'Actual Loops': 1, ...extra });
    const node = (type: string, own: Record<string, unknown>, workers: Array<Record<string, unknown>>): RawExplain => ({
      Plan: { 'Node Type': type, 'Plan Rows': 10, 'Actual Rows': 10, 'Actual Loops': 3, 'Actual Total Time': 30, ...own, Workers: workers },
      'Execution Time': 30,
    });
    const sort = analyzePlan(parsePlan(node('Sort', { 'Sort Method': 'quicksort', 'Sort Space Used': 60, 'Sort Space Type': 'Memory' }, [worker(0, { 'Sort Method': 'external merge', 'Sort Space Used': 600, 'Sort Space Type': 'Disk' }), worker(1, { 'Sort Method': 'external merge', 'Sort Space Used': 500, 'Sort Space Type': 'Disk' })])), emptyCatalog());
    expect(sort.findings.find((f) => f.kind === 'sort-spill')?.evidence).toMatchObject({ diskKb: 1100, processesSpilled: 2, sortMethod: 'external merge' });
    const agg = analyzePlan(parsePlan(node('Aggregate', { Strategy: 'Hashed', 'HashAgg Batches': 1, 'Disk Usage': 0 }, [worker(0, { 'HashAgg Batches': 5, 'Disk Usage': 900 })])), emptyCatalog());
    expect(agg.findings.find((f) => f.kind === 'hashagg-spill')?.evidence).toMatchObject({ hashAggBatches: 5, diskKb: 900 });
  });
  it('lossy-bitmap', () => {
    const { findings } = analyzePlan(parsePlan(fixture('pg18-lossy-bitmap')), emptyCatalog());
    const f = findings.find((x) => x.kind === 'lossy-bitmap')!;
    expect(f.evidence.lossyHeapBlocks).toBeGreaterThan(0);
    expect(f.evidence.workMem).toBe('64kB');
  });
  it('jit-overhead (PostgreSQL 15 with LLVM)', () => {
    const { findings } = analyzePlan(parsePlan(fixture('pg15-jit-overhead')), { tables: [], settings: { database: 'app' } });
    const f = findings.find((x) => x.kind === 'jit-overhead')!;
    expect(f.evidence.functions).toBeGreaterThan(0);
    expect(f.fix.sql).toEqual(["SET jit = 'off';", 'ALTER DATABASE app SET jit_above_cost = 1000000;']);
  });
});

describe('index advice', () => {
  const proposal = (keys: Array<[string, 'ASC' | 'DESC', 'equality' | 'order' | 'range']>, where?: string): IndexAdvice =>
    ({ keys: keys.map(([column, direction, role]) => ({ column, direction, role, expression: false })), where, include: [] }) as unknown as IndexAdvice;
  it('matches equality columns in any order, then order columns in a compatible direction', () => {
    const p = proposal([['a', 'ASC', 'equality'], ['b', 'ASC', 'equality'], ['t', 'DESC', 'order']]);
    expect(serves(index('x', [['b'], ['a'], ['t']]), p)).toBe(true);
    expect(serves(index('x', [['a'], ['t'], ['b']]), p)).toBe(false);
    expect(serves(index('x', [['a'], ['b']]), p)).toBe(false);
    expect(serves(index('x', [['a'], ['b'], ['t']], { method: 'hash' }), p)).toBe(false);
    const two = proposal([['a', 'ASC', 'equality'], ['t', 'DESC', 'order'], ['u', 'ASC', 'order']]);
    expect(serves(index('x', [['a'], ['t', false], ['u', true]]), two)).toBe(true);
    expect(serves(index('x', [['a'], ['t', false], ['u', false]]), two)).toBe(false);
  });
  it('partial indexes only serve the same predicate', () => {
    const p = proposal([['a', 'ASC', 'equality']], 'deleted_at IS NULL');
    expect(serves(index('x', [['a']], { predicate: '(deleted_at IS NULL)' }), p)).toBe(true);
    expect(serves(index('x', [['a']]), p)).toBe(false);
    expect(serves(index('x', [['a']], { predicate: 'archived' }), proposal([['a', 'ASC', 'equality']]))).toBe(false);
  });
  it('suggests readable memory sizes', () => {
    expect(suggestMemory(3000)).toBe('4MB');
    expect(suggestMemory(100_000)).toBe('128MB');
    expect(suggestMemory(3_000_000)).toBe('4GB');
  });
});

describe('the tree fits the terminal', () => {
  it('no line is wider than the width given; figures move to their own line, conditions are cut with …', () => {
    const plan = parsePlan(fixture('pg18-limit-order-index-filter'));
    const wide = renderTree(plan);
    expect(Math.max(...wide.map((l) => [...l].length))).toBeGreaterThan(60);
    for (const width of [60, 80]) {
      const lines = renderTree(plan, undefined, width);
      expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(width);
      // Nothing dropped: every node is still there, with its id.
      for (const n of plan.nodes) expect(lines.some((l) => l.includes(`#${n.id}`))).toBe(true);
    }
    const narrow = renderTree(plan, undefined, 60);
    expect(narrow.some((l) => l.endsWith('…'))).toBe(true);
  });
});

describe('no "bloat" from a nested loop', () => {
  it('an inner index scan run 20,000 times, a few pages each and no rows, is the loop, not bloat', () => {
    const inner = { 'Node Type': 'Index Scan', 'Parent Relationship': 'Inner', 'Relation Name': 'items', Schema: 'public', Alias: 'i', 'Index Name': 'items_pkey', 'Plan Rows': 1, 'Actual Rows': 0, 'Actual Loops': 20000, 'Actual Total Time': 0.002, 'Shared Hit Blocks': 60000, 'Shared Read Blocks': 0 };
    const outer = { 'Node Type': 'Seq Scan', 'Parent Relationship': 'Outer', 'Relation Name': 'orders', Schema: 'public', Alias: 'o', 'Plan Rows': 20000, 'Actual Rows': 20000, 'Actual Loops': 1, 'Actual Total Time': 5, 'Shared Hit Blocks': 100, 'Shared Read Blocks': 0 };
    const plan = parsePlan({ Plan: { 'Node Type': 'Nested Loop', 'Join Type': 'Inner', 'Plan Rows': 1, 'Actual Rows': 0, 'Actual Loops': 1, 'Actual Total Time': 60, 'Shared Hit Blocks': 60100, 'Shared Read Blocks': 0, Plans: [outer, inner] }, 'Execution Time': 60 } as RawExplain);
    const kinds = analyzePlan(plan, emptyCatalog()).findings.map((f) => f.kind);
    expect(kinds).not.toContain('high-buffer-reads');
    expect(analyzePlan(plan, emptyCatalog()).findings.flatMap((f) => f.fix.sql).join(' ')).not.toMatch(/VACUUM/);
  });
});

describe('misestimate severity by its effect above', () => {
  it('a cheap scan underestimated 1,000× that feeds a nested loop taking the whole query is HIGH, not LOW', () => {
    const outer = { 'Node Type': 'Seq Scan', 'Parent Relationship': 'Outer', 'Relation Name': 'cities', Schema: 'public', Alias: 'c', Filter: '((c.zip = 42) AND (c.city = 42))', 'Plan Rows': 2, 'Actual Rows': 2000, 'Actual Loops': 1, 'Actual Total Time': 0.5, 'Rows Removed by Filter': 0 };
    const inner = { 'Node Type': 'Seq Scan', 'Parent Relationship': 'Inner', 'Relation Name': 'shops', Schema: 'public', Alias: 's', 'Plan Rows': 10, 'Actual Rows': 10, 'Actual Loops': 2000, 'Actual Total Time': 10 };
    const plan = parsePlan({ Plan: { 'Node Type': 'Nested Loop', 'Join Type': 'Inner', 'Plan Rows': 20, 'Actual Rows': 20000, 'Actual Loops': 1, 'Actual Total Time': 20000, Plans: [outer, inner] }, 'Execution Time': 20000 } as RawExplain);
    const f = analyzePlan(plan, emptyCatalog()).findings.find((x) => x.kind === 'row-misestimate' && x.node?.includes('cities'));
    expect(f?.severity).toBe('high');
  });
});

describe('rewriteSql: shapes beyond the simplest', () => {
  const cast = { kind: 'cast-on-column' } as any;
  const notIn = { kind: 'not-in-subplan' } as any;
  it('date(col) = CAST(… AS date) and schema.table.column', () => {
    expect(rewriteSql("SELECT * FROM visits WHERE date(created_at) = CAST('2024-03-01' AS date)", cast)).toBe("SELECT * FROM visits WHERE (created_at >= DATE '2024-03-01' AND created_at < DATE '2024-03-01' + 1)");
    expect(rewriteSql("SELECT * FROM public.visits WHERE public.visits.created_at::date = '2024-03-01'::date AND id > 1", cast)).toBe("SELECT * FROM public.visits WHERE (public.visits.created_at >= DATE '2024-03-01' AND public.visits.created_at < DATE '2024-03-01' + 1) AND id > 1");
  });
  it('NOT IN against an unaliased schema-qualified outer table: the outer column is qualified so it cannot mean the inner one', () => {
    expect(rewriteSql('SELECT count(*) FROM public.authors WHERE id NOT IN (SELECT author_id FROM books WHERE id > 5)', notIn)).toBe('SELECT count(*) FROM public.authors WHERE NOT EXISTS (SELECT 1 FROM books opsctl_sub WHERE opsctl_sub.author_id = public.authors.id AND (id > 5))');
  });
});
