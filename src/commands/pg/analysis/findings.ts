/**
 * Plan in, findings out. Each detector reads one pattern an expert looks for
 * and reports it with the numbers that prove it. Triage is by measured time
 * and rows, never by estimated cost: the write-up's bad plan had a tiny cost.
 */
import { findTable, memoryKb, suggestMemory, type Catalog } from './catalog.js';
import { orderByFromSql, proposeIndex, scanOrder, type IndexAdvice } from './advice.js';
import { ancestors, type Plan, type PlanNode } from './plan.js';
import { parseConditions, quoteIdent } from './predicates.js';

export const FINDING_KINDS = [
  'limit-order-index-filter',
  'seq-scan-selective-filter',
  'index-filter-leftover',
  'nested-loop-inner-scan',
  'row-misestimate',
  'sort-spill',
  'hash-spill',
  'hashagg-spill',
  'heap-fetches',
  'lossy-bitmap',
  'high-buffer-reads',
  'jit-overhead',
  'workers-not-launched',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];
export type Severity = 'high' | 'medium' | 'low';

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  nodeId?: number;
  node?: string;
  title: string;
  explanation: string;
  evidence: Record<string, number | string>;
  fix: { text: string; sql: string[] };
  advice?: IndexAdvice;
  /** Time the finding accounts for (node inclusive ms), for ordering. */
  impactMs?: number;
}

export interface Analysis {
  findings: Finding[];
  /** Distinct index proposals (CREATE INDEX only for those that do not exist). */
  advice: IndexAdvice[];
}

export interface AnalyzeOptions {
  sql?: string;
}

const n0 = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
export const fmtInt = (v: number): string => Math.round(v).toLocaleString('en-US');
export const fmtMs = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3)) + ' ms';
const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
const qualified = (n: PlanNode) => `${n.schema ? `${quoteIdent(n.schema)}.` : ''}${quoteIdent(n.relation ?? '?')}`;

function severityOf(plan: Plan, node: PlanNode | undefined, strong = true): Severity {
  if (!plan.analyzed || !node) return 'medium';
  const share = node.totalShare ?? 0;
  if (share >= 0.5 && strong) return 'high';
  if (share >= 0.1) return 'medium';
  return 'low';
}

function workMem(plan: Plan, catalog: Catalog): string {
  return plan.settings.work_mem ?? catalog.settings.work_mem ?? '4MB';
}

function adviceFix(advice: IndexAdvice | undefined, fallback: string): Finding['fix'] {
  if (!advice) return { text: fallback, sql: [] };
  if (advice.existing) return { text: advice.existing.note, sql: [advice.existing.sql] };
  return { text: `Create an index serving ${advice.serves}${advice.alternatives.length ? ` (${advice.alternatives.join(' ')})` : ''}.`, sql: [advice.sql] };
}

type Detector = (plan: Plan, node: PlanNode, catalog: Catalog, opts: AnalyzeOptions) => Finding | undefined;

const ORDER_PRESERVING = new Set(['Result', 'Subquery Scan', 'Gather Merge', 'Merge Append', 'Append']);

