/**
 * CREATE STATISTICS, proven: build the extended statistics and ANALYZE the
 * table inside a transaction that is rolled back (both are transactional),
 * plan the query again and compare the misestimated node's estimate with
 * the rows it really returned. Advised only when the estimate gets closer.
 */
import type { Finding } from './analysis/finding.js';
import { parsePlan, type Plan, type PlanNode } from './analysis/plan.js';
import { explainStatement, type ExplainSpec } from './explain-runner.js';
import type { PgSession } from './session.js';

export interface StatisticsVerification {
  sql: string[];
  actualRows: number;
  estimatedBefore: number;
  estimatedAfter: number;
  /** Estimate error (max/min of estimate and actual) before → after. */
  errorBefore: number;
  errorAfter: number;
  advised: boolean;
}

const error = (est: number, actual: number) => Math.max(est, actual) / Math.max(1, Math.min(est, actual));

/** The planner's total row estimate for a node (a parallel scan estimates per process: its Gather has the total). */
function totalEstimate(plan: Plan, node: PlanNode): number {
  const parent = plan.nodes.find((n) => n.id === node.parentId);
  return parent && /^Gather/.test(parent.type) ? parent.estRows : node.estRows;
}

export async function verifyStatistics(session: PgSession, spec: ExplainSpec, findings: Finding[], o: { timeoutMs: number; settings?: Record<string, string>; before: Plan }): Promise<StatisticsVerification[]> {
  const out: StatisticsVerification[] = [];
  for (const f of findings) {
    if (f.kind !== 'row-misestimate' || !f.fix.sql.some((q) => q.startsWith('CREATE STATISTICS'))) continue;
    const original = o.before.nodes.find((n) => n.id === f.nodeId);
    if (!original?.relation) continue;
    // Rows over all processes, compared with the total estimate: a parallel plan counts per loop.
    const actual = original.totalRows ?? 0;
    const before = totalEstimate(o.before, original);
    await session.rolledBack({ readOnly: false, timeoutMs: o.timeoutMs, settings: o.settings }, async () => {
      for (const q of f.fix.sql) await session.query(q.replace(/;$/, ''));
      await session.query('SET TRANSACTION READ ONLY').catch(() => undefined);
      const plan = parsePlan(await explainStatement(session, { ...spec, kind: 'plan' }));
      const node = plan.nodes.find((n) => n.relation === original.relation && n.alias === original.alias && /Scan/.test(n.type));
      const after = node ? totalEstimate(plan, node) : before;
      out.push({ sql: f.fix.sql, actualRows: actual, estimatedBefore: before, estimatedAfter: after, errorBefore: Math.round(error(before, actual) * 10) / 10, errorAfter: Math.round(error(after, actual) * 10) / 10, advised: error(after, actual) < error(before, actual) / 2 });
    });
  }
  return out;
}
