/**
 * `opsctl pi audio uninstall`: stop and disable what setup added, remove the
 * files it created, and put back the files it changed. A file nobody touched
 * since setup gets its backup back byte for byte; one edited since keeps those
 * edits and loses only opsctl's lines.
 */
import { defineCommand } from '../../lib/command.js';
import { isDryRun } from '../../lib/plan.js';
import { OpsError } from '../../lib/errors.js';
import type { Entry, TargetSystem } from './target.js';
import { applyPlan, sha256, type AppliedChange, type ApplyHooks } from './apply.js';
import { progressHook, targetFlags, type TargetFlags, withTarget } from './common.js';
import { removeBlock, removeMember } from './edit.js';
import { gatherFacts, type Facts, type Manifest } from './facts.js';
import type { Plan, Step } from './plan.js';
import { PATHS, connectUnitName, reconnectTimerName } from './recipe.js';
import { planDryRun, printPlan, printPlanDryRun, type PiDryRun } from './print.js';

export interface UninstallResult {
  target: string;
  dryRun: boolean;
  /** Whether there was a setup by opsctl to undo. */
  found: boolean;
  plan: Plan;
  applied: AppliedChange[];
  packagesLeft: string[];
}

/** What the file at `path` should be after uninstall, from its backup and the current content. */
function restoredContent(path: string, current: string, backup: string, manifest: Manifest): { content: string; exact: boolean } {
  let reverted = current;
  if (path === PATHS.group || path === PATHS.gshadow) for (const m of manifest.groups) reverted = removeMember(reverted, m.group, m.user);
  else if (path === PATHS.systemPa || path === PATHS.mainConf) reverted = removeBlock(current);
  else return { content: backup, exact: true }; // a whole file opsctl owns: the original comes back
  // Unchanged since setup: restore the backup byte for byte. Edited since: keep the edits.
  return reverted === removeBlock(backup) || reverted === backup ? { content: backup, exact: true } : { content: reverted, exact: false };
}

const isBlockFile = (p: string) => p === PATHS.group || p === PATHS.gshadow || p === PATHS.systemPa || p === PATHS.mainConf;

export async function planUninstall(facts: Facts, backups: Map<string, Entry>, target: { live: boolean; label: string }): Promise<Plan> {
  const m = facts.manifest!;
  const steps: Step[] = [];
  const created = (p: string) => m.files[p] && !m.files[p]!.existed;
  const stop: Step = { id: 'stop', title: 'Stop services', changes: [], notes: [] };
  for (const mac of m.speakers) stop.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'stop', reconnectTimerName(mac), connectUnitName(mac)] }, why: `stop reconnecting ${mac}`, optional: true });
  if (created(PATHS.service) || m.files[PATHS.service]) stop.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'stop', 'pulseaudio.service'] }, why: 'stop system-wide PulseAudio', optional: true });
  if (target.live || stop.changes.length) steps.push(stop);

  const files: Step = { id: 'files', title: 'Files', changes: [], notes: [] };
  // Links first (enablement), then the files they point to.
  const linkish = (p: string) => m.files[p]!.link !== undefined || p.includes('.wants/') || p.startsWith(`${PATHS.userUnitDir}/`);
  const all = Object.keys(m.files).sort();
  const paths = [...all.filter(linkish), ...all.filter((p) => !linkish(p))];
  for (const p of paths) {
    const rec = m.files[p]!;
    const now = facts.files.get(p) ?? backups.get(`current:${p}`) ?? { type: 'missing' };
    const wrote = m.written?.[p];
    const editedSince = wrote !== undefined && now.type === 'file' && sha256(now.content) !== wrote;
    if (!rec.existed) {
      // A file setup created and someone edited since is theirs now: kept, and said so.
      if (editedSince) files.notes.push(`kept ${p}: it was edited after setup (remove it yourself if you do not need it)`);
      else if (now.type !== 'missing') files.changes.push({ kind: 'remove', path: p, before: now });
    } else if (rec.link !== undefined) {
      if (!(now.type === 'symlink' && now.target === rec.link)) files.changes.push({ kind: 'link', path: p, target: rec.link, before: now });
    } else if (rec.backup) {
      const b = backups.get(rec.backup);
      if (b?.type !== 'file') {
        files.notes.push(`backup of ${p} is missing (${rec.backup}): left as it is`);
        continue;
      }
      const { content, exact } = now.type === 'file' ? restoredContent(p, now.content, b.content, m) : { content: b.content, exact: true };
      if (!exact) files.notes.push(`${p} was edited after setup: only opsctl's lines are removed, your edits stay`);
      else if (editedSince && restoredContent(p, now.content, b.content, m).content === b.content && !isBlockFile(p)) files.notes.push(`${p} was edited after setup: the original from before setup comes back, your edits to it are dropped`);
      const mode = exact ? (rec.mode ?? b.mode) : now.type === 'file' ? now.mode : (rec.mode ?? 0o644);
      if (!(now.type === 'file' && now.content === content && (now.mode & 0o7777) === (mode & 0o7777))) files.changes.push({ kind: 'write', path: p, mode: mode & 0o7777, before: now, after: content });
    }
  }
  steps.push(files);

  const groups: Step = { id: 'groups', title: 'Group memberships', changes: [], notes: [] };
  if (!m.files[PATHS.group]) {
    for (const g of m.groups) {
      if ((facts.groups.get(g.group) ?? []).includes(g.user)) groups.changes.push({ kind: 'run', cmd: { argv: ['gpasswd', '-d', g.user, g.group] }, why: `take ${g.user} out of ${g.group}` });
    }
  }
  if (m.groups.length) steps.push(groups);

  const reload: Step = { id: 'reload', title: 'Reload', changes: [], notes: [] };
  const touched = (p: string) => files.changes.some((c) => c.kind !== 'run' && c.path === p);
  if (files.changes.some((c) => c.kind !== 'run' && c.path.startsWith('/etc/systemd/'))) reload.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'daemon-reload'] }, why: 'forget the removed units' });
  if (touched(PATHS.mainConf) || touched(PATHS.dbusPolicy)) reload.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'restart', 'bluetooth.service'] }, why: 'BlueZ without the PulseAudio settings' });
  steps.push(reload);

  // Last: forget the setup (backups and the manifest).
  const state: Step = { id: 'state', title: 'opsctl state', changes: [], notes: [] };
  state.changes.push({ kind: 'remove', path: PATHS.stateDir, before: { type: 'dir' } });
  state.notes.push(`the backups and the manifest under ${PATHS.stateDir}`);
  steps.push(state);
  if (m.packages.length) files.notes.push(`packages left installed: ${m.packages.join(', ')} (remove them with \`apt-get remove ${m.packages.join(' ')}\`)`);
  return { target: target.label, live: target.live, steps };
}

