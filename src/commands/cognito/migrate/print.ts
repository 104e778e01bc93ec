/** Human output for migrate: the plan, live progress, the summary, the verify report. */
import type { Output } from '../../../lib/output.js';
import { ExitCode } from '../../../lib/errors.js';
import { printDryRun } from '../../../lib/plan.js';
import { escapeLine } from '../../../lib/terminal.js';
import type { Plan } from './plan.js';
import type { MigrationSummary, Progress } from './execute.js';
import type { VerifyResult } from './verify.js';
import type { ImportChunk } from './import-job.js';
import type { MigrateResult } from './index.js';

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

/** Reasons one per line, most frequent first: never run together. */
function printReasons(out: Output, reasons: Record<string, number>, indent = '  '): void {
  for (const [reason, n] of Object.entries(reasons).sort((a, b) => b[1] - a[1])) out.line(`${indent}${n} × ${escapeLine(reason)}`);
}

export function printPlan(out: Output, plan: Plan, dryRun: boolean): void {
  out.line(`Pool ${plan.poolId}${plan.poolName ? ` (${escapeLine(plan.poolName)})` : ''}: ${plan.usernameMode === 'email' ? 'email address as username' : 'usernames'}`);
  out.line(`Source: ${escapeLine(plan.source)}`);
  out.line('Mapping:');
  for (const m of plan.mapping) out.line(`  ${escapeLine(m.column)} → ${m.target}${m.origin === 'default' ? '  (default)' : ''}`);
  out.line(`Rows: ${plan.total} total, ${plan.valid} valid, ${plan.rejected} rejected`);
  printReasons(out, plan.rejectReasons);
  if (plan.toDisable) out.line(`Disabled in the pool: ${plan.toDisable} (${Object.entries(plan.disabledBy).map(([c, n]) => `${c} ${n}`).join(', ')})`);
  if (plan.unconfirmed) out.line(`Unconfirmed (email not verified): ${plan.unconfirmed}${plan.viaAdminCreate ? `, ${plan.viaAdminCreate} of them through AdminCreateUser` : ''}`);
  if (plan.passwordHashingAlgorithm) out.line(`Passwords: ${plan.withPasswordHash} carried as ${plan.passwordHashingAlgorithm} hashes, ${plan.withoutPasswordHash} must reset`);
  if (plan.rejectExamples.length && dryRun) {
    out.line('First rejected rows:');
    for (const e of plan.rejectExamples.slice(0, 10)) out.line(`  ${e.line ? `line ${e.line}` : `row ${e.row}`}: ${escapeLine(e.reason)}`);
  }
}

export function printSummary(out: Output, plan: Plan, s: MigrationSummary): number {
  for (const w of plan.warnings) out.warn(w);
  out.line(`Pool ${s.poolId} from ${escapeLine(s.source)}${s.resumedFrom ? ` (resumed at row ${s.resumedFrom + 1})` : ''}`);
  out.line(`  created   ${s.created}`);
  out.line(`  existing  ${s.existing}  (already in the pool, left as they were)`);
  if (s.updated) out.line(`  updated   ${s.updated}`);
  out.line(`  rejected  ${s.rejected}${s.rejectsFile ? `  → ${s.rejectsFile}` : ''}`);
  printReasons(out, s.rejectReasons, '    ');
  out.line(`  failed    ${s.failed}${s.reportFile ? `  → ${s.reportFile}` : ''}`);
  if (s.groupsAdded) out.line(`  group memberships  ${s.groupsAdded}`);
  if (s.disabled) out.line(`  disabled  ${s.disabled}`);
  out.line(`  links     ${s.links}  → ${s.linksFile}`);
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
  out.line(`Source ${escapeLine(v.source)}: ${v.sourceRows} rows, ${v.sourceValid} valid users (${v.sourceRejected} rejected rows)`);
  out.line(`Pool ${v.poolId}: ${v.poolUsers} users`);
  out.line(`  matching          ${v.matching}`);
  out.line(`  missing in pool   ${v.drift.missing}`);
  out.line(`  attribute drift   ${v.drift.attribute}${Object.keys(v.attributeDrift).length ? `  (${Object.entries(v.attributeDrift).map(([a, n]) => `${a} ${n}`).join(', ')})` : ''}`);
  out.line(`  enabled drift     ${v.drift.enabled}`);
  out.line(`  group drift       ${v.drift.groups}`);
  out.line(`  only in pool      ${v.extraInPool}`);
  for (const e of v.examples) out.line(`    ${e.kind}: ${escapeLine(e.username)} — ${escapeLine(e.detail)}`);
  for (const m of v.extraExamples.slice(0, 5)) out.line(`    only in pool: ${escapeLine(m)}`);
  const drift = v.drift.missing + v.drift.attribute + v.drift.enabled + v.drift.groups;
  if (v.repaired) {
    const fixed = v.repaired.missing + v.repaired.attribute + v.repaired.enabled + v.repaired.groups;
    out.line(`Repaired: ${fixed} of ${drift} (created ${v.repaired.missing}, attributes ${v.repaired.attribute}, enabled state ${v.repaired.enabled}, groups ${v.repaired.groups})`);
    for (const u of (v.unrepairable ?? []).slice(0, 10)) out.line(`    not repaired: ${escapeLine(u.username)} — ${escapeLine(u.detail)}`);
    if (!v.ok) {
      out.error(`${(v.unrepairable ?? []).length} drift${(v.unrepairable ?? []).length === 1 ? '' : 's'} could not be repaired.`, 'see the lines above; immutable attributes can only change by recreating the user');
      return ExitCode.FAILED;
    }
    out.success(drift ? 'Drift repaired: run --verify again to confirm.' : 'The pool matches the source; nothing to repair.');
    return ExitCode.OK;
  }
  if (!v.ok) {
    out.error(`${drift} drift${drift === 1 ? '' : 's'} between source and pool.`, 'fix them with the same command plus --repair (creates missing users, updates attributes, enabled state and groups)');
    return ExitCode.FAILED;
  }
  out.success('The pool matches the source: every valid user, attribute, enabled state and group.');
  return ExitCode.OK;
}

