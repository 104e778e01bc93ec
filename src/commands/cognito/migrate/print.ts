/** Human output for migrate: the plan, live progress, the summary, the verify report. */
import type { Output } from '../../../lib/output.js';
import { ExitCode } from '../../../lib/errors.js';
import type { Plan } from './plan.js';
import type { MigrationSummary, Progress } from './execute.js';
import type { VerifyResult } from './verify.js';
import type { ImportChunk, ImportSummary } from './import-job.js';

export function duration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function printProgress(out: Output, p: Progress): void {
  out.progress(`${p.done}/${p.total} rows · created ${p.created} · skipped ${p.existing + p.updated} · rejected ${p.rejected} · failed ${p.failed} · ${p.ratePerSec.toFixed(1)}/s${p.etaSec !== undefined ? ` · ETA ${duration(p.etaSec)}` : ''}`);
}

export function printPlan(out: Output, plan: Plan, dryRun: boolean): number {
  out.line(`Pool ${plan.poolId}${plan.poolName ? ` (${plan.poolName})` : ''}: ${plan.usernameMode === 'email' ? 'email address as username' : 'usernames'}`);
  out.line(`Source: ${plan.source}`);
  out.line('Mapping:');
  for (const m of plan.mapping) out.line(`  ${m.column} → ${m.target}${m.origin === 'default' ? '  (default)' : ''}`);
  out.line(`Rows: ${plan.total} total, ${plan.valid} valid, ${plan.rejected} rejected`);
  for (const [reason, n] of Object.entries(plan.rejectReasons).sort((a, b) => b[1] - a[1])) out.line(`  ${n} × ${reason}`);
  if (plan.rejectExamples.length && dryRun) {
    out.line('First rejected rows:');
    for (const e of plan.rejectExamples.slice(0, 10)) out.line(`  row ${e.row}${e.line ? ` (line ${e.line})` : ''}: ${e.reason}`);
  }
  out.line(dryRun ? 'Would do:' : 'Plan:');
  for (const a of plan.actions) out.line(`  - ${a}`);
  for (const w of plan.warnings) out.warn(w);
  if (dryRun) out.line('[Dry run] Nothing was written to the pool or to disk.');
  return ExitCode.OK;
}

export function printSummary(out: Output, plan: Plan, s: MigrationSummary): number {
  for (const w of plan.warnings) out.warn(w);
  out.line(`Pool ${s.poolId} from ${s.source}${s.resumedFrom ? ` (resumed at row ${s.resumedFrom + 1})` : ''}`);
  out.line(`  created   ${s.created}`);
  out.line(`  existing  ${s.existing}  (already in the pool, left as they were)`);
  if (s.updated) out.line(`  updated   ${s.updated}`);
  out.line(`  rejected  ${s.rejected}${s.rejectsFile ? `  → ${s.rejectsFile}` : ''}`);
  out.line(`  failed    ${s.failed}${s.reportFile ? `  → ${s.reportFile}` : ''}`);
  if (s.groupsAdded) out.line(`  group memberships  ${s.groupsAdded}`);
  if (s.disabled) out.line(`  disabled  ${s.disabled}`);
  out.line(`  ${s.total} rows in ${duration(s.elapsedMs / 1000)}, ${s.createdPerSec.toFixed(1)} created/s${s.throttled ? `, throttled ${s.throttled}× (rate now ${s.finalRate.toFixed(1)}/s)` : ''}`);
  out.line(`  checkpoint ${s.stateFile}`);
  if (s.failed) {
    out.error(`${s.failed} user${s.failed > 1 ? 's' : ''} could not be written.`, `see ${s.reportFile ?? 'the failures report'}; run the same command again to retry them`);
    return ExitCode.FAILED;
  }
  out.success('Every valid source user is in the pool.');
  return ExitCode.OK;
}

export function printVerify(out: Output, v: VerifyResult): number {
  out.line(`Source ${v.source}: ${v.sourceRows} rows, ${v.sourceValid} valid users (${v.sourceRejected} rejected rows)`);
  out.line(`Pool ${v.poolId}: ${v.poolUsers} users`);
  out.line(`  in both         ${v.inBoth}`);
  out.line(`  missing in pool ${v.missingInPool}`);
  for (const m of v.missingExamples) out.line(`    ${m}`);
  out.line(`  only in pool    ${v.extraInPool}`);
  for (const m of v.extraExamples) out.line(`    ${m}`);
  if (!v.ok) {
    out.error(`${v.missingInPool} source user${v.missingInPool > 1 ? 's are' : ' is'} missing from the pool.`, 'run the migration (same command without --verify) to add them');
    return ExitCode.FAILED;
  }
  out.success('Every valid source user is in the pool.');
  return ExitCode.OK;
}

export function printImportJob(out: Output, j: ImportChunk): void {
  out.progress(`import job ${j.jobId ?? '?'} (${j.users} users): ${j.status ?? '?'} · imported ${j.imported ?? 0} · skipped ${j.skipped ?? 0} · failed ${j.failed ?? 0}`);
}

export function printImport(out: Output, plan: Plan, s: ImportSummary): number {
  for (const w of plan.warnings) out.warn(w);
  out.line(`Pool ${s.poolId}: ${s.jobs.length} import job${s.jobs.length === 1 ? '' : 's'}`);
  for (const j of s.jobs) out.line(`  ${j.jobId}  ${j.status}  ${j.users} users: imported ${j.imported ?? 0}, skipped ${j.skipped ?? 0}, failed ${j.failed ?? 0}${j.message ? ` — ${j.message}` : ''}`);
  out.line(`  imported ${s.imported}, skipped ${s.skipped}, failed ${s.failed}, rejected ${s.rejected}${s.rejectsFile ? `  → ${s.rejectsFile}` : ''}`);
  out.line(`  checkpoint ${s.stateFile}`);
  if (!s.complete) {
    out.error('Some import jobs or users failed.', 'the job log is in CloudWatch Logs (/aws/cognito/userpools/<pool>/<job>)');
    return ExitCode.FAILED;
  }
  out.success('All import jobs succeeded; imported users must reset their password (RESET_REQUIRED).');
  return ExitCode.OK;
}
