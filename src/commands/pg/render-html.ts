/**
 * --format html: one self-contained page (inline CSS, no scripts, no external
 * requests), viewable offline: the plan drawn as a tree, each node with its
 * share of the time, estimated vs actual rows, and the findings beside the
 * node they are about; advice, rewrites and verification below.
 */
import { fmtInt, fmtMs } from './analysis/finding.js';
import type { Plan, PlanNode } from './analysis/plan.js';
import type { Finding } from './analysis/finding.js';
import type { ExplainReport } from './report.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.meta{color:#555;margin-bottom:12px} code,pre{font:12px/1.4 ui-monospace,monospace}
pre.sql{background:#f4f6fa;padding:8px 10px;border-radius:6px;white-space:pre-wrap}
ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:28px;position:relative}
ul.tree{padding-left:0}
ul.tree ul::before{content:"";position:absolute;left:12px;top:0;bottom:12px;border-left:2px solid #c9d1e0}
li{margin:6px 0;position:relative}
ul.tree ul>li::before{content:"";position:absolute;left:-16px;top:18px;width:14px;border-top:2px solid #c9d1e0}
.row{display:flex;gap:12px;align-items:flex-start}
.node{border:1px solid #c9d1e0;border-radius:6px;padding:6px 10px;background:#fbfcfe;min-width:340px;max-width:640px}
.node.hot{border-color:#d33;background:#fff5f5}
.label{font-weight:600} .id{color:#889;font-weight:400}
.bar{height:6px;background:#e6e9f0;border-radius:3px;margin:4px 0}
.bar i{display:block;height:6px;background:#d33;border-radius:3px}
.figs{color:#444;font-size:12px} .off{color:#b40;font-weight:600}
.cond{color:#666;font-size:12px;font-family:ui-monospace,monospace;word-break:break-all}
.finding{border-left:4px solid #e0a000;background:#fffaf0;padding:6px 10px;max-width:420px;font-size:13px;border-radius:4px}
.finding.high{border-color:#d33;background:#fff3f3} .finding.low{border-color:#9ab;background:#f6f8fa}
.sev{font-weight:700;font-size:11px;text-transform:uppercase}
table{border-collapse:collapse} td,th{border:1px solid #d5dbe6;padding:4px 8px;text-align:left;font-size:13px}
`;

function nodeFigures(n: PlanNode, plan: Plan): string {
  if (!plan.analyzed) return `est. rows ${fmtInt(n.estRows)} · cost ${Number(n.raw['Total Cost'] ?? 0).toFixed(2)}`;
  if (n.neverExecuted) return 'never executed';
  const actual = n.actualRows ?? 0;
  const ratio = Math.max(actual, n.estRows) / Math.max(1, Math.min(actual, n.estRows));
  const rows = `rows <span class="${ratio >= 10 ? 'off' : ''}">${fmtInt(actual)} actual / ${fmtInt(n.estRows)} est.</span>${n.loops > 1 ? ` × ${fmtInt(n.loops)} loops` : ''}`;
  return `${fmtMs(n.selfMs ?? 0)} self (${Math.round((n.selfShare ?? 0) * 100)}%) · ${fmtMs(n.totalMs ?? 0)} total · ${rows}`;
}

function findingBox(f: Finding): string {
  return `<div class="finding ${f.severity}" data-kind="${esc(f.kind)}"><span class="sev">${esc(f.severity)}</span> <b>${esc(f.kind)}</b><br>${esc(f.title)}<br><small>${esc(f.fix.text)}</small>${f.fix.sql.map((q) => `<pre class="sql">${esc(q)}</pre>`).join('')}</div>`;
}

function nodeHtml(n: PlanNode, plan: Plan, byNode: Map<number, Finding[]>): string {
  const share = Math.round((plan.analyzed ? (n.totalShare ?? 0) : 0) * 100);
  const conds = ['Index Cond', 'Recheck Cond', 'Hash Cond', 'Merge Cond', 'Filter', 'Join Filter'].filter((k) => typeof n.raw[k] === 'string').map((k) => `<div class="cond">${esc(k)}: ${esc(String(n.raw[k]))}</div>`);
  const box = `<div class="node${n.hot ? ' hot' : ''}" data-node="${n.id}"><div class="label">${esc(n.label)} <span class="id">#${n.id}</span></div>${plan.analyzed ? `<div class="bar" title="${share}% of the time"><i style="width:${Math.max(1, share)}%"></i></div>` : ''}<div class="figs">${nodeFigures(n, plan)}</div>${conds.join('')}</div>`;
  const side = (byNode.get(n.id) ?? []).map(findingBox).join('');
  const kids = n.children.length ? `<ul>${n.children.map((c) => nodeHtml(c, plan, byNode)).join('')}</ul>` : '';
  return `<li><div class="row">${box}${side}</div>${kids}</li>`;
}

export function renderHtml(r: ExplainReport): string {
  const p = r.plan;
  const byNode = new Map<number, Finding[]>();
  for (const f of r.findings) if (f.nodeId !== undefined) byNode.set(f.nodeId, [...(byNode.get(f.nodeId) ?? []), f]);
  const loose = r.findings.filter((f) => f.nodeId === undefined);
  const time = p.analyzed ? `${fmtMs(p.executionMs ?? 0)} execution · ${fmtMs(p.planningMs ?? 0)} planning` : r.mode === 'generic' ? 'generic plan: estimates only, not executed' : 'plan only: estimates, not executed';
  const advice = r.advice.length
    ? `<h2>Index advice</h2>${r.advice.map((a) => `<pre class="sql">${esc(a.existing ? (a.existing.sql ?? '') : a.sql)}</pre><div class="meta">${esc(a.existing ? a.existing.note : `serves ${a.serves}`)}</div>`).join('')}`
    : '';
  const v = r.verification;
  const verification = v
    ? `<h2>Verification (${v.method === 'real' ? 'real index, rolled back' : 'HypoPG, estimates'})</h2><table><tr><th></th><th>execution</th><th>cost</th></tr><tr><td>before</td><td>${v.before.executionMs !== undefined ? fmtMs(v.before.executionMs) : '—'}</td><td>${v.before.totalCost.toFixed(2)}</td></tr><tr><td>after</td><td>${v.after.executionMs !== undefined ? fmtMs(v.after.executionMs) : '—'}</td><td>${v.after.totalCost.toFixed(2)}</td></tr></table>${v.indexes.map((i) => `<div>${i.used ? '✓' : '✗'} ${esc(i.name)} ${i.used ? 'used' : 'not used'}</div>`).join('')}`
    : '';
  const rewrites = (r.rewrites ?? []).map((w) => `<h2>Rewrite (${esc(w.kind)}) — ${w.advised ? 'verified' : esc(w.note ?? 'not advised')}</h2><pre class="sql">${esc(w.sql)}</pre><div class="meta">${fmtMs(w.before.medianMs)} → ${fmtMs(w.after.medianMs)} (median of ${w.after.runs}); ${w.sameRows ? `same ${fmtInt(w.rows)} rows` : 'different rows'}</div>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>opsctl pg explain</title><style>${CSS}</style></head>
<body>
<h1>opsctl pg explain</h1>
<div class="meta">PostgreSQL ${esc(r.server.version)} · ${esc(r.server.connection)} · ${time} · ${fmtInt(p.nodes.length)} nodes · ${fmtInt(r.findings.length)} finding(s)</div>
<pre class="sql">${esc(r.query)}</pre>
${r.notes.map((n) => `<div class="meta">note: ${esc(n)}</div>`).join('')}
<h2>Plan</h2>
<ul class="tree">${nodeHtml(p.root, p, byNode)}</ul>
${loose.length ? `<h2>Other findings</h2>${loose.map(findingBox).join('')}` : ''}
${advice}${rewrites}${verification}
</body></html>
`;
}
