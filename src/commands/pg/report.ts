/** The result of one diagnosis, and its JSON form for CI and scripts. */
import type { IndexAdvice } from './analysis/advice.js';
import type { Finding } from './analysis/findings.js';
import type { Plan, PlanNode } from './analysis/plan.js';

export type ExplainMode = 'analyze' | 'plan' | 'generic';

export interface PlanSummary {
  executionMs?: number;
  planningMs?: number;
  totalCost: number;
  sharedHitBlocks: number;
  sharedReadBlocks: number;
}

export interface VerifiedIndex {
  name: string;
  table: string;
  sql: string;
  /** Whether the new plan uses it. */
  used: boolean;
  buildMs?: number;
}

export interface Verification {
  method: 'real' | 'hypo';
  indexes: VerifiedIndex[];
  before: PlanSummary;
  after: PlanSummary;
  /** real: execution time before ÷ after. */
  speedup?: number;
  /** hypo: estimated total cost before ÷ after. */
  costRatio?: number;
  /** Findings still present with the index in place. */
  remaining: string[];
  /** real: indexes found in the catalog after the rollback (must be empty). */
  leftBehind: string[];
  afterPlan: Plan;
}

export interface ExplainReport {
  query: string;
  params: string[];
  mode: ExplainMode;
  server: { version: string; connection: string };
  plan: Plan;
  findings: Finding[];
  advice: IndexAdvice[];
  verification?: Verification;
  /** --verify failed or timed out: the diagnosis above still stands. */
  verificationError?: { message: string; hint?: string; code: string };
  /** --verify real: the rewrites of the query, timed and row-checked. */
  rewrites?: import('./rewrite.js').RewriteVerification[];
  /** --verify real: CREATE STATISTICS + ANALYZE (rolled back) and the estimate it gives. */
  statistics?: import('./verify-stats.js').StatisticsVerification[];
  /** --verify real: SET LOCAL advice (work_mem) timed with and without. */
  settingsVerified?: import('./rewrite.js').SettingVerification[];
  /** Not executed because of these calls (plan only). */
  refused?: Array<{ name: string; reason: string }>;
  notes: string[];
}

export function summarize(plan: Plan): PlanSummary {
  return {
    executionMs: plan.executionMs,
    planningMs: plan.planningMs,
    totalCost: Number(plan.root.raw['Total Cost'] ?? 0),
    sharedHitBlocks: plan.buffers.hit,
    sharedReadBlocks: plan.buffers.read,
  };
}

const r3 = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 1000) / 1000);

function nodeJson(n: PlanNode) {
  return {
    id: n.id,
    parentId: n.parentId ?? null,
    type: n.type,
    label: n.label,
    relation: n.relation ?? null,
    index: n.index ?? null,
    estimatedRows: n.estRows,
    actualRows: n.actualRows ?? null,
    loops: n.loops,
    /** Over all loops; rowsBelow is set instead of an exact figure when the per-loop average printed as 0. */
    totalRows: n.totalRows ?? null,
    rowsBelow: n.rowsBelow ?? null,
    totalMs: r3(n.totalMs) ?? null,
    selfMs: r3(n.selfMs) ?? null,
    selfShare: r3(n.selfShare) ?? null,
    buffers: n.buffers,
    hot: n.hot,
  };
}

export function reportJson(r: ExplainReport) {
  return {
    query: r.query,
    params: r.params,
    mode: r.mode,
    server: r.server,
    summary: { ...summarize(r.plan), nodes: r.plan.nodes.length, hottestPath: r.plan.nodes.filter((n) => n.hot).map((n) => n.id), settings: r.plan.settings, jit: r.plan.jit ?? null },
    nodes: r.plan.nodes.map(nodeJson),
    findings: r.findings.map(({ advice, extraAdvice, impactMs, ...f }) => ({ ...f, fix: { ...f.fix, index: advice?.name ?? null, indexes: [advice, ...(extraAdvice ?? [])].filter((a) => a).map((a) => a!.name) } })),
    advice: r.advice.map((a) => ({
      table: a.schema ? `${a.schema}.${a.table}` : a.table,
      name: a.name,
      columns: a.keys.map((k) => ({ column: k.column, direction: k.direction, role: k.role })),
      include: a.include,
      where: a.where ?? null,
      sql: a.existing ? null : a.sql,
      serves: a.serves,
      existing: a.existing ?? null,
      alternatives: a.alternatives,
      supersedes: a.supersedes,
      nodeIds: a.nodeIds,
      partitions: a.partitions ?? null,
    })),
    verification: r.verification ? (({ afterPlan, ...v }) => v)(r.verification) : null,
    verificationError: r.verificationError ?? null,
    refused: r.refused ?? [],
    rewrites: r.rewrites ?? [],
    statistics: r.statistics ?? [],
    settingsVerified: r.settingsVerified ?? [],
    notes: r.notes,
    plan: r.plan.raw,
  };
}
