/**
 * Detectors for how the executor ran: estimates gone wrong, sorts and hashes
 * spilling to disk, index-only scans visiting the heap, lossy bitmaps, pages
 * read for nothing, JIT and parallel workers.
 */
import { findTable, memoryKb, statisticsState, suggestMemory, type Catalog } from './catalog.js';
import { fmtInt, fmtMs, n0, qualified, round, severityOf, workMem, type Detector, type Finding } from './finding.js';
import { ancestors, rowsText, type Plan, type PlanNode } from './plan.js';
import { parseConditions, quoteIdent } from './predicates.js';

export const rowMisestimate: Detector = (plan, node, catalog) => {
  if (!plan.analyzed || node.neverExecuted || node.type === 'Limit') return;
  const factor = (n: PlanNode) => {
    const a = n.actualRows ?? 0;
    return Math.max(n.estRows, a) / Math.max(Math.min(n.estRows, a), 1);
  };
  const f = factor(node);
  if (f < 10 || Math.max(node.estRows, node.actualRows ?? 0) * node.loops < 100) return;
  if (ancestors(plan, node).some((a) => a.type === 'Limit')) return;
  // Report where the estimate goes wrong, not every node above it.
  if (node.children.some((c) => !c.neverExecuted && factor(c) >= 10)) return;
  const under = (node.actualRows ?? 0) > node.estRows;
  const sql: string[] = [];
  const tables = node.relation ? [node] : node.children.filter((c) => c.relation);
  const cols = [...new Set(parseConditions((node.raw.Filter ?? node.raw['Index Cond']) as string | undefined).filter((c) => c.column).map((c) => c.column!.column))];
  let text: string;
  if (node.relation && cols.length >= 2) {
    const name = `${node.relation}_${cols.join('_')}_stats`.slice(0, 63);
    sql.push(`CREATE STATISTICS ${quoteIdent(name)} (dependencies, ndistinct, mcv) ON ${cols.map(quoteIdent).join(', ')} FROM ${qualified(node)};`, `ANALYZE ${qualified(node)};`);
    text = `The planner treats ${cols.join(' and ')} as independent; if they are correlated, extended statistics teach it otherwise.`;
  } else {
    // ANALYZE only where pg_stat_user_tables says the statistics are stale (never as a reflex).
    const stale = tables.filter((t) => {
      const info = t.relation ? findTable(catalog, t.schema, t.relation) : undefined;
      return statisticsState(info) !== 'fresh';
    });
    for (const t of stale) sql.push(`ANALYZE ${qualified(t)};`);
    const fresh = tables.filter((t) => !stale.includes(t)).map((t) => t.relation);
    text = sql.length
      ? `The statistics of ${stale.map((t) => t.relation).join(', ')} are stale (many rows changed since the last ANALYZE): refresh them.`
      : fresh.length
        ? `The statistics of ${fresh.join(', ')} are fresh, so ANALYZE would not change this estimate: raise the column's statistics target (ALTER TABLE … ALTER COLUMN … SET STATISTICS 1000) or rewrite the condition so the planner can estimate it.`
        : 'The estimate goes wrong above the scans (a join or an expression): look at the join condition.';
  }
  // Severity by the damage above: an underestimate feeding a nested loop costs what that loop costs.
  let severity = severityOf(plan, node, f >= 100);
  const rank = { low: 0, medium: 1, high: 2 } as const;
  if (under) {
    for (const a of ancestors(plan, node)) {
      if (!/^(Nested Loop|Hash Join|Merge Join|Sort|Aggregate|Hash)$/.test(a.type)) continue;
      const above = severityOf(plan, a);
      if (rank[above] > rank[severity]) severity = above;
      if (a.type === 'Nested Loop') break;
    }
  }
  return {
    kind: 'row-misestimate',
    severity,
    nodeId: node.id,
    node: node.label,
    title: `Row estimate off by ${fmtInt(f)}× (${under ? 'under' : 'over'}estimated: ${fmtInt(node.estRows * node.loops)} expected, ${rowsText(node, fmtInt)} actual${node.loops > 1 ? ` over ${fmtInt(node.loops)} loops` : ''})`,
    explanation: `The planner expected ${fmtInt(node.estRows)} rows here and got ${fmtInt(node.actualRows ?? 0)}${node.loops > 1 ? ` per loop (${fmtInt(node.loops)} loops)` : ''}. Plans above this node (join methods, memory, index choice) were chosen for the wrong row count${severity !== severityOf(plan, node, f >= 100) ? ', and the node above it that this choice made slow is where the time went' : ''}.`,
    evidence: { estimatedRows: node.estRows, actualRows: node.actualRows ?? 0, loops: node.loops, factor: round(f, 1), direction: under ? 'under' : 'over' },
    fix: { text, sql },
    impactMs: node.totalMs,
  };
};