export async function run(options: { dryRun?: boolean }, deps: { target: TargetSystem } & ApplyHooks): Promise<UninstallResult> {
  const { target } = deps;
  const facts = await gatherFacts(target);
  if (!facts.manifest) {
    return { target: target.label, dryRun: Boolean(options.dryRun), found: false, plan: { target: target.label, live: target.live, steps: [] }, applied: [], packagesLeft: [] };
  }
  if (target.kind === 'local' && facts.uid !== 0) throw new OpsError('Undoing the setup needs root.', { code: 'not-root', hint: 'run it with sudo: sudo opsctl pi audio uninstall' });
  const m = facts.manifest;
  // Files recorded in the manifest that the standard read did not cover, and every backup.
  const extra = Object.keys(m.files).filter((p) => !facts.files.has(p));
  const backups = new Map<string, Entry>();
  const read = await target.read([...Object.values(m.files).flatMap((r) => (r.backup ? [r.backup] : [])), ...extra]);
  for (const [p, e] of read) backups.set(extra.includes(p) ? `current:${p}` : p, e);
  const plan = await planUninstall(facts, backups, target);
  const result: UninstallResult = { target: target.label, dryRun: Boolean(options.dryRun), found: true, plan, applied: [], packagesLeft: m.packages };
  if (options.dryRun) return result;
  result.applied = await applyPlan(target, plan, m, { ...deps, record: false });
  return result;
}

export const command = defineCommand<TargetFlags & { dryRun: boolean }, UninstallResult | PiDryRun>({
  options: (_args, flags, ctx) => ({ ...targetFlags(flags), dryRun: Boolean(ctx.global.dryRun) }),
  async run(options, ctx) {
    return withTarget(options, ctx, async (target) => {
      const result = await run(options, { target, signal: ctx.signal, onChange: progressHook(ctx, target) });
      return result.dryRun && result.found ? planDryRun(result.plan) : result;
    });
  },
  print(result, out) {
    if (isDryRun(result)) return printPlanDryRun(out, result as PiDryRun);
    const r = result as UninstallResult;
    if (!r.found) {
      out.line(`Nothing to uninstall on ${r.target}: no setup by opsctl is recorded there (${PATHS.manifest}).`);
      return;
    }
    out.line(`Uninstall on ${r.target}:`);
    printPlan(out, r.plan, { diffs: out.verbose, applied: r.applied });
    out.line(`${r.applied.filter((a) => a.status === 'done').length} change(s) made; the files setup changed are back as they were.`);
  },
});
