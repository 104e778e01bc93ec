/** The report as Markdown, for pasting into a pull request or an issue. */
import { fmtInt, fmtMs } from './analysis/findings.js';
import type { ExplainReport } from './report.js';
import { formatEvidence, renderTree } from './render-text.js';

export function renderMarkdown(r: ExplainReport): string {
  const p = r.plan;
  const out: string[] = ['### Query diagnosis (opsctl pg explain)', '', '```sql', r.query, '```', ''];
  if (r.params.length) out.push(`Parameters: ${r.params.map((x, i) => `\`$${i + 1}\` = \`${x}\``).join(', ')}`, '');
  out.push('| | |', '|---|---|', `| Server | PostgreSQL ${r.server.version} |`);
  if (p.analyzed) {
    out.push(`| Execution | ${fmtMs(p.executionMs ?? 0)} |`, `| Planning | ${fmtMs(p.planningMs ?? 0)} |`, `| Buffers | ${fmtInt(p.buffers.hit)} hit, ${fmtInt(p.buffers.read)} read |`);
  } else out.push(`| Mode | ${r.mode === 'generic' ? 'generic plan, not executed' : 'plan only, not executed'} |`);
  out.push(`| Findings | ${r.findings.length} |`, '');
  for (const n of r.notes) out.push(`> ${n}`, '');
  out.push('<details><summary>Plan</summary>', '', '```text', ...renderTree(p), '```', '', '</details>', '');
  if (r.findings.length) {
    out.push('#### Findings', '');
    r.findings.forEach((f, i) => {
      out.push(`${i + 1}. **${f.severity.toUpperCase()}** \`${f.kind}\`${f.nodeId ? ` (node #${f.nodeId})` : ''}: ${f.title}`, '');
      out.push(`   ${f.explanation}`, '', `   Evidence: ${formatEvidence(f.evidence)}`, '', `   Fix: ${f.fix.text}`);
      if (f.fix.sql.length) out.push('', '   ```sql', ...f.fix.sql.map((x) => `   ${x}`), '   ```');
      out.push('');
    });
  } else out.push('No problems found in this plan.', '');
  const v = r.verification;
  if (v) {
    out.push('#### Verification', '');
    if (v.method === 'real') {
      out.push('Real index built inside a transaction that was rolled back.', '', '| | execution | buffers |', '|---|---:|---:|');
      out.push(`| before | ${fmtMs(v.before.executionMs ?? 0)} | ${fmtInt(v.before.sharedHitBlocks + v.before.sharedReadBlocks)} |`);
      out.push(`| after | ${fmtMs(v.after.executionMs ?? 0)} | ${fmtInt(v.after.sharedHitBlocks + v.after.sharedReadBlocks)} |`, '');
      if (v.speedup !== undefined) out.push(`**${fmtInt(v.speedup)}× faster.** ${v.leftBehind.length ? `Left behind: ${v.leftBehind.join(', ')}` : 'Nothing was left behind (catalog checked after rollback).'}`, '');
    } else {
      out.push(`Hypothetical index (HypoPG, estimates only): estimated cost ${v.before.totalCost.toFixed(2)} → ${v.after.totalCost.toFixed(2)}.`, '');
    }
    for (const i of v.indexes) out.push(`- \`${i.name}\`: ${i.used ? 'used by the new plan' : 'not used by the new plan'}`);
    out.push('');
  }
  return out.join('\n');
}