/** VACUUM adds ANALYZE only when the table's statistics are stale (the rule every ANALYZE suggestion follows). */
const statisticsStale = (node: PlanNode, catalog: Catalog) => statisticsState(node.relation ? findTable(catalog, node.schema, node.relation) : undefined) !== 'fresh';
const vacuumOptions = (node: PlanNode, catalog: Catalog) => (statisticsStale(node, catalog) ? '(ANALYZE) ' : '');

type Figures = Record<string, unknown>;

/** The node's own figures and each parallel worker's: EXPLAIN lists workers' sort and hash-aggregate numbers separately. */
const processes = (node: PlanNode): Figures[] => [node.raw, ...(Array.isArray(node.raw.Workers) ? (node.raw.Workers as Figures[]) : [])];

/** kB a sort wrote to disk in one process (0 if it stayed in memory); Incremental Sort reports per group kind. */
function sortDiskKb(p: Figures): number {
  if (p['Sort Space Type'] === 'Disk' || /external/.test(String(p['Sort Method'] ?? ''))) return Math.max(1, n0(p['Sort Space Used']));
  const group = (k: string) => n0(((p[k] as Figures | undefined)?.['Sort Space Disk'] as Figures | undefined)?.['Peak Sort Space Used']);
  return Math.max(group('Full-sort Groups'), group('Pre-sorted Groups'));
}

export const sortSpill: Detector = (plan, node, catalog) => {
  if (!/Sort$/.test(node.type) || !plan.analyzed) return;
  const spilled = processes(node).map(sortDiskKb).filter((kb) => kb > 0);
  if (spilled.length === 0) return;
  const diskKb = spilled.reduce((a, b) => a + b, 0);
  const mem = workMem(plan, catalog);
  // work_mem is per process: size it for the largest one.
  const suggestion = suggestMemory(Math.max(...spilled) * 3);
  const method = String(processes(node).find((p) => sortDiskKb(p) > 0)?.['Sort Method'] ?? 'external sort');
  return {
    kind: 'sort-spill',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `Sort spilled ${fmtInt(diskKb)} kB to disk${spilled.length > 1 ? ` in ${spilled.length} processes` : ''} (work_mem ${mem})`,
    explanation: `The rows to sort did not fit in work_mem (${mem}), so PostgreSQL sorted them in temporary files (${method}). An in-memory sort needs roughly two to three times the on-disk size. An index in the Sort Key order (${((node.raw['Sort Key'] as string[] | undefined) ?? []).join(', ')}) would avoid sorting altogether.`,
    evidence: { sortMethod: method, diskKb, processesSpilled: spilled.length, workMem: mem, tempWrittenBlocks: node.buffers.tempWritten, nodeMs: round(node.totalMs ?? 0) },
    fix: { text: `Give this query more sort memory (per session or per role, not globally): work_mem = ${suggestion}.`, sql: [`SET work_mem = '${suggestion}';`] },
    impactMs: node.totalMs,
  };
};