export function printImportJob(out: Output, j: ImportChunk): void {
  out.progress(`import job ${j.jobId ?? '?'} (${j.users} users): ${j.status ?? '?'} · imported ${j.imported ?? 0} · skipped ${j.skipped ?? 0} · failed ${j.failed ?? 0}`);
}

function printImport(out: Output, result: Extract<MigrateResult, { kind: 'import' }>): number {
  const { plan, summary: s, afterImport: a, unconfirmed } = result;
  for (const w of plan.warnings) out.warn(w);
  out.line(`Pool ${s.poolId}: ${s.jobs.length} import job${s.jobs.length === 1 ? '' : 's'}${s.passwordHashingAlgorithm ? ` with PasswordHashingAlgorithm=${s.passwordHashingAlgorithm} (column ${s.hashColumn})` : ''}`);
  for (const j of s.jobs) out.line(`  ${j.jobId}  ${j.status}  ${j.users} users: imported ${j.imported ?? 0}, skipped ${j.skipped ?? 0}, failed ${j.failed ?? 0}${j.message ? ` — ${escapeLine(j.message)}` : ''}`);
  out.line(`  imported ${s.imported}, skipped ${s.skipped}, failed ${s.failed}, rejected ${s.rejected}${s.rejectsFile ? `  → ${s.rejectsFile}` : ''}`);
  printReasons(out, plan.rejectReasons, '    ');
  out.line(`  after the jobs: linked ${a.linked}, disabled ${a.disabled}, group memberships ${a.groupsAdded}${a.notInPool ? `, ${a.notInPool} valid users not in the pool` : ''}`);
  if (unconfirmed) out.line(`  unconfirmed users through AdminCreateUser: created ${unconfirmed.created}, existing ${unconfirmed.existing}, failed ${unconfirmed.failed}`);
  out.line(`  links → ${result.linksFile}`);
  out.line(`  checkpoint ${s.stateFile}`);
  if (result.writeBack) printWriteBack(out, result.writeBack);
  if (!s.complete || a.notInPool || unconfirmed?.failed) {
    out.error('Some import jobs or users failed.', 'the job log is in CloudWatch Logs (/aws/cognito/userpools/<pool>/<job>); run the same command again to retry');
    return ExitCode.FAILED;
  }
  out.success(s.passwordHashingAlgorithm ? `All import jobs succeeded; ${plan.withPasswordHash} users keep their password.` : 'All import jobs succeeded; imported users must reset their password (RESET_REQUIRED).');
  return ExitCode.OK;
}

function printWriteBack(out: Output, w: NonNullable<Extract<MigrateResult, { kind: 'summary' }>['writeBack']>): void {
  out.line(`  write-back ${w.table}.${w.column}: ${w.updated} rows updated from ${w.links} links (${w.batches} batch${w.batches === 1 ? '' : 'es'}, matched on ${w.keyColumn})`);
}

export function printMigrateResult(out: Output, result: MigrateResult): number {
  switch (result.kind) {
    case 'plan':
      printPlan(out, result.plan, true);
      printDryRun(result, out);
      return ExitCode.OK;
    case 'verify':
      return printVerify(out, result.verify);
    case 'import':
      return printImport(out, result);
    case 'summary': {
      const code = printSummary(out, result.plan, result.summary);
      if (result.writeBack) printWriteBack(out, result.writeBack);
      return code;
    }
  }
}
