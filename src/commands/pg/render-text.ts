/** The human report: the plan as a tree (hottest path marked), findings, advice, verification. */
import type { Style } from '../../lib/output.js';
import { escapeLine, truncate } from '../../lib/terminal.js';
import { fmtInt, fmtMs, fmtNum, type Finding } from './analysis/findings.js';
import { n0 } from './analysis/finding.js';
import { rowsText, type Plan, type PlanNode } from './analysis/plan.js';
import type { ExplainReport, Verification } from './report.js';

export type Styler = (style: Style, text: string) => string;
const plain: Styler = (_s, t) => t;

/** Condition and runtime details printed under a node. */
export function nodeDetails(n: PlanNode, analyzed: boolean): string[] {
  const r = n.raw;
  const out: string[] = [];
  const removed = (key: string) => (analyzed && n0(r[key]) > 0 ? `  · removed ${fmtInt(n0(r[key]) * n.loops)}` : '');
  for (const k of ['Index Cond', 'Recheck Cond', 'Hash Cond', 'Merge Cond']) if (typeof r[k] === 'string') out.push(`${k}: ${r[k] as string}${k === 'Recheck Cond' ? removed('Rows Removed by Index Recheck') : ''}`);
  if (typeof r['Filter'] === 'string') out.push(`Filter: ${r['Filter'] as string}${removed('Rows Removed by Filter')}`);
  if (typeof r['Join Filter'] === 'string') out.push(`Join Filter: ${r['Join Filter'] as string}${removed('Rows Removed by Join Filter')}`);
  if (Array.isArray(r['Sort Key'])) out.push(`Sort Key: ${(r['Sort Key'] as string[]).join(', ')}${r['Sort Method'] ? `  · ${r['Sort Method'] as string} ${fmtInt(n0(r['Sort Space Used']))} kB ${(r['Sort Space Type'] as string) ?? ''}`.trimEnd() : ''}`);
  if (n0(r['Hash Batches']) > 0) out.push(`Hash: ${fmtInt(n0(r['Hash Buckets']))} buckets, ${n0(r['Hash Batches'])} batches, ${fmtInt(n0(r['Peak Memory Usage']))} kB peak`);
  if (n0(r['HashAgg Batches']) > 0) out.push(`HashAgg: ${n0(r['HashAgg Batches'])} batches, ${fmtInt(n0(r['Peak Memory Usage']))} kB peak, ${fmtInt(n0(r['Disk Usage']))} kB disk`);
  if (r['Heap Fetches'] !== undefined) out.push(`Heap Fetches: ${fmtInt(n0(r['Heap Fetches']))}`);
  if (r['Exact Heap Blocks'] !== undefined || r['Lossy Heap Blocks'] !== undefined) out.push(`Heap Blocks: exact ${fmtInt(n0(r['Exact Heap Blocks']))}, lossy ${fmtInt(n0(r['Lossy Heap Blocks']))}`);
  if (r['Workers Planned'] !== undefined) out.push(`Workers: ${n0(r['Workers Planned'])} planned${analyzed ? `, ${n0(r['Workers Launched'])} launched` : ''}`);
  return out;
}

function nodeStats(n: PlanNode, plan: Plan): string {
  const parts: string[] = [];
  if (plan.analyzed) {
    if (n.neverExecuted) return 'never executed';
    parts.push(`${fmtMs(n.selfMs ?? 0)} self (${Math.round((n.selfShare ?? 0) * 100)}%)`);
    // Totals over all loops (parallel participants included): a per-loop average hides rows, and PG < 18 rounds it.
    parts.push(n.loops > 1 ? `rows ${rowsText(n, fmtInt)} over ${fmtInt(n.loops)} loops (est ${fmtInt(n.estRows * n.loops)})` : `rows ${fmtInt(n.actualRows ?? 0)} (est ${fmtInt(n.estRows)})`);
    const b = n.buffers;
    if (b.hit + b.read > 0) parts.push(`buffers ${fmtInt(b.hit + b.read)}${b.read ? ` (${fmtInt(b.read)} read)` : ''}`);
    if (b.tempRead + b.tempWritten > 0) parts.push(`temp ${fmtInt(b.tempRead + b.tempWritten)}`);
  } else {
    parts.push(`est rows ${fmtInt(n.estRows)}`, `cost ${n0(n.raw['Total Cost']).toFixed(2)}`);
  }
  return parts.join('  · ');
}