export const hashSpill: Detector = (plan, node, catalog) => {
  if (node.type !== 'Hash' || !plan.analyzed) return;
  const batches = n0(node.raw['Hash Batches']);
  if (batches <= 1) return;
  const peak = n0(node.raw['Peak Memory Usage']);
  const mem = workMem(plan, catalog);
  const suggestion = suggestMemory(peak * batches * 1.5);
  return {
    kind: 'hash-spill',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `Hash join split its hash table into ${batches} batches on disk (work_mem ${mem})`,
    explanation: `The hash table for the join's inner side did not fit in memory (work_mem ${mem} × hash_mem_multiplier), so both sides were written to temporary files in ${batches} batches and read back.`,
    evidence: { hashBatches: batches, originalHashBatches: n0(node.raw['Original Hash Batches']), peakMemoryKb: peak, workMem: mem, tempWrittenBlocks: node.buffersTotal.tempWritten },
    fix: { text: `Raise work_mem for this query to about ${suggestion} (or hash_mem_multiplier), per session or role.`, sql: [`SET work_mem = '${suggestion}';`] },
    impactMs: node.parentId ? plan.nodes[node.parentId - 1]!.totalMs : node.totalMs,
  };
};

export const hashaggSpill: Detector = (plan, node, catalog) => {
  if (node.type !== 'Aggregate' || !plan.analyzed || !/Hashed|Mixed/.test(String(node.raw.Strategy))) return;
  const procs = processes(node);
  const batches = Math.max(...procs.map((p) => n0(p['HashAgg Batches'])));
  const diskKb = procs.reduce((sum, p) => sum + n0(p['Disk Usage']), 0);
  if (batches <= 1 && diskKb <= 0) return;
  const mem = workMem(plan, catalog);
  const suggestion = suggestMemory(Math.max(...procs.map((p) => n0(p['Disk Usage']) + n0(p['Peak Memory Usage']))) * 2);
  return {
    kind: 'hashagg-spill',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `HashAggregate spilled to disk (${batches} batches, ${fmtInt(diskKb)} kB)`,
    explanation: `The groups did not fit in memory (work_mem ${mem} × hash_mem_multiplier), so PostgreSQL wrote partitions of them to temporary files and aggregated them in ${batches} batches.`,
    evidence: { hashAggBatches: batches, diskKb, peakMemoryKb: n0(node.raw['Peak Memory Usage']), plannedPartitions: n0(node.raw['Planned Partitions']), workMem: mem },
    fix: { text: `Raise work_mem for this query to about ${suggestion}, per session or role.`, sql: [`SET work_mem = '${suggestion}';`] },
    impactMs: node.totalMs,
  };
};

export const heapFetches: Detector = (plan, node, catalog) => {
  if (node.type !== 'Index Only Scan' || !plan.analyzed) return;
  const fetches = n0(node.raw['Heap Fetches']);
  const rows = node.totalRows ?? 0;
  if (fetches < 1000 || fetches < 0.1 * rows) return;
  return {
    kind: 'heap-fetches',
    severity: severityOf(plan, node, false),
    nodeId: node.id,
    node: node.label,
    title: `Index-only scan still visited the table ${fmtInt(fetches)} times`,
    explanation: `An index-only scan skips the table only for pages the visibility map marks all-visible. ${fmtInt(fetches)} of ${fmtInt(rows)} rows needed a table visit, so ${node.relation} has not been vacuumed since it changed. VACUUM sets the visibility map; if this recurs, autovacuum is not keeping up on this table.`,
    evidence: { heapFetches: fetches, rowsReturned: rows, fetchedFraction: round(fetches / Math.max(1, rows)), nodeMs: round(node.totalMs ?? 0) },
    fix: { text: `VACUUM the table; if it recurs, lower autovacuum_vacuum_scale_factor (or set autovacuum_vacuum_insert_scale_factor) for it.`, sql: [`VACUUM ${vacuumOptions(node, catalog)}${qualified(node)};`] },
    impactMs: node.totalMs,
  };
};

