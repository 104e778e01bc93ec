/**
 * Plan in, findings out. Each detector reads one pattern an expert looks for
 * and reports it with the numbers that prove it. Triage is by measured time
 * and rows, never by estimated cost: the write-up's bad plan had a tiny cost.
 */
import type { Catalog } from './catalog.js';
import type { IndexAdvice } from './advice.js';
import { fkTriggerUnindexed, indexFilterLeftover, limitOrderIndexFilter, nestedLoopInnerScan, seqScanSelectiveFilter } from './detect-access.js';
import { hashaggSpill, hashSpill, heapFetches, highBufferReads, jitOverhead, lossyBitmap, rowMisestimate, sortSpill, workersNotLaunched } from './detect-runtime.js';
import type { AnalyzeOptions, Finding, Severity } from './finding.js';
import { castOnColumn, deepOffset, dominantNode, hashJoinUnindexedProbe, likePrefixCollation, mergePartitionAdvice, notInSubplan, orAcrossColumns, sortedLimitWithoutIndex } from './detect-shape.js';
import type { Plan } from './plan.js';

export { FINDING_KINDS, fmtInt, fmtMs, fmtNum, type AnalyzeOptions, type Finding, type FindingKind, type Severity } from './finding.js';

export interface Analysis {
  findings: Finding[];
  /** Distinct index proposals (CREATE INDEX only for those that do not exist). */
  advice: IndexAdvice[];
}

/** Index-related detectors, in priority order: the first to claim a node wins. */
const INDEX_DETECTORS = [likePrefixCollation, castOnColumn, orAcrossColumns, notInSubplan, deepOffset, hashJoinUnindexedProbe, sortedLimitWithoutIndex, limitOrderIndexFilter, nestedLoopInnerScan, seqScanSelectiveFilter, indexFilterLeftover];
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
  const dominant = dominantNode(plan, new Set([...claimed, ...findings.map((f) => f.nodeId ?? -1)]));
  if (dominant) findings.push(dominant);
  const jit = jitOverhead(plan, catalog);
  if (jit) findings.push(jit);
  findings.push(...fkTriggerUnindexed(plan, catalog));

  const rank: Record<Severity, number> = { high: 0, medium: 1, low: 2 };
  findings.sort((a, b) => rank[a.severity] - rank[b.severity] || (b.impactMs ?? 0) - (a.impactMs ?? 0));

  // Where the query is the cause, its rewrite comes first; then by measured time.
  findings.sort((a, b) => Number(Boolean(b.rewrite)) - Number(Boolean(a.rewrite)) || rank[a.severity] - rank[b.severity] || (b.impactMs ?? 0) - (a.impactMs ?? 0));
  let advice: IndexAdvice[] = [];
  for (const f of findings) {
    for (const one of [f.advice, ...(f.extraAdvice ?? [])]) {
      if (!one) continue;
      const same = advice.find((a) => a.name === one.name && a.table === one.table);
      if (same) same.nodeIds.push(...one.nodeIds.filter((id) => !same.nodeIds.includes(id)));
      else advice.push(one);
    }
  }
  advice = mergePartitionAdvice(advice, catalog);
  for (const f of findings) {
    const merged = f.advice && !advice.includes(f.advice) ? advice.find((a) => a.partitions?.includes(f.advice!.table) && a.nodeIds.includes(f.nodeId ?? -1)) : undefined;
    if (merged) {
      f.advice = merged;
      f.fix = { text: `One index on the partitioned table ${merged.table} (not one per partition).`, sql: [merged.sql] };
    }
  }
  return { findings, advice };
}
