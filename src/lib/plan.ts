/**
 * Plans before actions: a mutating command first computes the steps it would
 * take, each saying what it changes; `--dry-run` prints them in this one shape
 * and wording, and the real run executes the same list.
 */
import type { Output } from './output.js';
import { formatCommand, type CommandSpec } from './process.js';
import { escapeLine } from './terminal.js';

export interface PlanStep {
  /** A verb phrase: "write", "create user", "push to heroku", "run". */
  action: string;
  /** What it acts on: a path, an app, a host, a user. */
  target: string;
  /** Why, or what changes ("adds 2 lines", "replaces the certificate"). */
  detail?: string;
  /** The exact program this step runs, when it runs one. */
  command?: Pick<CommandSpec, 'file' | 'args'>;
}

export interface DryRunResult {
  dryRun: true;
  steps: Array<Omit<PlanStep, 'command'> & { command?: string[] }>;
  /** Notes the real run would print (warnings, decisions and their reasons). */
  notes?: string[];
}

export function dryRunResult(steps: PlanStep[], notes: string[] = []): DryRunResult {
  return {
    dryRun: true,
    steps: steps.map(({ command, ...s }) => ({ ...s, ...(command ? { command: [command.file, ...command.args] } : {}) })),
    ...(notes.length ? { notes } : {}),
  };
}

/** The one dry-run wording: `[dry run] would ACTION TARGET — DETAIL` then `    $ command`. */
export function printDryRun(result: DryRunResult, out: Output): void {
  for (const note of result.notes ?? []) out.line(escapeLine(note));
  if (result.steps.length === 0) out.line('[dry run] nothing to do');
  for (const step of result.steps) {
    out.line(`[dry run] would ${escapeLine(step.action)} ${escapeLine(step.target)}${step.detail ? ` — ${escapeLine(step.detail)}` : ''}`);
    if (step.command) out.line(`    $ ${escapeLine(formatCommand({ file: step.command[0]!, args: step.command.slice(1) }))}`);
  }
  out.line('[dry run] nothing was changed');
}

export function isDryRun(value: unknown): value is DryRunResult {
  return typeof value === 'object' && value !== null && (value as { dryRun?: unknown }).dryRun === true;
}