export const lossyBitmap: Detector = (plan, node, catalog) => {
  if (node.type !== 'Bitmap Heap Scan' || !plan.analyzed) return;
  const lossy = n0(node.raw['Lossy Heap Blocks']);
  if (lossy <= 0) return;
  const mem = workMem(plan, catalog);
  const suggestion = suggestMemory((memoryKb(mem) ?? 4096) * 4);
  return {
    kind: 'lossy-bitmap',
    severity: severityOf(plan, node, false),
    nodeId: node.id,
    node: node.label,
    title: `Bitmap went lossy on ${fmtInt(lossy)} pages; ${fmtInt(n0(node.raw['Rows Removed by Index Recheck']) * node.loops)} rows rechecked and removed`,
    explanation: `The bitmap of matching rows did not fit in work_mem (${mem}), so for ${fmtInt(lossy)} pages it remembered only "somewhere on this page" and had to re-check every row on them against ${(node.raw['Recheck Cond'] as string) ?? 'the condition'}.`,
    evidence: { lossyHeapBlocks: lossy, exactHeapBlocks: n0(node.raw['Exact Heap Blocks']), rowsRemovedByIndexRecheck: n0(node.raw['Rows Removed by Index Recheck']) * node.loops, workMem: mem },
    fix: { text: `Raise work_mem for this query (e.g. ${suggestion}), per session or role.`, sql: [`SET work_mem = '${suggestion}';`] },
    impactMs: node.totalMs,
  };
};

export const highBufferReads: Detector = (plan, node, catalog) => {
  if (!plan.analyzed) return;
  const blocks = node.buffers.hit + node.buffers.read;
  // Rows a filter discarded were read too: pages spent on them are a filtering problem, not empty space.
  const removed = ['Rows Removed by Filter', 'Rows Removed by Index Recheck'].reduce((sum, k) => sum + n0(node.raw[k]) * node.loops, 0);
  const rows = Math.max(1, (node.totalRows ?? 0) + removed);
  if (blocks < 1000 || blocks / rows < 100) return;
  // The inner side of a nested loop descends its index once per loop (a few pages each, found or not):
  // many loops × a few pages is the loop's cost, not bloat.
  if (node.loops > 1 && blocks / node.loops < 20) return;
  const mb = (blocks * 8192) / 1024 / 1024;
  return {
    kind: 'high-buffer-reads',
    severity: severityOf(plan, node, false),
    nodeId: node.id,
    node: node.label,
    title: `${node.label} touched ${fmtInt(blocks)} pages (${mb.toFixed(1)} MB) to produce ${fmtInt(node.totalRows ?? 0)} rows`,
    explanation: `This node reads far more pages than the rows it looks at justify (${fmtInt(blocks / rows)} pages per row examined; ${fmtInt(node.buffers.read)} of them came from outside shared_buffers, i.e. from the OS cache or disk). That is usually dead or empty space left by deletes and updates (bloat).`,
    evidence: { sharedHitBlocks: node.buffers.hit, sharedReadBlocks: node.buffers.read, pagesPerRow: round(blocks / rows, 1), rows: node.totalRows ?? 0, rowsRemoved: removed, nodeMs: round(node.totalMs ?? 0) },
    fix: {
      text: node.relation ? `VACUUM the table so the space is reused; to shrink it, VACUUM FULL (takes an exclusive lock) or pg_repack.` : 'Look at what feeds this node: it reads much more than it returns.',
      sql: node.relation ? [`VACUUM (VERBOSE${statisticsStale(node, catalog) ? ', ANALYZE' : ''}) ${qualified(node)};`] : [],
    },
    impactMs: node.totalMs,
  };
};