const limitOrderIndexFilter: Detector = (plan, node, catalog, opts): Finding | undefined => {
  if (!/^Index (Only )?Scan$/.test(node.type) || typeof node.raw.Filter !== 'string') return;
  let limit: PlanNode | undefined;
  for (const a of ancestors(plan, node)) {
    if (a.type === 'Limit') {
      limit = a;
      break;
    }
    if (!ORDER_PRESERVING.has(a.type)) return;
  }
  if (!limit) return;
  const filters = parseConditions(node.raw.Filter as string).filter((c) => c.kind === 'eq' || c.kind === 'range' || c.kind === 'null');
  if (filters.length === 0) return;
  const orderKeys = scanOrder(node, catalog) ?? orderByFromSql(opts.sql);
  const advice = proposeIndex(node, catalog, { orderKeys });
  const orderText = orderKeys?.length ? orderKeys.map((k) => `${k.column}${k.direction === 'DESC' ? ' DESC' : ''}`).join(', ') : 'the ORDER BY';
  const filterText = node.raw.Filter as string;
  if (plan.analyzed) {
    const removed = n0(node.raw['Rows Removed by Filter']) * node.loops;
    const returned = node.totalRows ?? 0;
    if (removed < 1000 || removed < 10 * Math.max(1, returned)) return;
    return {
      kind: 'limit-order-index-filter',
      severity: severityOf(plan, node),
      nodeId: node.id,
      node: node.label,
      title: `LIMIT walks ${node.index} in ${orderText} order and throws away ${fmtInt(removed)} rows`,
      explanation:
        `To answer the LIMIT, PostgreSQL reads ${node.index} in ${orderText} order and checks every row against ${filterText}, ` +
        `expecting a match soon. The matching rows are far away in that order, so it examined ${fmtInt(removed + returned)} rows to return ${fmtInt(returned)}. ` +
        `An index that starts with the filtered column(s) and continues with the ORDER BY column(s) jumps straight to the first match. ` +
        `(Quick workaround without a new index: adding a second column to the ORDER BY stops the planner from walking this index, but the composite index is the real fix.)`,
      evidence: {
        rowsRemovedByFilter: removed,
        rowsReturned: returned,
        removedPerReturned: round(removed / Math.max(1, returned), 1),
        nodeMs: round(node.totalMs ?? 0),
        shareOfQuery: round(node.totalShare ?? 0),
        sharedBuffers: node.buffersTotal.hit + node.buffersTotal.read,
        estimatedTotalCost: n0(plan.root.raw['Total Cost']),
      },
      fix: adviceFix(advice, `Create an index on the filtered columns followed by ${orderText}.`),
      advice,
      impactMs: node.totalMs,
    };
  }
  return {
    kind: 'limit-order-index-filter',
    severity: 'medium',
    nodeId: node.id,
    node: node.label,
    title: `LIMIT would walk ${node.index} in ${orderText} order, filtering on ${filterText}`,
    explanation:
      `The plan answers the LIMIT by reading ${node.index} in order and checking each row against ${filterText}. ` +
      `That is fast only if matching rows come early in that order; when they are rare or at the far end (as in the write-up), it reads most of the index. ` +
      `Run it with ANALYZE (a value for each parameter) to measure; the composite index below avoids the risk either way.`,
    evidence: { estimatedRows: node.estRows, estimatedTotalCost: n0(plan.root.raw['Total Cost']) },
    fix: adviceFix(advice, `Create an index on the filtered columns followed by ${orderText}.`),
    advice,
  };
};

const seqScanSelectiveFilter: Detector = (plan, node, catalog) => {
  if (!/Seq Scan$/.test(node.type) || typeof node.raw.Filter !== 'string') return;
  const table = node.relation ? findTable(catalog, node.schema, node.relation) : undefined;
  let evidence: Finding['evidence'];
  if (plan.analyzed) {
    const removed = n0(node.raw['Rows Removed by Filter']) * node.loops;
    const kept = node.totalRows ?? 0;
    const scanned = removed + kept;
    if (removed < 1000 || kept / Math.max(1, scanned) > 0.1) return;
    evidence = { rowsScanned: scanned, rowsKept: kept, keptFraction: round(kept / Math.max(1, scanned), 5), nodeMs: round(node.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0), sharedBuffers: node.buffers.hit + node.buffers.read };
  } else {
    if (!table || table.rows < 10000 || (node.estRows * node.loops) / table.rows > 0.01) return;
    evidence = { tableRows: table.rows, estimatedRowsKept: node.estRows };
  }
  const advice = proposeIndex(node, catalog);
  if (!advice) return;
  const kept = Number(evidence.rowsKept ?? evidence.estimatedRowsKept);
  const scanned = Number(evidence.rowsScanned ?? evidence.tableRows);
  return {
    kind: 'seq-scan-selective-filter',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `Sequential scan of ${node.relation} keeps ${fmtInt(kept)} of ${fmtInt(scanned)} rows`,
    explanation: `PostgreSQL reads the whole of ${node.relation} and discards almost every row with ${node.raw.Filter as string}. An index on the filtered column(s) reads only the matching rows.`,
    evidence,
    fix: adviceFix(advice, 'Index the filtered columns.'),
    advice,
    impactMs: node.totalMs,
  };
};

