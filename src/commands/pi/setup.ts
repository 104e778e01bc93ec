/**
 * `opsctl pi audio setup`: system-wide PulseAudio with Bluetooth, so a speaker
 * plays (and comes back) after every reboot. Plan first, then apply; packages
 * go in first and the rest is planned again against what they installed.
 */
import { defineCommand, flag } from '../../lib/command.js';
import { isDryRun } from '../../lib/plan.js';
import type { TargetSystem } from './target.js';
import { applyPlan, emptyManifest, type AppliedChange, type ApplyHooks } from './apply.js';
import { normalizeMac } from './bluetooth.js';
import { liveChecks, type Check } from './checks.js';
import { bluetoothState, progressHook, soundServerFlag, targetFlags, type TargetFlags, withTarget } from './common.js';
import { gatherFacts } from './facts.js';
import { reconnectTimerName } from './recipe.js';
import { changeCount, chooseSoundServer, planSetup, resolveUser, type Plan, type SetupOptions, type SoundServerChoice } from './plan.js';
import { planDryRun, printChecks, printPlan, printPlanDryRun, type PiDryRun } from './print.js';

export interface SetupRunOptions {
  speaker?: string;
  user?: string;
  force?: boolean;
  dryRun?: boolean;
  soundServer?: SoundServerChoice;
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
    const facts = await gatherFacts(target, { user: options.user, speakers: speaker ? [speaker] : [], units: ['pulseaudio.service', 'bluetooth.service', ...(speaker ? [reconnectTimerName(speaker)] : [])] });
    const opts: SetupOptions = { speaker, user: options.user, force: options.force, soundServer: options.soundServer };
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
  const choice = chooseSoundServer(first.facts, options.soundServer);
  manifest.soundServer = choice.server;
  if (choice.server === 'pipewire') manifest.user = resolveUser(first.facts, options.user, target);
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
  result.checks = await liveChecks(target, { speakers: speaker ? [speaker] : [], server: manifest.soundServer, user: manifest.user });
  return result;
}

export interface SetupCommandOptions extends TargetFlags, SetupRunOptions {}

type SetupOutput = SetupResult | PiDryRun;

export const command = defineCommand<SetupCommandOptions, SetupOutput>({
  options: (_args, flags, ctx) => ({
    ...targetFlags(flags),
    speaker: flag.string(flags, 'speaker'),
    user: flag.string(flags, 'user'),
    force: flag.bool(flags, 'force'),
    soundServer: soundServerFlag(flags),
    dryRun: Boolean(ctx.global.dryRun),
  }),
  async run(options, ctx) {
    return withTarget(options, ctx, async (target) => {
      const result = await run(options, { target, signal: ctx.signal, onChange: progressHook(ctx, target) });
      return result.dryRun ? planDryRun(result.plan) : result;
    });
  },
  print(result, out) {
    if (isDryRun(result)) return printPlanDryRun(out, result as PiDryRun);
    const r = result as SetupResult;
    if (r.executed.length === 0) out.line(`Nothing to change on ${r.target}: the setup is already in place.`);
    else {
      out.line(`Setup on ${r.target}:`);
      for (const p of r.executed) printPlan(out, p, { diffs: out.verbose, applied: r.applied });
      out.line(`${r.changed} change(s) made${r.notRun ? `, ${r.notRun} command(s) not run (no running system under --root)` : ''}.`);
    }
    if (r.checks.length) {
      out.line('Verify:');
      printChecks(out, r.checks);
    }
    const problems = r.checks.filter((c) => c.status === 'problem').length;
    if (problems) out.error(`${problems} check(s) failed after setup.`, 'see the hints above; `opsctl pi audio status` shows the same checks');
  },
  exitCode: (result) => (isDryRun(result) ? 0 : (result as SetupResult).checks.some((c) => c.status === 'problem') ? 1 : 0),
});