export const workersNotLaunched: Detector = (plan, node, catalog) => {
  if (!/^Gather/.test(node.type) || !plan.analyzed) return;
  const planned = n0(node.raw['Workers Planned']);
  const launched = n0(node.raw['Workers Launched']);
  if (launched >= planned) return;
  const cur = (k: string) => plan.settings[k] ?? catalog.settings[k];
  return {
    kind: 'workers-not-launched',
    severity: severityOf(plan, node, launched === 0),
    nodeId: node.id,
    node: node.label,
    title: `${planned} parallel workers planned, ${launched} launched`,
    explanation: `The plan was costed for ${planned} parallel workers, but the server had ${launched === 0 ? 'none' : `only ${launched}`} free when the query started, so the leader did ${launched === 0 ? 'all' : 'more'} of the work alone. The pool is shared by all sessions (max_parallel_workers${cur('max_parallel_workers') ? ` = ${cur('max_parallel_workers')}` : ''}, within max_worker_processes${cur('max_worker_processes') ? ` = ${cur('max_worker_processes')}` : ''}).`,
    evidence: { workersPlanned: planned, workersLaunched: launched, nodeMs: round(node.totalMs ?? 0), ...(cur('max_parallel_workers') ? { maxParallelWorkers: cur('max_parallel_workers')! } : {}) },
    fix: parallelWorkersFix(Number(cur('max_parallel_workers') ?? 8), Number(cur('max_worker_processes') ?? 8), planned - launched),
    impactMs: node.totalMs,
  };
};

/** Room for the workers that were missing, on top of what the pool has now (raising it to its default would change nothing). */
function parallelWorkersFix(maxParallel: number, maxProcesses: number, missing: number): Finding['fix'] {
  const want = (Number.isFinite(maxParallel) ? maxParallel : 8) + missing;
  const sql = [`ALTER SYSTEM SET max_parallel_workers = ${want};`, 'SELECT pg_reload_conf();'];
  // Parallel workers come out of max_worker_processes, which only a restart changes.
  if (Number.isFinite(maxProcesses) && want > maxProcesses) sql.splice(1, 0, `ALTER SYSTEM SET max_worker_processes = ${want}; -- takes effect after a restart`);
  return {
    text: `Make room for ${missing} more parallel worker${missing === 1 ? '' : 's'} (max_parallel_workers ${maxParallel} → ${want}) if the machine has idle cores, or run fewer parallel queries at once.`,
    sql,
  };
}

export function jitOverhead(plan: Plan, catalog: Catalog): Finding | undefined {
  if (!plan.jit || !plan.analyzed || !plan.executionMs) return;
  const jit = plan.jit.totalMs;
  if (jit < 10 || jit < 0.2 * plan.executionMs) return;
  const share = jit / plan.executionMs;
  return {
    kind: 'jit-overhead',
    severity: share >= 0.5 ? 'high' : 'medium',
    nodeId: plan.root.id,
    node: plan.root.label,
    title: `JIT compilation took ${fmtMs(jit)}, ${Math.round(share * 100)}% of the execution time`,
    explanation: `The planner's cost estimate crossed jit_above_cost, so PostgreSQL compiled ${plan.jit.functions} functions with LLVM before running the query. For a query this short the compilation costs more than it saves.`,
    evidence: { jitMs: round(jit), executionMs: round(plan.executionMs), functions: plan.jit.functions, ...Object.fromEntries(Object.entries(plan.jit.timing).filter(([k]) => k !== 'Total').map(([k, v]) => [`${k.toLowerCase()}Ms`, round(v)])) },
    // Quoted like the work_mem advice, so --verify real times it (SET LOCAL, median of runs) and withdraws it when no faster.
    fix: { text: 'Turn JIT off for this workload (per role or database), or raise jit_above_cost so only long queries are compiled.', sql: ["SET jit = 'off';", ...(catalog.settings.database ? [`ALTER DATABASE ${quoteIdent(catalog.settings.database)} SET jit_above_cost = 1000000;`] : [])] },
    impactMs: jit,
  };
}

