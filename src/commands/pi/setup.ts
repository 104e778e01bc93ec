/**
 * `opsctl pi audio setup`: system-wide PulseAudio with Bluetooth, so a speaker
 * plays (and comes back) after every reboot. Plan first, then apply; packages
 * go in first and the rest is planned again against what they installed.
 */
import type { Context } from '../../lib/context.js';
import type { TargetSystem } from './target.js';
import { applyPlan, emptyManifest, type AppliedChange, type ApplyHooks } from './apply.js';
import { normalizeMac } from './bluetooth.js';
import { liveChecks, type Check } from './checks.js';
import { bluetoothState, makeTarget, progressHook } from './common.js';
import { gatherFacts } from './facts.js';
import { changeCount, planSetup, resolveUser, type Plan, type SetupOptions } from './plan.js';
import { changeJson, printChecks, printPlan } from './print.js';

export interface SetupRunOptions {
  speaker?: string;
  user?: string;
  force?: boolean;
  dryRun?: boolean;
}

export interface SetupResult {
  target: string;
  dryRun: boolean;
  /** The plan as computed first (what --dry-run shows). */
  plan: Plan;
  /** The plan actually carried out (after packages, planned again). */
  applied: AppliedChange[];
  executed: Plan[];
  changed: number;
  notRun: number;
  checks: Check[];
}

export async function run(options: SetupRunOptions, deps: { target: TargetSystem } & ApplyHooks): Promise<SetupResult> {
  const { target } = deps;
  const speaker = options.speaker === undefined ? undefined : normalizeMac(options.speaker);
  const planNow = async () => {
    const facts = await gatherFacts(target, { speakers: speaker ? [speaker] : [], units: ['pulseaudio.service'] });
    const opts: SetupOptions = { speaker, user: options.user, force: options.force };
    // Validate before asking bluetoothctl anything.
    resolveUser(facts, options.user, target);
    if (speaker && facts.installed.has('bluez')) opts.bluetooth = await bluetoothState(target, facts, speaker);
    return { facts, plan: planSetup(facts, opts, target) };
  };
  const first = await planNow();
  const result: SetupResult = { target: target.label, dryRun: Boolean(options.dryRun), plan: first.plan, applied: [], executed: [], changed: 0, notRun: 0, checks: [] };
  if (options.dryRun || changeCount(first.plan) === 0) {
    if (!options.dryRun) result.checks = await liveChecks(target, speaker ? [speaker] : []);
    return result;
  }
  const manifest = first.facts.manifest ?? emptyManifest();
  const pkgStep = first.plan.steps.find((s) => s.id === 'packages')!;
  let rest = first.plan;
  if (pkgStep.changes.length && target.live) {
    const pkgPlan: Plan = { ...first.plan, steps: first.plan.steps.filter((s) => s.id === 'preflight' || s.id === 'packages') };
    result.applied.push(...(await applyPlan(target, pkgPlan, manifest, deps)));
    result.executed.push(pkgPlan);
    // The packages brought their own files, users and groups: plan the rest against them.
    const again = await planNow();
    rest = { ...again.plan, steps: again.plan.steps.filter((s) => s.id !== 'preflight' && s.id !== 'packages') };
  }
  result.applied.push(...(await applyPlan(target, rest, manifest, deps)));
  result.executed.push(rest);
  result.changed = result.applied.filter((a) => a.status === 'done').length;
  result.notRun = result.applied.filter((a) => a.status === 'not-run').length;
  result.checks = await liveChecks(target, speaker ? [speaker] : []);
  return result;
}

export async function handler(_args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number> {
  const target = makeTarget(opts, ctx);
  try {
    const result = await run(
      { speaker: opts.speaker, user: opts.user, force: opts.force, dryRun: ctx.global.dryRun },
      { target, signal: ctx.signal, onChange: progressHook(ctx, target) },
    );
    const problems = result.checks.filter((c) => c.status === 'problem').length;
    if (ctx.global.json) {
      ctx.out.data({
        target: result.target,
        dryRun: result.dryRun,
        changed: result.changed,
        notRun: result.notRun,
        steps: (result.dryRun || result.executed.length === 0 ? [result.plan] : result.executed).flatMap((p) =>
          p.steps.map((s) => ({ id: s.id, title: s.title, notes: s.notes, changes: s.changes.map((c) => changeJson(c, result.applied.find((a) => a.change === c)?.status)) })),
        ),
        checks: result.checks,
      });
      return problems ? 1 : 0;
    }
    const out = ctx.out;
    if (result.dryRun) {
      out.line(`Plan for ${result.target} (dry run: nothing was changed)`);
      printPlan(out, result.plan, { diffs: true });
      const n = changeCount(result.plan);
      out.line(n ? `${n} change(s) would be made.` : 'Nothing to change: the setup is already in place.');
      return 0;
    }
    if (result.executed.length === 0) {
      out.line(`Nothing to change on ${result.target}: the setup is already in place.`);
    } else {
      out.line(`Setup on ${result.target}:`);
      for (const p of result.executed) printPlan(out, p, { diffs: out.verbose, applied: result.applied });
      out.line(`${result.changed} change(s) made${result.notRun ? `, ${result.notRun} command(s) not run (no running system under --root)` : ''}.`);
    }
    if (result.checks.length) {
      out.line('Verify:');
      printChecks(out, result.checks);
    }
    if (problems) out.error(`${problems} check(s) failed after setup.`, 'see the hints above; `opsctl pi audio status` shows the same checks');
    return problems ? 1 : 0;
  } finally {
    await target.close();
  }
}
