/**
 * Printing for the pi audio commands: the plan (with diffs on --dry-run), what
 * was done, and checks. Text for people, one JSON document with --json.
 */
import type { Output } from '../../lib/output.js';
import { dryRunResult, printDryRun, type DryRunResult, type PlanStep } from '../../lib/plan.js';
import { formatCommand } from '../../lib/process.js';
import { escapeLine } from '../../lib/terminal.js';
import type { TargetCommand } from './target.js';
import type { AppliedChange, ChangeStatus } from './apply.js';
import type { Check } from './checks.js';
import { unifiedDiff } from './edit.js';
import type { Change, Plan } from './plan.js';
import { PATHS } from './recipe.js';

export const commandText = (cmd: TargetCommand) =>
  [...Object.entries(cmd.env ?? {}).map(([k, v]) => `${k}=${v}`), formatCommand({ file: cmd.argv[0]!, args: cmd.argv.slice(1) })].join(' ');

const mode = (m: number) => '0' + (m & 0o7777).toString(8);

export function describeChange(c: Change): string {
  switch (c.kind) {
    case 'write':
      return `write  ${c.path} (${c.before.type === 'file' ? 'changed' : 'new'}, ${mode(c.mode)})`;
    case 'link':
      return `link   ${c.path} → ${c.target}${c.before.type === 'symlink' ? ` (was → ${c.before.target})` : ''}`;
    case 'remove':
      return `remove ${c.path}`;
    case 'run':
      return `run    ${commandText(c.cmd)}  # ${c.why}`;
  }
}

/** Files whose lines must not reach a terminal or a --json log (group password hashes). */
const PRIVATE_FILES = new Set<string>([PATHS.gshadow]);

export function changeDiff(c: Change): string {
  if (c.kind !== 'run' && PRIVATE_FILES.has(c.path)) return `(diff of ${c.path} not shown: it holds password hashes)\n`;
  if (c.kind === 'write') return unifiedDiff(c.before.type === 'file' ? c.before.content : undefined, c.after, c.path);
  if (c.kind === 'remove') return c.before.type === 'file' ? unifiedDiff(c.before.content, undefined, c.path) : '';
  return '';
}

/** JSON form of a change: everything a script needs to see what happens. */
export function changeJson(c: Change, status?: ChangeStatus | 'planned') {
  const base = { kind: c.kind, status: status ?? 'planned' };
  if (c.kind === 'run') return { ...base, command: c.cmd.argv, env: c.cmd.env, why: c.why };
  if (c.kind === 'link') return { ...base, path: c.path, target: c.target };
  if (c.kind === 'write') return { ...base, path: c.path, mode: mode(c.mode), diff: changeDiff(c) };
  return { ...base, path: c.path };
}

export function printPlan(out: Output, plan: Plan, opts: { diffs: boolean; applied?: AppliedChange[] }): void {
  const statusOf = (c: Change) => opts.applied?.find((a) => a.change === c)?.status;
  plan.steps.forEach((step, i) => {
    const head = `[${i + 1}/${plan.steps.length}] ${step.title}`;
    out.line(step.changes.length ? out.style('bold', head) : `${head}: ${out.style('green', 'ok')}`);
    for (const n of step.notes) out.line(out.style('dim', `      ${n}`));
    for (const c of step.changes) {
      const st = statusOf(c);
      const tag = st === 'not-run' ? out.style('yellow', ' [not run: no running system under --root]') : '';
      out.line(`      ${describeChange(c)}${tag}`);
      if (opts.diffs) {
        const d = changeDiff(c);
        if (d) for (const l of d.trimEnd().split('\n')) out.line('        ' + (l.startsWith('+') && !l.startsWith('+++') ? out.style('green', l) : l.startsWith('-') && !l.startsWith('---') ? out.style('red', l) : l));
      }
    }
  });
}

/** One check as a line (and its hint under it when it is a problem). */
export function checkLine(out: Output, c: Check, width: number): void {
  const tag = c.status === 'ok' ? out.style('green', 'ok     ') : c.status === 'problem' ? out.style('red', 'problem') : out.style('dim', 'skipped');
  out.line(`${tag}  ${escapeLine(c.label).padEnd(width)}  ${escapeLine(c.detail ?? '')}`.trimEnd());
  if (c.status === 'problem' && c.hint) out.line(out.style('dim', `         ${''.padEnd(width)}  hint: ${escapeLine(c.hint)}`));
}

export function printChecks(out: Output, checks: Check[]): void {
  const width = Math.max(...checks.map((c) => c.label.length), 10);
  for (const c of checks) checkLine(out, c, width);
}

export type PiDryRun = DryRunResult & { target: string; diffs: Array<{ path: string; diff: string }> };

/** A pi plan in the one dry-run shape (src/lib/plan.ts), with the file diffs alongside. */
export function planDryRun(plan: Plan): PiDryRun {
  const steps: PlanStep[] = [];
  const notes: string[] = [];
  const diffs: Array<{ path: string; diff: string }> = [];
  for (const step of plan.steps) {
    for (const n of step.notes) notes.push(`${step.title}: ${n}`);
    for (const c of step.changes) {
      if (c.kind === 'run') {
        const env = Object.entries(c.cmd.env ?? {}).map(([k, v]) => `${k}=${v}`);
        const argv = env.length ? ['env', ...env, ...c.cmd.argv] : c.cmd.argv;
        steps.push({ action: 'run', target: `on ${plan.target}`, detail: c.why, command: { file: argv[0]!, args: argv.slice(1) } });
        continue;
      }
      if (c.kind === 'write') steps.push({ action: c.before.type === 'file' ? 'change' : 'write', target: c.path, detail: `mode ${mode(c.mode)}` });
      else if (c.kind === 'link') steps.push({ action: 'link', target: c.path, detail: `→ ${c.target}` });
      else steps.push({ action: 'remove', target: c.path });
      const d = changeDiff(c);
      if (d) diffs.push({ path: c.path, diff: d });
    }
  }
  return { ...dryRunResult(steps, notes), target: plan.target, diffs };
}

export function printPlanDryRun(out: Output, result: PiDryRun): void {
  printDryRun(result, out);
  for (const d of result.diffs) {
    for (const l of d.diff.trimEnd().split('\n')) out.line('    ' + escapeLine(l));
  }
}