const indexFilterLeftover: Detector = (plan, node, catalog) => {
  if (!/^(Index Scan|Index Only Scan|Bitmap Heap Scan)$/.test(node.type) || typeof node.raw.Filter !== 'string' || !plan.analyzed) return;
  const removed = n0(node.raw['Rows Removed by Filter']) * node.loops;
  const kept = node.totalRows ?? 0;
  if (removed < 1000 || removed < kept) return;
  const advice = proposeIndex(node, catalog);
  const via = node.index ?? node.children.map((c) => c.index).filter(Boolean).join(', ');
  return {
    kind: 'index-filter-leftover',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `Index ${via} finds rows that a Filter then discards (${fmtInt(removed)} removed, ${fmtInt(kept)} kept)`,
    explanation: `The index narrows the search only by ${(node.raw['Index Cond'] ?? node.raw['Recheck Cond'] ?? 'its condition') as string}; every row it finds is then fetched from the table and tested against ${node.raw.Filter as string}, which throws most of them away. Adding the filtered column(s) to the index lets it skip those rows.`,
    evidence: { rowsRemovedByFilter: removed, rowsKept: kept, nodeMs: round(node.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0), sharedBuffers: node.buffers.hit + node.buffers.read },
    fix: adviceFix(advice, 'Add the filtered columns to the index.'),
    advice,
    impactMs: node.totalMs,
  };
};

const nestedLoopInnerScan: Detector = (plan, node, catalog) => {
  if (!node.type.startsWith('Nested Loop') || node.children.length < 2) return;
  const inner = node.children[1]!;
  let scan = inner;
  while ((scan.type === 'Materialize' || scan.type === 'Memoize') && scan.children[0]) scan = scan.children[0];
  if (!scan.relation) return;
  const isSeq = /Seq Scan$/.test(scan.type);
  const outer = node.children[0]!;
  let evidence: Finding['evidence'];
  if (plan.analyzed) {
    const loops = inner.loops;
    const removed = n0(scan.raw['Rows Removed by Filter']) * scan.loops + n0(node.raw['Rows Removed by Join Filter']) * node.loops;
    if (loops < 100 || (!isSeq && removed < 10000)) return;
    evidence = { innerLoops: loops, rowsRemoved: removed, innerMs: round(inner.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0) };
  } else {
    if (!isSeq || outer.estRows < 100) return;
    evidence = { estimatedOuterRows: outer.estRows };
  }
  const advice = proposeIndex(scan, catalog, { joinConditions: parseConditions(node.raw['Join Filter'] as string | undefined) });
  return {
    kind: 'nested-loop-inner-scan',
    severity: severityOf(plan, node),
    nodeId: scan.id,
    node: scan.label,
    title: `Nested loop re-scans ${scan.relation} once per outer row (${fmtInt(Number(evidence.innerLoops ?? evidence.estimatedOuterRows))} times)`,
    explanation: `For every row from ${outer.label}, the nested loop runs ${scan.label} again${isSeq ? ', reading the whole table each time' : ' and discards most of what it reads'}. An index on ${scan.relation}'s join column turns each repetition into a direct lookup.`,
    evidence,
    fix: adviceFix(advice, `Index ${scan.relation} on the join column.`),
    advice,
    impactMs: node.totalMs,
  };
};

