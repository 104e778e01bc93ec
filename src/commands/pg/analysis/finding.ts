/**
 * What a finding is, and the small helpers every detector shares: number
 * formatting, severity by measured share of the query, the fix text of an
 * index proposal.
 */
import type { Catalog } from './catalog.js';
import type { IndexAdvice } from './advice.js';
import type { Plan, PlanNode } from './plan.js';
import { quoteIdent } from './predicates.js';

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
  'fk-trigger-unindexed',
  'like-prefix-collation',
  'cast-on-column',
  'or-across-columns',
  'not-in-subplan',
  'deep-offset',
  'hash-join-unindexed-probe',
  'sorted-limit-without-index',
  'dominant-node',
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
  /** More indexes the same fix needs (one per column of an OR). */
  extraAdvice?: IndexAdvice[];
  /** The query is the cause: what to write instead (the condition as the plan shows it → its rewrite). */
  rewrite?: { from: string; to: string };
  /** Time the finding accounts for (node inclusive ms), for ordering. */
  impactMs?: number;
}

export interface AnalyzeOptions {
  sql?: string;
}

export const n0 = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
/** 1234567 → "1,234,567" (without Intl: loading ICU costs more than the whole analysis). */
export const fmtInt = (v: number): string => String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
/** Up to `digits` decimals, grouped: 1234.5 → "1,234.5". */
export const fmtNum = (v: number, digits = 2): string => {
  const [int, frac] = String(Math.round(v * 10 ** digits) / 10 ** digits).split('.');
  return `${fmtInt(Number(int))}${frac ? `.${frac}` : ''}`;
};
export const fmtMs = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3)) + ' ms';
export const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
export const qualified = (n: PlanNode) => `${n.schema ? `${quoteIdent(n.schema)}.` : ''}${quoteIdent(n.relation ?? '?')}`;

export function severityOf(plan: Plan, node: PlanNode | undefined, strong = true): Severity {
  if (!plan.analyzed || !node) return 'medium';
  // A problem that costs under a millisecond is worth knowing, not worth an alarm.
  if ((node.totalMs ?? 0) < 1) return 'low';
  const share = node.totalShare ?? 0;
  if (share >= 0.5 && strong) return 'high';
  if (share >= 0.1) return 'medium';
  return 'low';
}

export function workMem(plan: Plan, catalog: Catalog): string {
  return plan.settings.work_mem ?? catalog.settings.work_mem ?? '4MB';
}

export function adviceFix(advice: IndexAdvice | undefined, fallback: string): Finding['fix'] {
  if (!advice) return { text: fallback, sql: [] };
  if (advice.existing) return { text: advice.existing.note, sql: advice.existing.sql ? [advice.existing.sql] : [] };
  return { text: `Create an index serving ${advice.serves}${advice.alternatives.length ? ` (${advice.alternatives.join(' ')})` : ''}.`, sql: [advice.sql] };
}

export type Detector = (plan: Plan, node: PlanNode, catalog: Catalog, opts: AnalyzeOptions) => Finding | undefined;