/**
 * The plan as a tree. With a width (the terminal's), no line is longer: a node
 * whose figures do not fit moves them to a line of their own, and condition
 * lines are cut with "…" (the JSON and HTML outputs keep everything).
 */
export function renderTree(plan: Plan, s: Styler = plain, width?: number): string[] {
  const lines: string[] = [];
  const fit = (text: string) => (width ? truncate(text, width) : text);
  const walk = (n: PlanNode, prefix: string, childPrefix: string) => {
    const marker = n.hot ? '▶ ' : '  ';
    const label = escapeLine(n.label);
    const stats = nodeStats(n, plan);
    const detailPrefix = childPrefix + (n.children.length ? '│    ' : '     ');
    const head = `${prefix}${marker}${label}  #${n.id}`;
    const styledHead = `${prefix}${n.hot ? s('red', marker) : marker}${n.hot ? s('bold', label) : label}  ${s('dim', `#${n.id}`)}`;
    const len = (t: string) => [...t].length;
    const oneLine = `${head}  · ${stats}`;
    if (!width || len(oneLine) <= width) lines.push(`${styledHead}  · ${stats}`);
    else {
      if (len(head) <= width) lines.push(styledHead);
      else {
        // Cut the label, keep the node id (findings refer to it).
        const room = Math.max(8, width - len(prefix) - len(marker) - len(`  #${n.id}`));
        const cut = truncate(label, room);
        lines.push(`${prefix}${n.hot ? s('red', marker) : marker}${n.hot ? s('bold', cut) : cut}  ${s('dim', `#${n.id}`)}`);
      }
      lines.push(s('dim', fit(`${detailPrefix}${stats}`)));
    }
    for (const d of nodeDetails(n, plan.analyzed)) lines.push(s('dim', fit(`${detailPrefix}${escapeLine(d)}`)));
    n.children.forEach((c, i) => {
      const last = i === n.children.length - 1;
      walk(c, childPrefix + (last ? '└─' : '├─'), childPrefix + (last ? '   ' : '│  '));
    });
  };
  walk(plan.root, '', '');
  return lines;
}

const LABELS: Record<string, string> = { shareOfQuery: 'share of query', nodeMs: 'node time', keptFraction: 'kept fraction' };

export function formatEvidence(evidence: Finding['evidence']): string {
  return Object.entries(evidence)
    .map(([k, v]) => {
      const label = LABELS[k] ?? k.replace(/Ms$/, '').replace(/Kb$/, '').replace(/([A-Z])/g, ' $1').toLowerCase();
      let value: string;
      if (typeof v === 'string') value = v;
      else if (k === 'shareOfQuery' || k.endsWith('Fraction')) value = `${(v * 100).toFixed(v < 0.01 ? 3 : 1)}%`;
      else if (k.endsWith('Ms')) value = fmtMs(v);
      else if (k.endsWith('Kb')) value = `${fmtInt(v)} kB`;
      else value = Number.isInteger(v) ? fmtInt(v) : fmtNum(v);
      return `${label} ${value}`;
    })
    .join(' · ');
}

function renderVerification(v: Verification, s: Styler): string[] {
  const out: string[] = [];
  const used = v.indexes.filter((i) => i.used).map((i) => i.name);
  if (v.method === 'real') {
    out.push(s('bold', 'Verification') + ' (real index, built inside a transaction that was rolled back)');
    const b = v.before;
    const a = v.after;
    if (b.executionMs !== undefined && a.executionMs !== undefined) {
      out.push(`  before  ${fmtMs(b.executionMs).padStart(12)}   ${fmtInt(b.sharedHitBlocks + b.sharedReadBlocks).padStart(10)} buffers`);
      out.push(`  after   ${fmtMs(a.executionMs).padStart(12)}   ${fmtInt(a.sharedHitBlocks + a.sharedReadBlocks).padStart(10)} buffers`);
    } else {
      out.push(`  estimated cost ${b.totalCost.toFixed(2)} → ${a.totalCost.toFixed(2)}${v.costRatio ? ` (${fmtInt(v.costRatio)}× lower)` : ''} (not executed: plan only)`);
    }
    for (const i of v.indexes) out.push(`  ${i.used ? s('green', '✓') : s('yellow', '✗')} ${i.name} ${i.used ? 'is used by the new plan' : 'is NOT used by the new plan'}${i.buildMs !== undefined ? ` (built in ${fmtMs(i.buildMs)})` : ''}`);
    if (v.speedup !== undefined) out.push(`  → ${s('bold', `${fmtInt(v.speedup)}× faster`)} (execution time before ÷ after)`);
    out.push(v.leftBehind.length ? s('red', `  ! still present after rollback: ${v.leftBehind.join(', ')}`) : `  Nothing left behind: checked the catalog after the rollback.`);
  } else {
    out.push(s('bold', 'Verification') + ' (hypothetical index via HypoPG: estimates only — nothing built, nothing locked)');
    out.push(`  estimated cost ${v.before.totalCost.toFixed(2)} → ${v.after.totalCost.toFixed(2)}${v.costRatio ? ` (${fmtInt(v.costRatio)}× lower)` : ''}`);
    out.push(used.length ? `  the planner would use ${used.join(', ')}` : s('yellow', '  the planner would not use the proposed index; the advice does not help this plan'));
  }
  if (v.remaining.length) out.push(`  still found with the index: ${v.remaining.join(', ')}`);
  return out;
}

export function renderText(r: ExplainReport, s: Styler = plain, width?: number): string {
  const out: string[] = [];
  const p = r.plan;
  const query = escapeLine(r.query.replace(/\s+/g, ' '));
  out.push(`${s('bold', 'Query')}   ${width ? truncate(query, Math.max(20, width - 8)) : query}`);
  if (r.params.length) out.push(`${s('bold', 'Params')}  ${r.params.map((x, i) => `$${i + 1}=${x}`).join('  ')}`);
  out.push(`${s('bold', 'Server')}  PostgreSQL ${r.server.version} · ${r.server.connection}`);
  if (p.analyzed) {
    out.push(`${s('bold', 'Time')}    ${fmtMs(p.executionMs ?? 0)} execution · ${fmtMs(p.planningMs ?? 0)} planning · buffers ${fmtInt(p.buffers.hit)} hit, ${fmtInt(p.buffers.read)} read`);
    if (p.jit) out.push(`${s('bold', 'JIT')}     ${fmtMs(p.jit.totalMs)} compiling ${p.jit.functions} functions`);
  } else {
    out.push(`${s('bold', 'Mode')}    ${r.mode === 'generic' ? 'generic plan (no parameter values): estimates only, not executed' : 'plan only: estimates, not executed'}`);
  }
  const settings = Object.entries(p.settings);
  if (settings.length) out.push(`${s('bold', 'Settings')} ${settings.map(([k, v]) => `${k}=${v}`).join(', ')} (non-default, as the planner saw them)`);
  for (const n of r.notes) out.push(s('yellow', `note: ${n}`));
  out.push('', s('bold', `Plan${p.analyzed ? ' (▶ = hottest path)' : ''}`));
  out.push(...renderTree(p, s, width));
  out.push('');
  if (r.findings.length === 0) out.push(s('green', 'No problems found in this plan.'));
  else {
    out.push(s('bold', `Findings (${r.findings.length})`));
    r.findings.forEach((f, i) => {
      const sev = f.severity === 'high' ? s('red', 'HIGH') : f.severity === 'medium' ? s('yellow', 'MEDIUM') : s('dim', 'LOW');
      out.push(`${String(i + 1).padStart(2)}. ${sev} ${s('bold', f.kind)}${f.nodeId ? ` (node #${f.nodeId})` : ''}: ${f.title}`);
      out.push(`    ${f.explanation}`);
      out.push(s('dim', `    evidence: ${formatEvidence(f.evidence)}`));
      out.push(`    fix: ${f.fix.text}`);
      for (const sql of f.fix.sql) out.push(`      ${s('cyan', sql)}`);
    });
  }
  const creatable = r.advice.filter((a) => !a.existing);
  if (r.advice.length) {
    out.push('', s('bold', 'Index advice'));
    for (const a of r.advice) {
      if (a.existing) out.push(`  ${s('yellow', '=')} ${a.existing.note}`, ...(a.existing.sql ? [`      ${s('cyan', a.existing.sql)}`] : []));
      else out.push(`  ${s('cyan', a.sql)}`, s('dim', `      serves ${a.serves}`));
      if (a.supersedes.length) out.push(s('dim', `      makes ${a.supersedes.join(', ')} redundant (its columns lead the new index): drop it once the new one is in use, to save writes`));
      for (const alt of a.alternatives) out.push(s('dim', `      alternative: ${alt}`));
    }
    if (creatable.length && !r.verification) out.push(s('dim', '  prove it: re-run with --verify real (builds it in a rolled-back transaction) or --verify hypo (HypoPG)'));
  }
  if (r.verification) out.push('', ...renderVerification(r.verification, s));
  for (const w of r.rewrites ?? []) {
    const t = (x: { medianMs: number; minMs: number; maxMs: number; runs: number }) => `${fmtMs(x.medianMs)} median (${fmtMs(x.minMs)}–${fmtMs(x.maxMs)}, ${x.runs} runs)`;
    out.push('', s('bold', `Rewrite (${w.kind})`) + (w.advised ? s('green', ' verified') : s('yellow', ` ${w.note ?? 'not advised'}`)));
    out.push(`  ${s('cyan', w.sql.replace(/\s+/g, ' '))}`);
    out.push(`  before ${t(w.before)}`, `  after  ${t(w.after)}   → ${fmtNum(w.speedup, 1)}×`);
    out.push(`  ${w.sameRows ? s('green', '✓') : s('red', '✗')} ${w.sameRows ? `same ${fmtInt(w.rows)} rows (count and hash of every row)` : 'returns different rows'}`);
  }
  for (const v of r.settingsVerified ?? []) {
    out.push('', s('bold', `Setting ${v.setting} = '${v.value}'`) + (v.advised ? s('green', ' verified') : s('yellow', ' measured no better: not advised')) + ' (SET LOCAL, rolled back)');
    out.push(`  without ${fmtMs(v.before.medianMs)} median (${fmtMs(v.before.minMs)}–${fmtMs(v.before.maxMs)})   with ${fmtMs(v.after.medianMs)} median (${fmtMs(v.after.minMs)}–${fmtMs(v.after.maxMs)}), ${v.after.runs} runs each`);
  }
  for (const st of r.statistics ?? []) {
    out.push('', s('bold', 'Statistics') + (st.advised ? s('green', ' verified') : s('yellow', ' measured no better: not advised')) + ' (CREATE STATISTICS + ANALYZE, rolled back)');
    out.push(`  estimate ${fmtInt(st.estimatedBefore)} → ${fmtInt(st.estimatedAfter)} rows (actual ${fmtInt(st.actualRows)}): off by ${fmtNum(st.errorBefore, 1)}× → ${fmtNum(st.errorAfter, 1)}×`);
  }
  if (r.verificationError) {
    out.push('', s('bold', 'Verification') + s('red', ` failed: ${r.verificationError.message}`));
    if (r.verificationError.hint) out.push(s('dim', `  hint: ${r.verificationError.hint}`));
    out.push('  The diagnosis above does not depend on it; nothing was left behind (the transaction was rolled back).');
  }
  return out.join('\n');
}