const rowMisestimate: Detector = (plan, node, catalog) => {
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
    for (const t of tables) sql.push(`ANALYZE ${qualified(t)};`);
    text = sql.length ? 'Refresh the statistics; if the estimate stays off, raise the column statistics target (ALTER TABLE … ALTER COLUMN … SET STATISTICS 1000) and ANALYZE again.' : 'Check the statistics of the tables below this node (ANALYZE them).';
  }
  return {
    kind: 'row-misestimate',
    severity: severityOf(plan, node, f >= 100),
    nodeId: node.id,
    node: node.label,
    title: `Row estimate off by ${fmtInt(f)}× (${under ? 'under' : 'over'}estimated: ${fmtInt(node.estRows)} expected, ${fmtInt(node.actualRows ?? 0)} actual)`,
    explanation: `The planner expected ${fmtInt(node.estRows)} rows here and got ${fmtInt(node.actualRows ?? 0)}${node.loops > 1 ? ` per loop (${fmtInt(node.loops)} loops)` : ''}. Plans above this node (join methods, memory, index choice) were chosen for the wrong row count.`,
    evidence: { estimatedRows: node.estRows, actualRows: node.actualRows ?? 0, loops: node.loops, factor: round(f, 1), direction: under ? 'under' : 'over' },
    fix: { text, sql },
    impactMs: node.totalMs,
  };
};

const sortSpill: Detector = (plan, node, catalog) => {
  if (!/Sort$/.test(node.type) || !plan.analyzed) return;
  if (node.raw['Sort Space Type'] !== 'Disk' && !/external/.test(String(node.raw['Sort Method'] ?? ''))) return;
  const diskKb = n0(node.raw['Sort Space Used']);
  const mem = workMem(plan, catalog);
  const suggestion = suggestMemory(diskKb * 3);
  return {
    kind: 'sort-spill',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `Sort spilled ${fmtInt(diskKb)} kB to disk (work_mem ${mem})`,
    explanation: `The rows to sort did not fit in work_mem (${mem}), so PostgreSQL sorted them in temporary files (${String(node.raw['Sort Method'])}). An in-memory sort needs roughly two to three times the on-disk size. An index in the Sort Key order (${((node.raw['Sort Key'] as string[] | undefined) ?? []).join(', ')}) would avoid sorting altogether.`,
    evidence: { sortMethod: String(node.raw['Sort Method'] ?? ''), diskKb, workMem: mem, tempWrittenBlocks: node.buffers.tempWritten, nodeMs: round(node.totalMs ?? 0) },
    fix: { text: `Give this query more sort memory (per session or per role, not globally): work_mem = ${suggestion}.`, sql: [`SET work_mem = '${suggestion}';`] },
    impactMs: node.totalMs,
  };
};

