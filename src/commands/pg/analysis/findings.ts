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
import type { Plan } from './plan.js';

export { FINDING_KINDS, fmtInt, fmtMs, fmtNum, type AnalyzeOptions, type Finding, type FindingKind, type Severity } from './finding.js';

export interface Analysis {
  findings: Finding[];
  /** Distinct index proposals (CREATE INDEX only for those that do not exist). */
  advice: IndexAdvice[];
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
  findings.push(...fkTriggerUnindexed(plan, catalog));

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
