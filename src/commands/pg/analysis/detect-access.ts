/**
 * Detectors for row access the right index would fix: a LIMIT walking the
 * wrong index, a sequential scan keeping few rows, an index whose Filter
 * discards most rows, a nested loop re-scanning its inner side.
 */
import { findTable, type Catalog } from './catalog.js';
import { orderByFromSql, proposeForeignKeyIndex, proposeIndex, scanOrder } from './advice.js';
import { adviceFix, fmtInt, fmtMs, n0, round, severityOf, type Detector, type Finding } from './finding.js';
import { ancestors, rowsText, type Plan, type PlanNode } from './plan.js';
import { parseConditions } from './predicates.js';

const ORDER_PRESERVING = new Set(['Result', 'Subquery Scan', 'Gather Merge', 'Merge Append', 'Append']);

export const limitOrderIndexFilter: Detector = (plan, node, catalog, opts): Finding | undefined => {
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
        `expecting a match soon. The matching rows are far away in that order, so it examined ${fmtInt(removed + returned)} rows to return ${rowsText(node, fmtInt)}. ` +
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

export const seqScanSelectiveFilter: Detector = (plan, node, catalog) => {
  if (!/Seq Scan$/.test(node.type) || typeof node.raw.Filter !== 'string') return;
  const table = node.relation ? findTable(catalog, node.schema, node.relation) : undefined;
  let evidence: Finding['evidence'];
  if (plan.analyzed) {
    const removed = n0(node.raw['Rows Removed by Filter']) * node.loops;
    const kept = node.totalRows ?? 0;
    const scanned = removed + kept;
    if (removed < 1000 || kept / Math.max(1, scanned) > 0.1) return;
    evidence = { rowsScanned: scanned, rowsKept: kept, ...(node.rowsBelow !== undefined ? { rowsKeptBelow: node.rowsBelow } : {}), keptFraction: round(kept / Math.max(1, scanned), 5), nodeMs: round(node.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0), sharedBuffers: node.buffers.hit + node.buffers.read };
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
    title: `Sequential scan of ${node.relation} keeps ${plan.analyzed ? rowsText(node, fmtInt) : fmtInt(kept)} of ${fmtInt(scanned)} rows${node.loops > 1 && plan.analyzed ? ` (all ${fmtInt(node.loops)} ${/Parallel/.test(node.label) ? 'parallel participants' : 'loops'} counted)` : ''}`,
    explanation: `PostgreSQL reads the whole of ${node.relation} and discards almost every row with ${node.raw.Filter as string}. An index on the filtered column(s) reads only the matching rows.`,
    evidence,
    fix: adviceFix(advice, 'Index the filtered columns.'),
    advice,
    impactMs: node.totalMs,
  };
};

export const indexFilterLeftover: Detector = (plan, node, catalog) => {
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
    title: `Index ${via} finds rows that a Filter then discards (${fmtInt(removed)} removed, ${rowsText(node, fmtInt)} kept)`,
    explanation: `The index narrows the search only by ${(node.raw['Index Cond'] ?? node.raw['Recheck Cond'] ?? 'its condition') as string}; every row it finds is then fetched from the table and tested against ${node.raw.Filter as string}, which throws most of them away. Adding the filtered column(s) to the index lets it skip those rows.`,
    evidence: { rowsRemovedByFilter: removed, rowsKept: kept, nodeMs: round(node.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0), sharedBuffers: node.buffers.hit + node.buffers.read },
    fix: adviceFix(advice, 'Add the filtered columns to the index.'),
    advice,
    impactMs: node.totalMs,
  };
};

export const nestedLoopInnerScan: Detector = (plan, node, catalog) => {
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
    explanation: `For every row from ${outer.label}, the nested loop runs ${scan.label} again${isSeq ? ', reading the whole table each time' : ' and discards most of what it reads'}. An index on the join column of ${scan.relation} turns each repetition into a direct lookup.`,
    evidence,
    fix: adviceFix(advice, `Index ${scan.relation} on the join column.`),
    advice,
    impactMs: node.totalMs,
  };
};


/** Foreign-key checks (they run as triggers) that scan the referencing table for want of an index. */
export function fkTriggerUnindexed(plan: Plan, catalog: Catalog): Finding[] {
  const out: Finding[] = [];
  const total = plan.executionMs ?? 0;
  for (const t of plan.raw.Triggers ?? []) {
    const name = t['Constraint Name'];
    const fk = catalog.foreignKeys?.find((k) => k.name === name);
    const ms = n0(t['Time']);
    if (!fk || ms < 1 || ms < 0.2 * total) continue;
    const advice = proposeForeignKeyIndex(fk, catalog);
    if (!advice) continue;
    const calls = n0(t['Calls']);
    out.push({
      kind: 'fk-trigger-unindexed',
      severity: ms >= 0.5 * total ? 'high' : 'medium',
      node: `trigger ${String(t['Trigger Name'])} on ${String(t['Relation'])}`,
      title: `Foreign key ${fk.name} checks took ${fmtMs(ms)} (${Math.round((ms / Math.max(total, ms)) * 100)}% of the statement) with no index on ${fk.table} (${fk.columns.join(', ')})`,
      explanation:
        `Each ${fk.referencedTable} row deleted or re-keyed makes PostgreSQL look for rows in ${fk.table} that still reference it (${fmtInt(calls)} checks here). ` +
        `No index starts with ${fk.columns.join(', ')}, so every check reads ${fk.table} from start to end. Indexing the referencing column(s) makes each check a lookup.`,
      evidence: { triggerMs: round(ms), calls, executionMs: round(total), shareOfQuery: round(ms / Math.max(total, ms)) },
      fix: adviceFix(advice, `Index ${fk.table} (${fk.columns.join(', ')}).`),
      advice,
      impactMs: ms,
    });
  }
  return out;
}