const hashSpill: Detector = (plan, node, catalog) => {
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

const hashaggSpill: Detector = (plan, node, catalog) => {
  if (node.type !== 'Aggregate' || !plan.analyzed || !/Hashed|Mixed/.test(String(node.raw.Strategy))) return;
  const batches = n0(node.raw['HashAgg Batches']);
  const diskKb = n0(node.raw['Disk Usage']);
  if (batches <= 1 && diskKb <= 0) return;
  const mem = workMem(plan, catalog);
  const suggestion = suggestMemory((diskKb + n0(node.raw['Peak Memory Usage'])) * 2);
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

const heapFetches: Detector = (plan, node) => {
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
    fix: { text: `VACUUM the table; if it recurs, lower autovacuum_vacuum_scale_factor (or set autovacuum_vacuum_insert_scale_factor) for it.`, sql: [`VACUUM (ANALYZE) ${qualified(node)};`] },
    impactMs: node.totalMs,
  };
};

const lossyBitmap: Detector = (plan, node, catalog) => {
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

const highBufferReads: Detector = (plan, node) => {
  if (!plan.analyzed) return;
  const blocks = node.buffers.hit + node.buffers.read;
  const rows = Math.max(1, node.totalRows ?? 0);
  if (blocks < 1000 || blocks / rows < 100) return;
  const mb = (blocks * 8192) / 1024 / 1024;
  return {
    kind: 'high-buffer-reads',
    severity: severityOf(plan, node, false),
    nodeId: node.id,
    node: node.label,
    title: `${node.label} touched ${fmtInt(blocks)} pages (${mb.toFixed(1)} MB) to produce ${fmtInt(node.totalRows ?? 0)} rows`,
    explanation: `This node reads far more pages than the rows it returns justify (${fmtInt(blocks / rows)} pages per row; ${fmtInt(node.buffers.read)} of them came from outside shared_buffers, i.e. from the OS cache or disk). With no filter doing the discarding, that is usually dead or empty space left by deletes and updates (bloat).`,
    evidence: { sharedHitBlocks: node.buffers.hit, sharedReadBlocks: node.buffers.read, pagesPerRow: round(blocks / rows, 1), rows: node.totalRows ?? 0, nodeMs: round(node.totalMs ?? 0) },
    fix: {
      text: node.relation ? `VACUUM the table so the space is reused; to shrink it, VACUUM FULL (takes an exclusive lock) or pg_repack.` : 'Look at what feeds this node: it reads much more than it returns.',
      sql: node.relation ? [`VACUUM (VERBOSE, ANALYZE) ${qualified(node)};`] : [],
    },
    impactMs: node.totalMs,
  };
};

const workersNotLaunched: Detector = (plan, node, catalog) => {
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
    fix: {
      text: 'Raise max_parallel_workers (and max_worker_processes, which needs a restart) if the machine has idle cores, or run fewer parallel queries at once.',
      sql: ['ALTER SYSTEM SET max_parallel_workers = 8;', 'SELECT pg_reload_conf();'],
    },
    impactMs: node.totalMs,
  };
};

function jitOverhead(plan: Plan, catalog: Catalog): Finding | undefined {
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
    fix: { text: 'Turn JIT off for this workload (per role or database), or raise jit_above_cost so only long queries are compiled.', sql: ['SET jit = off;', ...(catalog.settings.database ? [`ALTER DATABASE ${quoteIdent(catalog.settings.database)} SET jit_above_cost = 1000000;`] : [])] },
    impactMs: jit,
  };
}

/** Index-related detectors, in priority order: the first to claim a node wins. */
const INDEX_DETECTORS = [limitOrderIndexFilter, nestedLoopInnerScan, seqScanSelectiveFilter, indexFilterLeftover];
const OTHER_DETECTORS = [rowMisestimate, sortSpill, hashSpill, hashaggSpill, heapFetches, lossyBitmap, workersNotLaunched];

export function analyzePlan(plan: Plan, catalog: Catalog, opts: AnalyzeOptions = {}): Analysis {
  const findings: Finding[] = [];
  const claimed = new Set<number>();
  for (const detect of INDEX_DETECTORS) {
    for (const node of plan.nodes) {
      if (claimed.has(node.id)) continue;
      const f = detect(plan, node, catalog, opts);
      if (f) {
        findings.push(f);
        claimed.add(f.nodeId!);
      }
    }
  }
  for (const node of plan.nodes) {
    for (const detect of OTHER_DETECTORS) {
      const f = detect(plan, node, catalog, opts);
      if (f) findings.push(f);
    }
  }
  // Buffers are already part of the evidence of index findings; elsewhere they are news.
  for (const node of plan.nodes) {
    if (claimed.has(node.id)) continue;
    const f = highBufferReads(plan, node, catalog, opts);
    if (f) findings.push(f);
  }
  const jit = jitOverhead(plan, catalog);
  if (jit) findings.push(jit);

  const rank: Record<Severity, number> = { high: 0, medium: 1, low: 2 };
  findings.sort((a, b) => rank[a.severity] - rank[b.severity] || (b.impactMs ?? 0) - (a.impactMs ?? 0));

  const advice: IndexAdvice[] = [];
  for (const f of findings) {
    if (!f.advice) continue;
    const same = advice.find((a) => a.name === f.advice!.name && a.table === f.advice!.table);
    if (same) same.nodeIds.push(...f.advice.nodeIds.filter((id) => !same.nodeIds.includes(id)));
    else advice.push(f.advice);
  }
  return { findings, advice };
}
